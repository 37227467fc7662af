"""Client negotiation, sans-IO: was the request's format refused, and what to send instead.

Strategy: a client sends as its options and the service description decide;
the answer can then say the server wants the other format:

* an MTOM request answered HTTP 415, or with a fault whose reason says the
  media type is not supported → resend once as plain SOAP (inline base64:
  :func:`mtom.inline_parts`, which re-reads each part's source, so a value
  from a non-seekable stream cannot be resent and the error says so);
* a plain request answered HTTP 415 that names ``multipart/related`` or
  ``application/xop+xml`` (WCF/WSE endpoints that require MTOM) → resend once
  as MTOM (:func:`mtom.exchange.prepare_request` with MTOM forced).

:func:`refusal` is that decision; :class:`Negotiator` keeps one client's
state around it: whether it negotiates at all, and which format each
endpoint accepted after a resend (:class:`EndpointMemory`, bounded), sent
to that endpoint from then on. Each decision is logged at INFO on the
logger the adapter passes. :func:`refused_message` says what the user of a
refused call should change; the adapter raises it in its own error type.

A reply whose envelope is of the other SOAP version and holds a Fault (a
VersionMismatch, typically: a SOAP 1.1 binding pointed at a SOAP 1.2
endpoint) is described by :func:`foreign_fault` with the peer's own code
and reason; a client that looks for a Fault of its binding's version only
would report an unknown fault.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from lxml import etree

from .errors import MtomError, quoted
from .package import parse_xml
from .soap import SOAP12_ENV_NS, read_fault, soap_version_of_namespace

__all__ = ["MAX_ENDPOINTS", "EndpointMemory", "ForeignFault", "Mode", "Negotiator",
           "fault_reason", "foreign_fault", "refusal", "refused_message"]

Mode = Literal["mtom", "plain"]
"""The format of a request: ``"mtom"`` (a multipart/related package) or ``"plain"`` SOAP."""

V = TypeVar("V")

#: Endpoints remembered per client (least recently used dropped first).
MAX_ENDPOINTS = 256

_HINT_TEXT = 4096  # bytes of a refusal's body searched for what the server asks for
_WANTS_MTOM = re.compile(rb"multipart/related|application/xop\+xml", re.IGNORECASE)
_MEDIA = re.compile(r"content[- ]?type|media[- ]?type|mime|multipart|xop", re.IGNORECASE)
_REFUSED = re.compile(r"unsupported|not supported|not the expected|unexpected|not accepted|"
                      r"cannot process|can ?not be processed|not allowed|invalid", re.IGNORECASE)


class EndpointMemory(Generic[V]):
    """Endpoint → what a client learnt about it (bounded LRU, thread-safe).

    ``EndpointMemory[Mode]``: the format an endpoint accepted after a resend;
    ``EndpointMemory[bool]``: the endpoints already warned about.
    """

    def __init__(self, size: int = MAX_ENDPOINTS):
        self._size = size
        self._modes: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, address: str) -> V | None:
        with self._lock:
            mode = self._modes.get(address)
            if mode is not None:
                self._modes.move_to_end(address)
            return mode

    def remember(self, address: str, mode: V) -> None:
        with self._lock:
            self._modes[address] = mode
            self._modes.move_to_end(address)
            while len(self._modes) > self._size:
                self._modes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._modes)


def _parse(content: bytes) -> etree._Element | None:
    try:
        return parse_xml(content, what="reply")
    except MtomError:
        return None


def fault_reason(content: bytes) -> str | None:
    """The reason of the SOAP Fault in ``content`` (either version), else ``None``."""
    root = _parse(content) if b"Fault" in content else None
    fault = read_fault(root) if root is not None else None
    return fault.reason if fault is not None else None


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
                "SOAP 1.2 as application/soap+xml: call through the port of the endpoint's "
                "version); if the server requires MTOM, pass mtom=True to the transport")
    return out


class Negotiator:
    """One client's negotiation: the decisions above, and the endpoints it learnt.

    Args:
        enabled: resend refused requests in the other format (``False``: never
            resend, remember nothing).
        logger: where the decisions are logged (INFO; DEBUG for a request sent
            in a remembered format).
        size: endpoints remembered (least recently used dropped first).
    """

    def __init__(self, enabled: bool, logger: logging.Logger, *, size: int = MAX_ENDPOINTS):
        self.enabled = bool(enabled)
        self.memory: EndpointMemory[Mode] = EndpointMemory(size)
        self._log = logger

    def steer(self, address: str, sent: Mode) -> Mode | None:
        """The format ``address`` accepted after an earlier resend, when it is not ``sent``."""
        mode = self.memory.get(address) if self.enabled else None
        if mode is None or mode == sent:
            return None
        self._log.debug("sending %s as %s (negotiated earlier)", address, mode)
        return mode

    def resend_as(self, sent: Mode, status: int, reason: str | None,
                  headers: Mapping[str, str], content: bytes) -> Mode | None:
        """The format to resend in (:func:`refusal`), ``None`` when not negotiating."""
        return refusal(sent, status, reason, headers, content) if self.enabled else None

    def resending(self, address: str, status: int, sent: Mode, want: Mode) -> None:
        """Log the resend about to be made."""
        self._log.info("%s answered HTTP %d refusing the %s request's media type: resending "
                       "it once as %s", address, status, sent, want)

    def settle(self, address: str, sent: Mode, status: int, reason: str | None,
               headers: Mapping[str, str], content: bytes, *, resent: bool) -> None:
        """After the last attempt: remember an endpoint that accepted a resend."""
        if resent and refusal(sent, status, reason, headers, content) is None:
            self.memory.remember(address, sent)
            self._log.info("%s accepted the request resent as %s (HTTP %d): requests to it "
                           "go out as %s from now on", address, sent, status, sent)


@dataclass(frozen=True)
class ForeignFault:
    """A SOAP Fault a client reading its own binding's version would miss (:func:`foreign_fault`).

    Attributes:
        message: the peer's reason (for another SOAP version, plus which binding to use).
        code: the peer's fault code as written.
        actor: the SOAP 1.2 ``Role`` of a same-version fault, else ``None``.
        detail: the fault's detail element, if any.
    """

    message: str | None
    code: str | None
    actor: str | None
    detail: etree._Element | None


def foreign_fault(request_ns: str | None, status: int, content: bytes) -> ForeignFault | None:
    """The fault in a reply its client's binding would not read, else ``None``.

    That is a Fault in an envelope of the other SOAP version (a VersionMismatch:
    the endpoint speaks the other version), or a SOAP 1.2 Fault written with
    SOAP 1.1's ``faultcode``/``faultstring`` (node-soap). ``request_ns`` is the
    request envelope's namespace. The peer's code and reason are kept; for
    another version the message says which to use.
    """
    if status < 400:  # faults come with 4xx/5xx (SOAP 1.1 and 1.2 HTTP bindings)
        return None
    root = _parse(content)
    fault = read_fault(root) if root is not None else None
    if root is None or fault is None:
        return None
    version, element, env = fault.version, fault.element, fault.version.envelope_ns
    if env == request_ns:
        if fault.native:
            return None  # the client reads it
        return ForeignFault(fault.reason, fault.code, element.findtext(f"{{{env}}}Role"),
                            element.find("detail"))
    detail = element.find(f"{{{env}}}Detail")
    if detail is None:
        detail = element.find("detail")
    other = soap_version_of_namespace(request_ns)
    message = fault.reason or "(no reason given)"
    if other is not None:
        supported = [e.get("qname", "") for e in root.iter(f"{{{SOAP12_ENV_NS}}}SupportedEnvelope")]
        message += (f" [the endpoint answered a SOAP {other.value} request with a SOAP "
                    f"{version.value} fault"
                    + (f" (Upgrade: {', '.join(supported)})" if supported else "")
                    + f"; if it speaks SOAP {version.value}, use the WSDL's SOAP "
                    f"{version.value} binding/port]")
    return ForeignFault(message, fault.code, None, detail)
