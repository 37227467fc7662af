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
fault from being written.
"""

from __future__ import annotations

import logging
from typing import Any

from spyne.const import http as http_status
from spyne.error import RequestNotAllowed, RequestTooLongError, ResourceNotFoundError
from spyne.model.fault import Fault

from mtom import MtomError
from mtom.errors import printable

__all__ = ["MtomFault", "fault_for_error", "http_status_line", "soap12_http_status",
           "xml_safe_fault"]

logger = logging.getLogger(__name__)

_STATUS: dict[int, str] = {
    400: http_status.HTTP_400,
    404: http_status.HTTP_404,
    405: http_status.HTTP_405,
    413: http_status.HTTP_413,
    500: http_status.HTTP_500,
}


def http_status_line(code: int) -> str:
    """``"400 Bad Request"`` etc.: the status line Spyne's WSGI server expects."""
    return str(_STATUS.get(code, f"{code} Error"))


class MtomFault(Fault):  # type: ignore[misc]
    """A Fault made from an :class:`mtom.MtomError` (the error is ``.error``)."""

    __type_name__ = "MtomFault"

    def __init__(self, error: MtomError):
        prefix = "Client" if error.fault_role == "Sender" else "Server"
        super().__init__(faultcode=f"{prefix}.{type(error).__name__}", faultstring=str(error))
        self.error = error


def fault_for_error(ctx: Any, error: MtomError, soap_version: str) -> MtomFault:
    """Turn ``error`` into a Fault and set the HTTP status for it on ``ctx``."""
    fault = MtomFault(error)
    transport = getattr(ctx, "transport", None)
    if transport is not None and hasattr(transport, "resp_code"):
        transport.resp_code = http_status_line(error.http_status(soap_version))
    logger.debug("MTOM request rejected: %s", fault.faultstring)
    return fault


def soap12_http_status(fault: Any) -> str:
    """SOAP 1.2 HTTP binding (Part 2, 7.5.1.2): Sender faults are 400, others 500.

    Spyne's ``Soap12`` answers 500 for every fault; HTTP-level conditions keep
    their own status (413 request too long, 405 not POST).
    """
    if isinstance(fault, RequestTooLongError):
        return http_status_line(413)
    if isinstance(fault, RequestNotAllowed):
        return http_status_line(405)
    code = getattr(fault, "faultcode", "") or ""
    if isinstance(fault, (Fault, ResourceNotFoundError)) and (
            code == "Client" or code.startswith("Client.")):
        return http_status_line(400)
    return http_status_line(500)


def _xml_safe(text: Any) -> Any:
    """``text`` with every character XML 1.0 cannot carry escaped (the core's rule)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return printable(text) if isinstance(text, str) else text


def xml_safe_fault(fault: Any) -> Any:
    """``fault`` with its strings made writable as XML (a peer's text may hold any byte)."""
    for name in ("faultcode", "faultstring", "faultactor", "lang"):
        value = getattr(fault, name, None)
        if value is not None:
            setattr(fault, name, _xml_safe(value))
    if isinstance(getattr(fault, "detail", None), (str, bytes)):
        fault.detail = _xml_safe(fault.detail)
    return fault
