"""What differs between SOAP 1.1 and SOAP 1.2 for MTOM.

The values follow the SOAP 1.1 Binding for MTOM 1.0 (member submission) and
the W3C SOAP MTOM Recommendation (SOAP 1.2): the ``start-info`` and root
``type`` parameter, where the action goes, and which fault codes exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum

from lxml import etree

from .errors import printable
from .headers import ContentType, format_content_type, quote_param

__all__ = [
    "FAULT_NS",
    "SOAP11_ENV_NS",
    "SOAP12_ENV_NS",
    "XMIME_CONTENT_TYPE",
    "XMIME_NS",
    "XMIME_NS_2004",
    "XML_SOAP_NS",
    "XOP_NS",
    "SoapFault",
    "SoapVersion",
    "fault_envelope",
    "fault_http_status",
    "multipart_content_type",
    "namespace_of",
    "qualify_subcodes",
    "read_fault",
    "root_content_type",
    "soap_version_of_namespace",
    "version_mismatch",
    "xml_text",
]

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
XMIME_NS = "http://www.w3.org/2005/05/xmlmime"
XMIME_NS_2004 = "http://www.w3.org/2004/11/xmlmime"
XOP_MEDIA_TYPE = "application/xop+xml"
#: Apache SOAP / Axis 1.x namespace of ``DataHandler`` and its other attachment types
#: (``apachesoap:*``), which WSDLs use without importing any schema for it.
XML_SOAP_NS = "http://xml.apache.org/xml-soap"
#: Namespace of SOAP 1.2 fault subcodes written without one (:func:`qualify_subcodes`).
FAULT_NS = "urn:soap-mtom:fault"
#: The ``xmime:contentType`` attribute, in the 2005/05 and the 2004/11 namespace.
XMIME_CONTENT_TYPE = (f"{{{XMIME_NS}}}contentType", f"{{{XMIME_NS_2004}}}contentType")


@dataclass(frozen=True)
class _VersionInfo:
    label: str
    envelope_ns: str
    media_type: str  # the SOAP media type: start-info and root 'type'
    sender_code: str
    receiver_code: str


class SoapVersion(Enum):
    """SOAP 1.1 or 1.2; ``.value`` is ``"1.1"`` / ``"1.2"``."""

    SOAP11 = "1.1"
    SOAP12 = "1.2"

    @property
    def _info(self) -> _VersionInfo:
        return _INFO[self]

    @property
    def envelope_ns(self) -> str:
        return self._info.envelope_ns

    @property
    def media_type(self) -> str:
        """``text/xml`` (1.1) or ``application/soap+xml`` (1.2)."""
        return self._info.media_type

    @property
    def sender_fault_code(self) -> str:
        """``Client`` (1.1) or ``Sender`` (1.2), local name in the envelope namespace."""
        return self._info.sender_code

    @property
    def receiver_fault_code(self) -> str:
        return self._info.receiver_code

    @classmethod
    def coerce(cls, value: SoapVersion | str) -> SoapVersion:
        """Accept a :class:`SoapVersion`, ``"1.1"``/``"1.2"``, or ``"11"``/``"12"``."""
        if isinstance(value, SoapVersion):
            return value
        v = str(value).strip().lower().replace("soap", "")
        if v in ("1.1", "11"):
            return cls.SOAP11
        if v in ("1.2", "12"):
            return cls.SOAP12
        raise ValueError(f"unknown SOAP version {value!r}; expected '1.1' or '1.2'")


_INFO = {
    SoapVersion.SOAP11: _VersionInfo("1.1", SOAP11_ENV_NS, "text/xml", "Client", "Server"),
    SoapVersion.SOAP12: _VersionInfo("1.2", SOAP12_ENV_NS, "application/soap+xml",
                                     "Sender", "Receiver"),
}


def namespace_of(element: etree._Element) -> str | None:
    """The namespace of ``element``'s tag (what ``etree.QName(element).namespace`` gives,
    without building a QName: a few µs per reply)."""
    tag = element.tag
    if not isinstance(tag, str) or tag[:1] != "{":
        return None
    return tag[1:tag.find("}")]


def soap_version_of_namespace(ns: str | None) -> SoapVersion | None:
    """The SOAP version whose envelope namespace is ``ns``, else ``None``."""
    if ns == SOAP11_ENV_NS:
        return SoapVersion.SOAP11
    if ns == SOAP12_ENV_NS:
        return SoapVersion.SOAP12
    return None


def soap_version_of_content_type(ct: ContentType) -> SoapVersion | None:
    """Guess the SOAP version from a (multipart or plain) Content-Type."""
    candidates = [ct.media_type, ct.get("start-info") or "", ct.get("type") or ""]
    for c in candidates:
        media = c.split(";", 1)[0].strip().lower()
        if media == "application/soap+xml":
            return SoapVersion.SOAP12
    for c in candidates:
        media = c.split(";", 1)[0].strip().lower()
        if media == "text/xml":
            return SoapVersion.SOAP11
    return None


@functools.lru_cache(maxsize=32)  # a handful of (version, xop, charset): built once each
def root_content_type(version: SoapVersion | str, *, xop: bool = True,
                      charset: str = "UTF-8") -> str:
    """The root part's Content-Type.

    XOP: ``application/xop+xml; charset=UTF-8; type="text/xml"`` (1.1) or
    ``type="application/soap+xml"`` (1.2). Plain SwA root: the SOAP media
    type with a charset.
    """
    v = SoapVersion.coerce(version)
    if xop:
        return format_content_type(XOP_MEDIA_TYPE, [("charset", charset), ("type", v.media_type)])
    return format_content_type(v.media_type, [("charset", charset)])


def multipart_content_type(version: SoapVersion | str, *, boundary: str, start: str,
                           action: str | None = None, xop: bool = True) -> str:
    """The HTTP Content-Type of an MTOM (``xop=True``) or SwA package.

    SOAP 1.1: ``multipart/related; type="application/xop+xml";
    boundary="…"; start="<cid>"; start-info="text/xml"``. SOAP 1.2 uses
    ``start-info="application/soap+xml"`` and adds ``action="…"`` when an
    action is given (SOAP 1.1 carries it in the SOAPAction header instead).
    """
    v = SoapVersion.coerce(version)
    params: list[tuple[str, str]] = [
        ("type", XOP_MEDIA_TYPE if xop else v.media_type),
        ("boundary", boundary),
        ("start", f"<{start.strip('<>')}>"),
    ]
    if xop:
        params.append(("start-info", v.media_type))
    if action is not None and v is SoapVersion.SOAP12:
        params.append(("action", action))
    # Values are always quoted, as JAX-WS, WCF and Axis2 do.
    out = ["multipart/related"]
    out.extend(f"{name}={quote_param(value)}" for name, value in params)
    return "; ".join(out)


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A SOAP Fault as read by :func:`read_fault` from a message of either SOAP version.

    Attributes:
        version: the version of the envelope the Fault is in.
        code: the fault code as written (``env:Sender``, ``soap:Client``…), or ``None``.
        reason: the reason text (SOAP 1.2 ``env:Reason/env:Text``, SOAP 1.1
            ``faultstring``), or ``None``.
        element: the ``Fault`` element itself (role, detail…).
    """

    version: SoapVersion
    code: str | None
    reason: str | None
    element: etree._Element

    @property
    def native(self) -> bool:
        """False for a SOAP 1.2 Fault written with SOAP 1.1's ``faultcode``/``faultstring``
        (node-soap), which a SOAP 1.2 reader does not find; True otherwise."""
        env = self.version.envelope_ns
        return self.version is SoapVersion.SOAP11 or self.element.find(
            f"{{{env}}}Reason") is not None


def _text(element: etree._Element, *paths: str) -> str | None:
    for path in paths:
        value = element.findtext(path)
        if value is not None and value.strip():
            return value.strip()
    return None


def read_fault(root: etree._Element) -> SoapFault | None:
    """The Fault in the Body of the SOAP envelope ``root`` (either version), else ``None``.

    Code and reason are read from the version's own elements, or else from
    the unqualified ``faultcode``/``faultstring`` some SOAP 1.2 peers write.
    """
    name = etree.QName(root)
    version = soap_version_of_namespace(name.namespace)
    if version is None or name.localname != "Envelope":
        return None
    env = version.envelope_ns
    fault = root.find(f"{{{env}}}Body/{{{env}}}Fault")
    if fault is None:
        return None
    return SoapFault(version, _text(fault, f"{{{env}}}Code/{{{env}}}Value", "faultcode"),
                     _text(fault, f"{{{env}}}Reason/{{{env}}}Text", "faultstring"), fault)


def fault_envelope(version: SoapVersion | str, code: str, reason: str, *,
                   upgrade: SoapVersion | str | None = None) -> etree._Element:
    """A SOAP fault message: ``code`` is a fault code of the envelope's namespace
    (``"VersionMismatch"``, ``"Sender"``/``"Client"``…), ``reason`` its text.

    ``upgrade``: add the SOAP 1.2 ``Upgrade`` header block naming the envelope
    version the sender should use (SOAP 1.2 Part 1 §5.4.7 and appendix A; in a
    SOAP 1.1 message too, as a VersionMismatch answer to a SOAP 1.1 sender).
    """
    v = SoapVersion.coerce(version)
    ns, upg = v.envelope_ns, SOAP12_ENV_NS
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"env": ns})
    if upgrade is not None:
        header = etree.SubElement(env, f"{{{ns}}}Header")
        block = etree.SubElement(header, f"{{{upg}}}Upgrade",
                                 nsmap=None if ns == upg else {"upg": upg})
        supported = etree.SubElement(block, f"{{{upg}}}SupportedEnvelope", nsmap={
            "supported": SoapVersion.coerce(upgrade).envelope_ns})
        supported.set("qname", "supported:Envelope")
    fault = etree.SubElement(etree.SubElement(env, f"{{{ns}}}Body"), f"{{{ns}}}Fault")
    if v is SoapVersion.SOAP11:
        etree.SubElement(fault, "faultcode").text = f"env:{code}"
        etree.SubElement(fault, "faultstring").text = reason
    else:
        value = etree.SubElement(etree.SubElement(fault, f"{{{ns}}}Code"), f"{{{ns}}}Value")
        value.text = f"env:{code}"
        text = etree.SubElement(etree.SubElement(fault, f"{{{ns}}}Reason"), f"{{{ns}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = reason
    return env


def fault_http_status(version: SoapVersion | str, code: str) -> int:
    """The HTTP status of a fault whose code is ``code`` (``"Client"``, ``"Sender"``,
    ``"Client.Detail"``…): 500 for every SOAP 1.1 fault (SOAP 1.1 section 6.2); the
    SOAP 1.2 HTTP binding (Part 2, 7.5.1.2) answers a sender's fault with 400."""
    sender = code.split(".", 1)[0].rpartition(":")[2] in ("Client", "Sender")
    return 400 if sender and SoapVersion.coerce(version) is SoapVersion.SOAP12 else 500


def qualify_subcodes(document: etree._Element, namespace: str | None = None) -> None:
    """Make every SOAP 1.2 ``env:Subcode/env:Value`` in ``document`` a QName (Part 1 §5.4.6:
    the value is an ``xs:QName``; JAX-WS rejects ``A Subcode must be namespace-qualified``).

    An unprefixed value is put in ``namespace`` (e.g. the service's target namespace) or
    :data:`FAULT_NS`, declared on the ``Value`` element itself (run this after any
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


def version_mismatch(received: str | None, service: SoapVersion | str) -> tuple[SoapVersion, str]:
    """A VersionMismatch fault for an envelope in the namespace ``received`` sent to a
    ``service`` speaking one SOAP version: (the version to answer in, the reason).

    A SOAP 1.1 envelope gets a SOAP 1.1 fault also from a SOAP 1.2 service (SOAP 1.2
    Part 1, appendix A); build it with :func:`fault_envelope` (``upgrade=service``).
    """
    own = SoapVersion.coerce(service)
    reply = SoapVersion.SOAP11 if SOAP11_ENV_NS in (own.envelope_ns, received) else (
        SoapVersion.SOAP12)
    version = soap_version_of_namespace(received)
    got = f"SOAP {version.value}" if version is not None else "no SOAP version"
    return reply, printable(
        f"the request's Envelope is in the namespace {received or '(none)'} ({got}); "
        f"this endpoint speaks SOAP {own.value} only: send an Envelope in {own.envelope_ns}")


def xml_text(value: str | bytes) -> str:
    """Text writable into XML 1.0 (a fault string from a peer may hold any byte): bytes are
    read as UTF-8 (errors replaced), and what XML cannot carry is escaped (``\\x0b``)."""
    return printable(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
