"""What differs between SOAP 1.1 and SOAP 1.2 for MTOM.

The values follow the SOAP 1.1 Binding for MTOM 1.0 (member submission) and
the W3C SOAP MTOM Recommendation (SOAP 1.2): the ``start-info`` and root
``type`` parameter, where the action goes, and which fault codes exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .headers import ContentType, format_content_type, quote_param

__all__ = [
    "SOAP11_ENV_NS",
    "SOAP12_ENV_NS",
    "XMIME_CONTENT_TYPE",
    "XMIME_NS",
    "XMIME_NS_2004",
    "XOP_NS",
    "SoapVersion",
    "multipart_content_type",
    "root_content_type",
    "soap_version_of_namespace",
]

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
XMIME_NS = "http://www.w3.org/2005/05/xmlmime"
XMIME_NS_2004 = "http://www.w3.org/2004/11/xmlmime"
XOP_MEDIA_TYPE = "application/xop+xml"
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
