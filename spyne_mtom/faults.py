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

from lxml import etree
from spyne.const import http as http_status
from spyne.error import RequestNotAllowed, RequestTooLongError, ResourceNotFoundError
from spyne.model.fault import Fault

from mtom import SOAP11_ENV_NS, SOAP12_ENV_NS, MtomError
from mtom.errors import printable

__all__ = ["FAULT_NS", "MtomFault", "VersionMismatch", "fault_for_error", "http_status_line",
           "qualify_subcodes", "set_status", "soap12_http_status", "version_mismatch_envelope",
           "xml_safe_fault"]

#: Namespace of SOAP 1.2 subcodes when the application has no target namespace.
FAULT_NS = "urn:soap-mtom:fault"
_SOAP_NS = {"1.1": SOAP11_ENV_NS, "1.2": SOAP12_ENV_NS}

logger = logging.getLogger(__name__)

_STATUS: dict[int, str] = {
    400: http_status.HTTP_400,
    404: http_status.HTTP_404,
    405: http_status.HTTP_405,
    413: http_status.HTTP_413,
    415: http_status.HTTP_415,
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


def set_status(ctx: Any, code: int) -> None:
    """The HTTP status of the reply, when the transport has one (WSGI does)."""
    transport = getattr(ctx, "transport", None)
    if transport is not None and hasattr(transport, "resp_code"):
        transport.resp_code = http_status_line(code)


def fault_for_error(ctx: Any, error: MtomError, soap_version: str) -> MtomFault:
    """Turn ``error`` into a Fault and set the HTTP status for it on ``ctx``."""
    fault = MtomFault(error)
    set_status(ctx, error.http_status(soap_version))
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


def qualify_subcodes(document: etree._Element, namespace: str | None) -> None:
    """Make every SOAP 1.2 ``env:Subcode/env:Value`` in ``document`` a QName (Part 1 §5.4.6:
    the value is an ``xs:QName``; JAX-WS rejects ``A Subcode must be namespace-qualified``).

    An unprefixed value is put in ``namespace`` (the service's target namespace) or
    :data:`FAULT_NS`, declared on the ``Value`` element itself (run this after Spyne's
    namespace clean-up, which does not see prefixes in text).
    """
    tag = f"{{{SOAP12_ENV_NS}}}Value"
    for subcode in list(document.iter(f"{{{SOAP12_ENV_NS}}}Subcode")):
        old = subcode.find(tag)
        if old is None or not old.text or ":" in old.text:
            continue
        new = etree.Element(tag, nsmap={"sub": namespace or FAULT_NS})
        new.text, new.tail = f"sub:{old.text}", old.tail
        subcode.replace(old, new)


class VersionMismatch(Fault):  # type: ignore[misc]
    """The request's envelope is another SOAP version's (or an unknown one's).

    Answered (:func:`version_mismatch_envelope`) in a version the sender reads: a
    SOAP 1.1 envelope gets a SOAP 1.1 fault also from a SOAP 1.2 service (SOAP 1.2
    Part 1, appendix A), with HTTP 500.
    """

    __type_name__ = "VersionMismatch"

    def __init__(self, received: str | None, service_version: str):
        self.service_version = service_version
        self.reply_version = "1.1" if service_version == "1.1" or (
            received == SOAP11_ENV_NS) else "1.2"
        got = {SOAP11_ENV_NS: "SOAP 1.1", SOAP12_ENV_NS: "SOAP 1.2"}.get(received or "",
                                                                         "no SOAP version")
        super().__init__(faultcode="VersionMismatch", faultstring=printable(
            f"the request's Envelope is in the namespace {received or '(none)'} ({got}); "
            f"this endpoint speaks SOAP {service_version} only: send an Envelope in "
            f"{_SOAP_NS[service_version]}"))


def version_mismatch_envelope(fault: VersionMismatch, service_version: str) -> etree._Element:
    """The VersionMismatch fault message, with the SOAP 1.2 ``Upgrade`` header block naming
    the envelope this endpoint supports (SOAP 1.2 Part 1 §5.4.7 and appendix A)."""
    ns, upg = _SOAP_NS[fault.reply_version], SOAP12_ENV_NS
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"env": ns})
    header = etree.SubElement(env, f"{{{ns}}}Header")
    upgrade = etree.SubElement(header, f"{{{upg}}}Upgrade",
                               nsmap=None if ns == upg else {"upg": upg})
    supported = etree.SubElement(upgrade, f"{{{upg}}}SupportedEnvelope",
                                 nsmap={"supported": _SOAP_NS[service_version]})
    supported.set("qname", "supported:Envelope")
    body_fault = etree.SubElement(etree.SubElement(env, f"{{{ns}}}Body"), f"{{{ns}}}Fault")
    if fault.reply_version == "1.1":
        etree.SubElement(body_fault, "faultcode").text = "env:VersionMismatch"
        etree.SubElement(body_fault, "faultstring").text = fault.faultstring
    else:
        code = etree.SubElement(body_fault, f"{{{ns}}}Code")
        etree.SubElement(code, f"{{{ns}}}Value").text = "env:VersionMismatch"
        text = etree.SubElement(etree.SubElement(body_fault, f"{{{ns}}}Reason"), f"{{{ns}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = fault.faultstring
    return env
