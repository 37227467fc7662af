"""Client negotiation: what to do when a server refuses the request's format.

Strategy: ``post_xml`` sends as the options and the WSDL decide; an answer
can then say the server wants the other format:

* an MTOM request answered HTTP 415, or with a fault whose reason says the
  media type is not supported → resend once as plain SOAP (inline base64:
  :func:`to_plain`, which re-reads each part's source, so a value from a
  non-seekable stream cannot be resent and the error says so);
* a plain request answered HTTP 415 that names ``multipart/related`` or
  ``application/xop+xml`` (WCF/WSE endpoints that require MTOM) → resend once
  as MTOM (:func:`zeep_mtom.request.prepare` with MTOM forced).

A resend that is accepted makes the transport remember the endpoint
(:class:`Memory`, bounded, per transport) and send it that format from then
on. Each decision is logged at INFO on the ``zeep_mtom`` logger. With
``negotiate=False``, or when the resend is refused too, the 415 becomes
:class:`UnsupportedMediaType` (a zeep ``TransportError``) saying what to change.

A reply whose envelope is of the other SOAP version and holds a Fault (a
VersionMismatch, typically: a SOAP 1.1 binding pointed at a SOAP 1.2
endpoint) is raised as zeep's ``Fault`` with the peer's own code and reason
(:func:`foreign_fault`); Zeep would look for a Fault of the binding's
version only and report "Unknown fault occured".
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Literal

from lxml import etree
from zeep.exceptions import Fault, TransportError

import mtom
from mtom.errors import quoted
from mtom.soap import soap_version_of_namespace

from .report import LOGGER

__all__ = ["LOG", "MAX_ENDPOINTS", "Memory", "UnsupportedMediaType", "fault_reason",
           "foreign_fault", "refusal", "refused_message"]

#: The adapter's logger (:mod:`zeep_mtom.report`'s): negotiation decisions (INFO), tolerated
#: reply deviations (WARNING).
LOG = LOGGER

Mode = Literal["mtom", "plain"]

#: Endpoints remembered per transport (least recently used dropped first).
MAX_ENDPOINTS = 256

_HINT_TEXT = 4096  # bytes of a refusal's body searched for what the server asks for
_WANTS_MTOM = re.compile(rb"multipart/related|application/xop\+xml", re.IGNORECASE)
_MEDIA = re.compile(r"content[- ]?type|media[- ]?type|mime|multipart|xop", re.IGNORECASE)
_REFUSED = re.compile(r"unsupported|not supported|not the expected|unexpected|not accepted|"
                      r"cannot process|can ?not be processed|not allowed|invalid", re.IGNORECASE)


class UnsupportedMediaType(TransportError):
    """The server refused the request's media type (HTTP 415), and no resend helped.

    A zeep ``TransportError`` (``status_code``, ``content``), so existing
    ``except`` clauses keep working. ``sent`` is ``"mtom"`` or ``"plain"``:
    the format of the last request; ``address`` the endpoint.
    """

    def __init__(self, message: str, *, status_code: int, content: bytes, address: str,
                 sent: Mode):
        super().__init__(message, status_code=status_code,  # type: ignore[no-untyped-call]
                         content=content)
        self.address = address
        self.sent = sent


class Memory:
    """Endpoint → the format it accepted after a resend (bounded LRU, thread-safe)."""

    def __init__(self, size: int = MAX_ENDPOINTS):
        self._size = size
        self._modes: OrderedDict[str, Mode] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, address: str) -> Mode | None:
        with self._lock:
            mode = self._modes.get(address)
            if mode is not None:
                self._modes.move_to_end(address)
            return mode

    def remember(self, address: str, mode: Mode) -> None:
        with self._lock:
            self._modes[address] = mode
            self._modes.move_to_end(address)
            while len(self._modes) > self._size:
                self._modes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._modes)


def _fault_of(root: etree._Element) -> tuple[mtom.SoapVersion, etree._Element] | None:
    version = soap_version_of_namespace(etree.QName(root).namespace)
    if version is None or etree.QName(root).localname != "Envelope":
        return None
    fault = root.find(f"{{{version.envelope_ns}}}Body/{{{version.envelope_ns}}}Fault")
    return (version, fault) if fault is not None else None


def _text(fault: etree._Element, *paths: str) -> str | None:
    for path in paths:
        value = fault.findtext(path)
        if value is not None and value.strip():
            return value.strip()
    return None


def _parse(content: bytes) -> etree._Element | None:
    try:
        return mtom.parse_xml(content, what="reply")
    except mtom.MtomError:
        return None


def fault_reason(content: bytes) -> str | None:
    """The reason of the SOAP Fault in ``content`` (either version), else ``None``."""
    if b"Fault" not in content:
        return None
    root = _parse(content)
    found = _fault_of(root) if root is not None else None
    if found is None:
        return None
    env = found[0].envelope_ns
    return _text(found[1], f"{{{env}}}Reason/{{{env}}}Text", "faultstring")


def refusal(sent: Mode, status: int, reason: str | None, headers: Mapping[str, str],
            content: bytes) -> Mode | None:
    """The format to resend in when this reply refuses the request's, else ``None``.

    An MTOM request answered 415, or with a fault whose reason says the media
    type is not supported → ``"plain"``; a plain request answered 415 naming
    ``multipart/related`` or ``application/xop+xml`` (in the reason phrase, an
    ``Accept`` header or the body's start) → ``"mtom"``.
    """
    if sent == "mtom":
        if status == 415:
            return "plain"
        if status >= 400:
            text = fault_reason(content) or ""
            if _MEDIA.search(text) and _REFUSED.search(text):
                return "plain"
        return None
    if status != 415:
        return None
    hints = [reason or "", *(v for k, v in headers.items() if k.lower() == "accept")]
    if any(_WANTS_MTOM.search(h.encode("utf-8", "replace")) for h in hints):
        return "mtom"
    return "mtom" if _WANTS_MTOM.search(content[:_HINT_TEXT]) else None


def refused_message(address: str, sent: Mode, status: int, *, resent: bool,
                    why_not: str | None = None, content: bytes = b"") -> str:
    """What the user of a refused call should change."""
    what = "an MTOM (multipart/related)" if sent == "mtom" else "a plain SOAP"
    refused = ("(Unsupported Media Type)" if status == 415
               else "with a fault saying the media type is not supported")
    out = f"{address} answered HTTP {status} {refused} to {what} request"
    reason = fault_reason(content)
    if reason:
        out += f": the server said {quoted(reason)}"
    if resent:
        out += ", after a resend in the other format was refused as well"
    if why_not:
        out += f"; it was not resent as plain SOAP: {why_not}"
    if sent == "mtom":
        out += ("; the server does not accept MTOM: pass mtom=False to the transport "
                "(or keep negotiate=True to fall back to inline base64 automatically)")
    else:
        out += ("; check the SOAP version of the binding first (SOAP 1.1 is sent as text/xml, "
                "SOAP 1.2 as application/soap+xml: bind the port of the endpoint's version "
                "with client.bind(service, port)); if the server requires MTOM, pass "
                "mtom=True to the transport")
    return out


def foreign_fault(request_ns: str | None, status: int, content: bytes) -> Fault | None:
    """Zeep's ``Fault`` for a fault reply Zeep's binding would not read, else ``None``.

    That is a Fault in an envelope of the other SOAP version (a VersionMismatch:
    the endpoint speaks the other version), or a SOAP 1.2 Fault written with
    SOAP 1.1's ``faultcode``/``faultstring`` (node-soap). The peer's code and
    reason are kept; for another version the message says which to use.
    """
    if status < 400:  # faults come with 4xx/5xx (SOAP 1.1 and 1.2 HTTP bindings)
        return None
    root = _parse(content)
    found = _fault_of(root) if root is not None else None
    if root is None or found is None:
        return None
    version, fault = found
    env = version.envelope_ns
    reason = _text(fault, f"{{{env}}}Reason/{{{env}}}Text", "faultstring")
    code = _text(fault, f"{{{env}}}Code/{{{env}}}Value", "faultcode")
    if env == request_ns:
        if version is mtom.SoapVersion.SOAP11 or fault.find(f"{{{env}}}Reason") is not None:
            return None  # Zeep reads it
        return Fault(message=reason, code=code,  # type: ignore[no-untyped-call]
                     actor=_text(fault, f"{{{env}}}Role"),
                     detail=fault.find("detail"))
    detail = fault.find(f"{{{env}}}Detail")
    if detail is None:
        detail = fault.find("detail")
    other = soap_version_of_namespace(request_ns)
    message = reason or "(no reason given)"
    if other is not None:
        supported = [e.get("qname", "") for e in root.iter(
            f"{{{mtom.SOAP12_ENV_NS}}}SupportedEnvelope")]
        message += (f" [the endpoint answered a SOAP {other.value} request with a SOAP "
                    f"{version.value} fault"
                    + (f" (Upgrade: {', '.join(supported)})" if supported else "")
                    + f"; if it speaks SOAP {version.value}, use the WSDL's SOAP "
                    f"{version.value} binding/port]")
    return Fault(message=message, code=code, actor=None,  # type: ignore[no-untyped-call]
                 detail=detail)
