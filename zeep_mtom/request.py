"""Requests: Zeep's finished envelope becomes an MTOM package (or stays plain SOAP).

Strategy: :func:`prepare` runs in ``post_xml``, after WS-Addressing, plugins
and WS-Security. It pairs each ``cid:`` placeholder left by
:class:`~zeep_mtom.hooks.CallContext` with the value it stands for and hands
(envelope, values) to :func:`mtom.build_package`, which also decodes base64
text into parts for elements rendered while a signature was computed, listed
in ``optimize_elements``, or carrying ``xmime:contentType``. The HTTP headers
follow: the multipart Content-Type with ``start-info`` (SOAP 1.1 ``text/xml``,
SOAP 1.2 ``application/soap+xml`` plus the ``action`` Zeep put in its own
Content-Type), Content-Length when every part's size is known. No part →
the plain SOAP message Zeep would send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass

from lxml import etree

import mtom
from mtom.soap import soap_version_of_content_type, soap_version_of_namespace

from .hooks import CallContext

__all__ = ["ACCEPT", "PreparedRequest", "prepare", "soap_version_of"]

#: The Accept header of an MTOM call (a user's own Accept header is kept). JAX-WS RI
#: answers a plain request with MTOM only when it names application/xop+xml.
ACCEPT = "application/xop+xml, multipart/related, text/xml, application/soap+xml"


#: A request body of at most this many bytes (with a known length) is joined and sent
#: as one ``bytes``: requests then writes it with one ``sendall`` instead of reading a
#: stream 16 KiB at a time, which costs a small call more than the copy (issue 13).
SMALL_BODY = 256 * 1024


def soap_version_of(envelope: etree._Element, content_type: str | None) -> mtom.SoapVersion:
    """The envelope's SOAP version, else the Content-Type's, else SOAP 1.1."""
    return (soap_version_of_namespace(etree.QName(envelope).namespace)
            or soap_version_of_content_type(mtom.parse_content_type(content_type or ""))
            or mtom.SoapVersion.SOAP11)


@dataclass
class PreparedRequest:
    """The body and headers to POST."""

    headers: MutableMapping[str, str]
    envelope: bytes
    package: mtom.OutgoingPackage | None = None

    @property
    def is_mtom(self) -> bool:
        return self.package is not None

    def content(self, progress: mtom.ProgressMeter | None = None,
                ) -> bytes | mtom.PackageStream | Iterator[bytes]:
        """The body: bytes, the package's stream (``read``, ``len()``), or its chunks when
        a part's size is unknown (requests then sends it chunked). ``progress`` is told
        about the package's bytes as they are read."""
        if self.package is None:
            return self.envelope
        length = self.package.content_length
        if length is not None and length <= SMALL_BODY:  # one send, as for a plain request
            if progress is None:  # no meter to tell: the chunks alone, no stream object
                return self.package.to_bytes()
            return b"".join(self.package.stream(progress=progress))
        stream = self.package.stream(progress=progress)
        return stream if length is not None else iter(stream)

    async def aiter_content(self, progress: mtom.ProgressMeter | None = None,
                            ) -> AsyncIterator[bytes]:
        """The body for httpx (file parts are read with blocking 1 MiB reads)."""
        if self.package is None:
            yield self.envelope
            return
        for chunk in self.package.stream(progress=progress):
            yield chunk


def _replace_headers(headers: MutableMapping[str, str], drop: tuple[str, ...],
                     new: dict[str, str]) -> None:
    """Remove every spelling of the ``drop`` names and of ``new``'s names, then add ``new``
    (one pass over ``headers``)."""
    names = {n.lower() for n in drop} | {n.lower() for n in new}
    for key in [k for k in headers if k.lower() in names]:
        del headers[key]
    headers.update(new)


def _values(envelope: etree._Element, ctx: CallContext) -> dict[etree._Element, mtom.OutgoingPart]:
    """Each placeholder element and the value it stands for (each taken once)."""
    return {el: part for el in envelope.iter()
            if isinstance(el.tag, str) and not len(el) and (el.text or "")[:4] == "cid:"
            and (part := ctx.pending.pop(el.text or "", None)) is not None}


def prepare(envelope: etree._Element, headers: MutableMapping[str, str],
            ctx: CallContext | None, options: mtom.MtomOptions, *,
            force_mtom: bool = False) -> PreparedRequest:
    """Turn Zeep's envelope and headers into what goes on the wire.

    ``headers`` is updated in place (so Zeep's HistoryPlugin shows what was
    sent) and so is the envelope (it shows the ``xop:Include`` elements).

    ``force_mtom`` (a server that requires MTOM): an MTOM package even for
    a request whose values stay inline or that has none (then the root is
    its only part); base64 text recorded in ``ctx.typed`` becomes parts.

    Raises:
        mtom.InvalidInclude: an element chosen for optimisation holds no base64.
        mtom.UsageError: a part whose source cannot be sent.
    """
    optimise = force_mtom or (ctx.optimise if ctx is not None else options.mtom is True)
    package = None
    if force_mtom and options.mtom is False:
        options = dataclasses.replace(options, mtom=True)
    if optimise:
        if not any(k.lower() == "accept" for k in headers):
            headers["Accept"] = ACCEPT
        zeep_ct = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        version = soap_version_of(envelope, zeep_ct)
        action = None
        if version is mtom.SoapVersion.SOAP12 and zeep_ct:
            action = mtom.parse_content_type(zeep_ct).get("action")
        typed = set(ctx.typed) if ctx is not None else set()
        package = mtom.build_package(
            envelope, _values(envelope, ctx) if ctx is not None and ctx.pending else {}, options,
            soap_version=version, action=action,
            select=lambda el: (el in typed or el.tag in options.optimize_elements
                               or mtom.content_type_hint(el) is not None))
        if package is None and force_mtom:
            package = mtom.OutgoingPackage(
                etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), [],
                soap_version=version, action=action)
    if package is None:
        return PreparedRequest(headers, etree.tostring(envelope, xml_declaration=True,
                                                       encoding="utf-8"))
    _replace_headers(headers, ("Content-Length", "Transfer-Encoding"), package.headers)
    return PreparedRequest(headers, package.root, package)
