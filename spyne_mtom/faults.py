"""SOAP Faults for MTOM input errors, and the HTTP status each SOAP binding wants.

Strategy: every :class:`mtom.MtomError` raised while a request is read becomes
an :class:`MtomFault` — a Spyne ``Fault`` whose code is ``Client.<Error>``
(peer's fault) or ``Server.<Error>``. Spyne writes it as ``soap:Client`` /
``soap:Server`` (SOAP 1.1) or ``env:Sender`` / ``env:Receiver`` with the error
name as ``env:Subcode`` (SOAP 1.2). The HTTP status comes from the error
(``MtomError.http_status``): 500 for every SOAP 1.1 fault, 400 for a SOAP 1.2
Sender fault. The fault string is the error's message — which says what the
peer should have sent — never the envelope or a traceback, and nothing is
logged above DEBUG. Every fault's strings are made writable as XML first
(:func:`xml_safe_fault`), so a peer's bytes in a message can never stop the
fault from being written. The SOAP facts (status per binding, subcodes as
QNames, VersionMismatch) are the core's :mod:`mtom.soap`.
"""

from __future__ import annotations

import logging
from typing import Any

from spyne.error import RequestNotAllowed, RequestTooLongError, ResourceNotFoundError
from spyne.model.fault import Fault

from mtom import MtomError
from mtom.server import status_line
from mtom.soap import FAULT_NS, fault_http_status, version_mismatch, xml_text

__all__ = ["FAULT_NS", "MtomFault", "VersionMismatch", "fault_for_error",
           "soap12_http_status", "xml_safe_fault"]

logger = logging.getLogger(__name__)

class MtomFault(Fault):  # type: ignore[misc]
    """A Fault made from an :class:`mtom.MtomError` (the error is ``.error``)."""

    __type_name__ = "MtomFault"

    def __init__(self, error: MtomError):
        prefix = "Client" if error.fault_role == "Sender" else "Server"
        super().__init__(faultcode=f"{prefix}.{type(error).__name__}", faultstring=str(error))
        self.error = error


def fault_for_error(ctx: Any, error: MtomError, soap_version: str) -> MtomFault:
    """Turn ``error`` into a Fault and set the HTTP status for it on ``ctx``'s transport
    (when it has one: WSGI does)."""
    fault = MtomFault(error)
    if hasattr(getattr(ctx, "transport", None), "resp_code"):
        ctx.transport.resp_code = status_line(error.http_status(soap_version))
    logger.debug("MTOM request rejected: %s", fault.faultstring)
    return fault


def soap12_http_status(fault: Any) -> str:
    """SOAP 1.2 HTTP binding (:func:`mtom.soap.fault_http_status`): Sender faults are 400,
    others 500.

    Spyne's ``Soap12`` answers 500 for every fault; HTTP-level conditions keep
    their own status (413 request too long, 405 not POST).
    """
    if isinstance(fault, RequestTooLongError):
        return status_line(413)
    if isinstance(fault, RequestNotAllowed):
        return status_line(405)
    if not isinstance(fault, (Fault, ResourceNotFoundError)):
        return status_line(500)
    return status_line(fault_http_status("1.2", str(getattr(fault, "faultcode", "") or "")))


def xml_safe_fault(fault: Any) -> Any:
    """``fault`` with its strings made writable as XML (:func:`mtom.soap.xml_text`)."""
    for name in ("faultcode", "faultstring", "faultactor", "lang", "detail"):
        value = getattr(fault, name, None)
        if isinstance(value, (str, bytes)):
            setattr(fault, name, xml_text(value))
    return fault


class VersionMismatch(Fault):  # type: ignore[misc]
    """The request's envelope is another SOAP version's (or an unknown one's).

    Answered in a version the sender reads (:func:`mtom.soap.version_mismatch`),
    with the SOAP 1.2 ``Upgrade`` header block naming the envelope this endpoint
    supports (SOAP 1.2 Part 1 §5.4.7 and appendix A), with HTTP 500.
    """

    __type_name__ = "VersionMismatch"

    def __init__(self, received: str | None, service_version: str):
        self.service_version = service_version
        reply, reason = version_mismatch(received, service_version)
        self.reply_version = reply.value
        super().__init__(faultcode="VersionMismatch", faultstring=reason)
