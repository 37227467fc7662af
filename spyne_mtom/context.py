"""Per-request MTOM state, kept on Spyne's protocol contexts.

Strategy: Spyne gives every request a ``ctx.inprot_ctx`` and a
``ctx.outprot_ctx`` made by the protocols' ``get_context``; our protocols
return an :class:`MtomProtocolContext`. The input side records the received
:class:`mtom.Package` and, per element of the envelope, the attachment that
is its value; the output side records, per element of the response, the
binary value the serialisation handlers bound to it (as an
:class:`mtom.OutgoingPart`; :func:`mtom.build_package` decides part or
text). When the input and output protocols are not ours
(a plain ``Soap11`` on one side), the state lives on ``ctx`` itself.

The request package owns temporary files. It is closed when the request is
over: at ``method_context_closed`` for a plain response, or when the last
byte of an MTOM response was handed to the server (Spyne closes the context
*before* it streams the body, and the response may stream from a received
attachment, as an echo does).
"""

from __future__ import annotations

import logging
from typing import Any

from lxml import etree
from spyne.context import ProtocolContext

from mtom import Attachment, OutgoingPart, Package, PackageStream, XopReference
from mtom.server import ServerCall

__all__ = [
    "MtomProtocolContext",
    "attachment_of",
    "existing_in_state",
    "in_state",
    "out_state",
    "request_package",
    "request_references",
]

#: One INFO line per request (:meth:`mtom.WireReport.summary`); never any content.
report_logger = logging.getLogger("spyne_mtom")

_FALLBACK_IN = "_spyne_mtom_in"
_FALLBACK_OUT = "_spyne_mtom_out"


class MtomProtocolContext(ProtocolContext, ServerCall):  # type: ignore[misc]
    """Spyne protocol context carrying the MTOM state of one request (a
    :class:`mtom.server.ServerCall`, plus the reply values and body on the output side)."""

    def __init__(self, parent: Any, transport: Any, type: Any = None):
        ProtocolContext.__init__(self, parent, transport, type)
        ServerCall.__init__(self, report_logger)
        self.values: dict[etree._Element, OutgoingPart] = {}
        self.body: PackageStream | None = None  # the MTOM reply body (output side)


def _existing(ctx: Any, attr: str, fallback: str) -> MtomProtocolContext | None:
    st = getattr(ctx, attr, None)
    return st if isinstance(st, MtomProtocolContext) else ctx.__dict__.get(fallback)


def _state(ctx: Any, attr: str, fallback: str) -> MtomProtocolContext:
    st = _existing(ctx, attr, fallback)
    if st is None:
        st = ctx.__dict__[fallback] = MtomProtocolContext(ctx, None)
    return st


def in_state(ctx: Any) -> MtomProtocolContext:
    """The input-side MTOM state of ``ctx`` (created when missing)."""
    return _state(ctx, "inprot_ctx", _FALLBACK_IN)


def existing_in_state(ctx: Any) -> MtomProtocolContext | None:
    """The input-side MTOM state of ``ctx`` if the request made one."""
    return _existing(ctx, "inprot_ctx", _FALLBACK_IN)


def out_state(ctx: Any) -> MtomProtocolContext:
    """The output-side MTOM state of ``ctx`` (created when missing)."""
    return _state(ctx, "outprot_ctx", _FALLBACK_OUT)


def request_package(ctx: Any) -> Package | None:
    """The MTOM/SwA package of the current request, or ``None`` for plain SOAP.

    Use it in a service method to reach parts no element refers to (SwA
    attachments, unreferenced parts). Valid until the request ends.
    """
    return in_state(ctx).package


def request_references(ctx: Any) -> list[XopReference]:
    """Every resolved ``xop:Include`` and SwA reference of the current request.

    Each :class:`mtom.XopReference` gives the element, the attachment and
    the effective content type (``xmime:contentType`` or the part's).
    """
    return list(in_state(ctx).references.values())


def attachment_of(ctx: Any, element: Any) -> Attachment | None:
    """The attachment that is the value of ``element`` in the request, if any."""
    ref = in_state(ctx).reference(element)
    return ref.attachment if ref is not None else None
