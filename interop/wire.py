"""What an exchange produced: results, and the wire messages decoded (with the mtom core)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

import mtom
from interop.capture import HttpExchange, HttpMessage
from interop.cases import DATA, XMIME_CT


@dataclass
class FaultInfo:
    code: str
    reason: str
    subcodes: list[str] = field(default_factory=list)

    @property
    def is_sender(self) -> bool:
        """A Client (1.1) / Sender (1.2) fault, possibly with a dotted or sub code."""
        local = self.code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        return local.split(".")[0] in ("Client", "Sender")


@dataclass
class ValueResult:
    size: int
    sha256: str
    content_type: str | None  # xmime:contentType as received
    part_content_type: str | None = None  # MIME part Content-Type (None: inline or unknown)
    inline: bool | None = None


@dataclass
class ClientResult:
    values: list[ValueResult] = field(default_factory=list)
    fault: FaultInfo | None = None
    error: str | None = None
    http_status: int | None = None
    response_content_type: str | None = None


@dataclass
class WireView:
    """What one recorded message says, decoded independently by the core reader."""

    mtom: bool
    values: list[ValueResult] | None  # None: not decodable (recorded only in part)
    fault: FaultInfo | None = None
    error: str | None = None


@dataclass
class Outcome:
    client: ClientResult
    wire: HttpExchange | None
    posts: int
    server_log: str
    elapsed: float
    peak_rss_growth: int | None = None
    #: Peak of Python allocations (tracemalloc) during the exchange; large cases only.
    python_peak: int | None = None


def is_mtom_content_type(value: str) -> bool:
    """``multipart/related`` with ``type="application/xop+xml"``."""
    try:
        ct = mtom.parse_content_type(value or "")
    except mtom.MtomError:
        return False
    return ct.media_type == "multipart/related" and (
        (ct.get("type") or "").split(";")[0].strip().lower() == "application/xop+xml")


def _fault_of(root: etree._Element) -> FaultInfo | None:
    ns = etree.QName(root).namespace
    body = root.find(f"{{{ns}}}Body")
    fault = body.find(f"{{{ns}}}Fault") if body is not None else None
    if fault is None:
        return None
    if ns == mtom.SOAP12_ENV_NS:
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
        subs = [(v.text or "").strip() for sub in fault.iter(f"{{{ns}}}Subcode")
                for v in sub.findall(f"{{{ns}}}Value")]
        reason = fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return FaultInfo(code.strip(), reason.strip(), subs)
    return FaultInfo((fault.findtext("faultcode") or "").strip(),
                     (fault.findtext("faultstring") or "").strip())


def _values_of(root: etree._Element, xop: mtom.XopResult | None) -> list[ValueResult]:
    out: list[ValueResult] = []
    swa = {id(r.element): r.attachment for r in (xop.swa if xop is not None else [])}
    for el in root.iter(DATA):
        att = xop.value_of(el) if xop is not None else None
        if att is None:
            att = swa.get(id(el))  # SwA: href="cid:..." on the element itself
        ct = el.get(XMIME_CT)
        if att is not None:
            out.append(ValueResult(att.size, att.sha256(), ct, att.content_type, inline=False))
        else:
            raw = base64.b64decode((el.text or "").encode("ascii"), validate=False)
            out.append(ValueResult(len(raw), hashlib.sha256(raw).hexdigest(), ct, None,
                                   inline=True))
    return out


def decode_body(body: bytes | Iterable[bytes], content_type: str
                ) -> tuple[list[ValueResult], FaultInfo | None]:
    """Values and fault of a SOAP message body (MTOM, SwA or plain) via the core reader."""
    ct = mtom.parse_content_type(content_type or "text/xml")
    if ct.is_multipart:
        with mtom.read_package(body, ct, huge_tree=True) as package:
            root = package.root_element()
            xop = mtom.reconstitute(root, package)
            return _values_of(root, xop), _fault_of(root)
    data = body if isinstance(body, bytes) else b"".join(body)
    root = mtom.parse_xml(data, charset=ct.charset, huge_tree=True, what="message")
    return _values_of(root, None), _fault_of(root)


def analyse_message(message: HttpMessage) -> WireView:
    """Decode a recorded message with the core reader (when it was recorded whole)."""
    view = WireView(mtom=is_mtom_content_type(message.content_type), values=None)
    if not message.complete:
        return view
    try:
        view.values, view.fault = decode_body(message.body, message.content_type)
    except (mtom.MtomError, ValueError) as exc:
        view.error = f"{type(exc).__name__}: {exc}"
    return view
