"""Requests: Zeep's finished envelope becomes an MTOM package (or stays plain SOAP).

Strategy: :func:`optimise_envelope` walks the envelope once, after
WS-Addressing, plugins and WS-Security have run. An element whose text is a
placeholder rendered by :class:`~zeep_mtom.values.CallContext` gets an
``xop:Include`` of a part streaming the user's source (no base64 at all);
an element rendered as base64 while a signature was being computed, an
element listed in ``optimize_elements``, or one carrying
``xmime:contentType`` has its text decoded into a part. :func:`prepare`
then wraps the serialised envelope and the parts in an
:class:`mtom.OutgoingPackage` and fixes the HTTP headers: the multipart
Content-Type with ``start-info`` (SOAP 1.1 ``text/xml``, SOAP 1.2
``application/soap+xml`` plus the ``action`` Zeep put in its own
Content-Type), the SOAPAction header kept, Content-Length when every
part's size is known. No part → the plain SOAP message Zeep would send.
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass

from lxml import etree

import mtom

from .options import MtomOptions
from .values import CallContext

__all__ = ["PreparedRequest", "SizedBody", "optimise_envelope", "prepare", "soap_version_of"]

_CHUNK = 1024 * 1024


def soap_version_of(envelope: etree._Element, content_type: str | None) -> mtom.SoapVersion:
    """SOAP 1.2 when the envelope (or, failing that, the Content-Type) says so."""
    ns = etree.QName(envelope).namespace
    if ns == mtom.SOAP12_ENV_NS:
        return mtom.SoapVersion.SOAP12
    if ns == mtom.SOAP11_ENV_NS:
        return mtom.SoapVersion.SOAP11
    media = mtom.parse_content_type(content_type or "").media_type
    return mtom.SoapVersion.SOAP12 if media == "application/soap+xml" else mtom.SoapVersion.SOAP11


def _decode(el: etree._Element, text: str, strict: bool) -> bytes | None:
    try:
        return binascii.a2b_base64(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        if not strict:
            return None
        raise mtom.InvalidInclude(
            f"element {el.tag} was chosen for optimisation but its text is not base64: "
            f"{exc}") from exc


def optimise_envelope(envelope: etree._Element, ctx: CallContext | None,
                      options: MtomOptions) -> list[mtom.OutgoingPart]:
    """Replace binary values in ``envelope`` (in place) by ``xop:Include``; return the parts.

    Raises:
        mtom.InvalidInclude: an ``optimize_elements`` element whose text is
            not base64.
    """
    parts: list[mtom.OutgoingPart] = []
    typed = set(ctx.typed) if ctx is not None else set()
    for el in list(envelope.iter()):
        if not isinstance(el.tag, str) or el.tag == mtom.XOP_INCLUDE or len(el):
            continue
        text = el.text
        if not text:
            continue
        hint = mtom.content_type_hint(el)
        pending = ctx.take(text) if ctx is not None and text[:4] == "cid:" else None
        if pending is not None:
            cid, value = pending
            part = value.to_part(cid, hint)
        else:
            forced = el.tag in options.optimize_elements
            if el.tag in options.inline_elements or not (forced or el in typed or hint):
                continue
            if not forced and len(text) * 3 // 4 < options.threshold - 3:
                continue
            raw = _decode(el, text, strict=forced)
            if raw is None or not options.wants_part(el.tag, len(raw)):
                continue
            part = mtom.OutgoingPart(raw, content_type=hint or "application/octet-stream")
        mtom.include(el, part)
        parts.append(part)
    return parts


class SizedBody:
    """A request body requests can stream with Content-Length: ``read(size)`` and ``len()``.

    # CORE: mtom.PackageStream defines tell() (inherited, raising), so
    # requests' super_len() takes its length as 0 and sends chunked with a
    # Content-Length header as well. This wrapper exposes only read/len/iter.
    """

    def __init__(self, package: mtom.OutgoingPackage):
        length = package.content_length
        if length is None:
            raise ValueError("SizedBody needs a package of known length")
        self._length = length
        self._stream = package.stream()
        self._package = package

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def __iter__(self) -> Iterator[bytes]:
        return _slices(self._package)


def _slices(package: mtom.OutgoingPackage) -> Iterator[bytes]:
    for chunk in package:
        view = memoryview(chunk)
        for i in range(0, len(view), _CHUNK):
            yield bytes(view[i:i + _CHUNK])


async def _aslices(package: mtom.OutgoingPackage) -> AsyncIterator[bytes]:
    # File parts are read synchronously, 1 MiB at a time (a local disk read).
    for chunk in _slices(package):
        yield chunk


@dataclass
class PreparedRequest:
    """The body and headers to POST."""

    headers: MutableMapping[str, str]
    envelope: bytes
    package: mtom.OutgoingPackage | None = None

    @property
    def is_mtom(self) -> bool:
        return self.package is not None

    def requests_body(self) -> bytes | SizedBody | Iterator[bytes]:
        """For requests: bytes, a sized stream (Content-Length) or an iterator (chunked)."""
        if self.package is None:
            return self.envelope
        if self.package.content_length is not None:
            return SizedBody(self.package)
        return _slices(self.package)

    def httpx_content(self) -> bytes | AsyncIterator[bytes]:
        """For httpx.AsyncClient: bytes or an async iterator (Content-Length set when known)."""
        if self.package is None:
            return self.envelope
        return _aslices(self.package)


#: The Accept header of an MTOM call (a user's own Accept header is kept).
ACCEPT = "application/xop+xml, multipart/related, text/xml, application/soap+xml"


def _set_header(headers: MutableMapping[str, str], name: str, value: str | None) -> None:
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    if value is not None:
        headers[name] = value


def prepare(envelope: etree._Element, headers: MutableMapping[str, str],
            ctx: CallContext | None, options: MtomOptions) -> PreparedRequest:
    """Turn Zeep's envelope and headers into what goes on the wire.

    ``headers`` is updated in place (so Zeep's HistoryPlugin shows what was
    sent) and the envelope is modified in place (it shows the
    ``xop:Include`` elements).

    Raises:
        mtom.InvalidInclude: see :func:`optimise_envelope`.
        mtom.UsageError: a part whose source cannot be sent.
    """
    optimise = ctx.optimise if ctx is not None else options.mtom is True
    if optimise and not any(k.lower() == "accept" for k in headers):
        # Say we read XOP: JAX-WS RI answers a plain request with MTOM only when the
        # Accept header names application/xop+xml (W3C scenarios 1a/2a/3a).
        headers["Accept"] = ACCEPT
    parts = optimise_envelope(envelope, ctx, options) if optimise else []
    root = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")  # as Zeep
    if not parts:
        return PreparedRequest(headers, root)
    zeep_ct = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    version = soap_version_of(envelope, zeep_ct)
    action = None
    if version is mtom.SoapVersion.SOAP12 and zeep_ct:
        action = mtom.parse_content_type(zeep_ct).get("action")
    package = mtom.OutgoingPackage(root, parts, soap_version=version, action=action)
    _set_header(headers, "Content-Type", package.content_type)
    _set_header(headers, "Content-Length", None)
    _set_header(headers, "Transfer-Encoding", None)
    for name, value in package.headers.items():
        if name.lower() != "content-type":
            _set_header(headers, name, value)
    return PreparedRequest(headers, root, package)
