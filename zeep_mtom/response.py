"""Replies: MTOM, SwA or plain, read as a stream and handed to Zeep as plain SOAP.

Strategy: :class:`ReplyReader` is fed the HTTP body chunk by chunk by the
transport (requests' ``iter_content`` or httpx's ``aiter_bytes``, both after
content decoding, so gunzipped bytes are what counts; the transport owns all
I/O). A ``multipart/*`` body goes through the :class:`mtom.PackageReader` of
the transport's :class:`mtom.MtomOptions`, which spools parts over
``spool_threshold`` to unlinked temporary files as they arrive; a plain body
is the root and obeys ``max_root_size`` / ``max_total_size`` as well.
:meth:`ReplyReader.close` then calls :func:`mtom.unpack` (one parse of the
root, every ``xop:Include`` resolved, no base64) and writes a token (the
part's ``cid:`` URL) into each element whose value is a part; SwA text
references (swaRef) are registered too. The root, re-serialised, is what
Zeep parses: Zeep's own multipart code never runs, and Zeep's
``Base64Binary.pythonvalue`` turns each token into the part's value through
:class:`zeep_mtom.hooks.CallContext`.

Everything about the reply stays reachable in an :class:`MtomReply`
(``transport.last_reply``): every part, SwA references, parts nobody
referenced, warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from lxml import etree
from requests.structures import CaseInsensitiveDict

import mtom
from mtom.soap import soap_version_of_namespace

__all__ = ["MtomReply", "MtomResponse", "ReplyReader", "ReplyResult", "adopt", "make_response"]


@dataclass
class MtomReply:
    """One HTTP reply as the transport received it.

    Attributes:
        status_code: the HTTP status.
        content_type: the HTTP Content-Type, parsed.
        package: the decoded multipart package, or ``None`` for a plain reply.
        references: resolved ``xop:Include`` elements (elements of the
            transport's copy of the root, not of Zeep's tree).
        swa: SwA references (``href="cid:…"`` attributes, swaRef values).
        unreferenced: parts no reference names.
        warnings: deviations the reader tolerated.

    Parts whose value Zeep returned as ``bytes`` are closed when the call
    ends; the others (SwA, unreferenced) stay readable until :meth:`close`
    or until this object is garbage-collected. Attachments returned as
    values in ``stream_attachments`` mode belong to the caller and are not
    closed by :meth:`close`.
    """

    status_code: int
    content_type: mtom.ContentType
    package: mtom.Package | None = None
    references: list[mtom.XopReference] = field(default_factory=list)
    swa: list[mtom.XopReference] = field(default_factory=list)
    unreferenced: list[mtom.Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _handed_out: set[int] = field(default_factory=set, repr=False)

    @property
    def is_multipart(self) -> bool:
        return self.package is not None

    @property
    def is_xop(self) -> bool:
        """True for an MTOM/XOP reply."""
        return self.package is not None and self.package.is_xop

    @property
    def attachments(self) -> list[mtom.Attachment]:
        """Every part except the root, in message order (empty for a plain reply)."""
        return list(self.package.attachments) if self.package is not None else []

    def get(self, ref: str) -> mtom.Attachment | None:
        """The part named by a Content-ID (with or without ``<>``) or a ``cid:`` URL."""
        return self.package.get(ref) if self.package is not None else None

    def hand_out(self, att: mtom.Attachment) -> None:
        """Record that ``att`` was returned to the caller as a value."""
        self._handed_out.add(id(att))

    @property
    def handed_out_ids(self) -> set[int]:
        return set(self._handed_out)

    def close(self) -> None:
        """Release the parts' temporary files (not those returned as values)."""
        if self.package is None:
            return
        for part in self.package.parts:
            if id(part) not in self._handed_out:
                part.close()

    def __repr__(self) -> str:
        kind = "MTOM" if self.is_xop else "multipart" if self.is_multipart else "plain"
        return (f"<MtomReply {self.status_code} {kind}: {len(self.attachments)} part(s), "
                f"{len(self.references)} xop, {len(self.swa)} swa, "
                f"{len(self.unreferenced)} unreferenced>")

    def __enter__(self) -> MtomReply:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReplyResult:
    """What :meth:`ReplyReader.close` produces."""

    content: bytes
    """The SOAP envelope for Zeep to parse (tokens where parts were)."""
    content_type: str | None
    """The Content-Type to show Zeep (never multipart)."""
    reply: MtomReply
    values: dict[str, mtom.Attachment]
    """Token text → part, for :meth:`CallContext.accept_reply`."""


class ReplyReader:
    """Push the body of one HTTP reply; get what Zeep should parse.

    Args:
        status_code: the HTTP status.
        content_type: the HTTP Content-Type header (``None`` if absent).
        options: the transport's options (limits, spooling; with
            ``stream_attachments=False`` parts are not spooled, as every value
            ends as ``bytes`` in memory anyway).
        huge_tree: allow huge text nodes in the root (Zeep's
            ``Settings.xml_huge_tree``; only inline base64 needs it).
        inline_values: write each resolved part back into the envelope as
            base64 text (the XOP infoset) instead of a token — for a client
            that verifies an XML signature over the reply. Costs a base64
            encode here and a decode in Zeep.
        progress: a :class:`mtom.ProgressMeter` told about every chunk fed
            (and, for a multipart body, the part it is in); ``None``: no cost.

    ``received`` counts the body bytes fed so far (for the wire report).

    Raises (``feed``/``close``): the :class:`mtom.MtomError` family —
    :class:`mtom.MalformedMime`, :class:`mtom.TruncatedMessage`,
    :class:`mtom.LimitExceeded`, :class:`mtom.RootPartError`,
    :class:`mtom.DanglingInclude`, :class:`mtom.InvalidInclude`,
    :class:`mtom.DimeNotSupported` (an ``application/dime`` reply, Axis 1 /
    WSE). A body labelled multipart/related that holds no delimiter but is an
    XML document (node-soap echoes the request's Content-Type on its faults)
    is read as that document, with a warning in :attr:`MtomReply.warnings`. On any
    error every temporary file is released before it propagates.
    """

    def __init__(self, status_code: int, content_type: str | None, options: mtom.MtomOptions, *,
                 huge_tree: bool = False, inline_values: bool = False,
                 progress: mtom.ProgressMeter | None = None):
        self.status_code = status_code
        self.received = 0
        self._progress = progress
        self._inline = inline_values
        self.raw_content_type = content_type
        self.content_type = mtom.parse_content_type(content_type or "")
        self._options = options
        self._huge_tree = huge_tree
        self._chunks: list[bytes] = []
        self._size = 0
        self._done = False
        spool = None if options.stream_attachments else options.limits.max_attachment_size + 1
        self._reader: mtom.PackageReader | None = None
        self._refused: mtom.MtomError | None = None
        if self.content_type.is_multipart or self.content_type.media_type == "application/dime":
            try:  # DIME is refused by the core (DimeNotSupported), raised at the first feed
                self._reader = options.reader(self.content_type, spool_threshold=spool,
                                              progress=progress)
            except mtom.MtomError as exc:
                self._refused = exc

    def feed(self, chunk: bytes) -> None:
        """Push the next chunk of the (content-decoded) body."""
        if self._done:
            raise mtom.UsageError("ReplyReader.feed() after close() or abort()")
        if self._refused is not None:
            self._done = True
            raise self._refused
        if not chunk:
            return
        self.received += len(chunk)
        if self._reader is not None:
            self._reader.feed(chunk)
            return
        if self._progress is not None:
            self._progress.advance(len(chunk))
        self._size += len(chunk)
        limits = self._options.limits
        value = min(limits.max_root_size, limits.max_total_size)
        if self._size > value:
            name = "max_root_size" if value == limits.max_root_size else "max_total_size"
            self.abort()
            raise mtom.LimitExceeded(
                f"the {self.content_type.media_type or 'plain'} reply exceeds {name}={value} "
                "bytes (decoded)", limit=name, value=value)
        self._chunks.append(chunk)

    def abort(self) -> None:
        """Give up (I/O failed): release everything received so far."""
        if self._done:
            return  # closed (its own errors already released everything) or aborted
        self._done = True
        if self._reader is not None:
            self._reader.__exit__(RuntimeError, None, None)
        self._chunks.clear()

    def close(self) -> ReplyResult:
        """End of body: decode the package and prepare the envelope for Zeep."""
        if self._done:
            raise mtom.UsageError("ReplyReader.close() after close() or abort()")
        self._done = True
        if self._refused is not None:
            raise self._refused
        if self._reader is None:
            if self._progress is not None:
                self._progress.finish()
            body = b"".join(self._chunks)
            self._chunks.clear()
            reply = MtomReply(self.status_code, self.content_type)
            return ReplyResult(body, self.raw_content_type, reply, {})
        package = self._reader.close()
        if self._progress is not None:
            self._progress.finish()  # also for a plain document labelled multipart
        try:
            return self._resolve(package)
        except BaseException:
            package.close()
            raise

    def _resolve(self, package: mtom.Package) -> ReplyResult:
        huge = self._huge_tree or self._options.huge_tree
        root, xop = mtom.unpack(package, self._options, parser_options={"huge_tree": huge})
        values: dict[str, mtom.Attachment] = {}
        if self._inline:
            mtom.inline_base64(xop.references)
        else:
            for ref in xop.references:
                token = mtom.cid_href(ref.attachment.content_id or "")
                ref.element.text = token
                values[token] = ref.attachment
        for ref in xop.swa:
            if ref.kind == "swa-ref" and ref.element.text:
                values[ref.element.text] = ref.attachment
            elif _empty(ref.element) and ref.attachment.content_id:
                # href="cid:…" on an empty element (Axis 1, rpc/encoded SwA): the part is
                # the element's value, so the element gets the token Zeep turns into it.
                token = mtom.cid_href(ref.attachment.content_id)
                ref.element.text = token
                values[token] = ref.attachment
        version = soap_version_of_namespace(etree.QName(root).namespace) or mtom.SoapVersion.SOAP11
        reply = MtomReply(self.status_code, self.content_type, package, xop.references,
                          xop.swa, xop.unreferenced, list(package.warnings))
        content = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        return ReplyResult(content, f"{version.media_type}; charset=utf-8", reply, values)


def _empty(element: etree._Element) -> bool:
    return not len(element) and not (element.text or "").strip()


class MtomResponse(requests.Response):
    """A :class:`requests.Response` holding the (non-multipart) envelope Zeep parses.

    ``mtom_reply`` is the :class:`MtomReply` with every part.
    """

    mtom_reply: MtomReply | None = None


def adopt(response: requests.Response, result: ReplyResult) -> MtomResponse:
    """Turn the streamed ``requests`` response into the one Zeep reads, in place.

    Its status, headers, cookies, history and timing stay as requests made
    them; the body becomes the envelope (the Content-Type says so) and
    ``mtom_reply`` the parts. (Building a second response object cost a
    call more than the rest of this module's bookkeeping.)
    """
    response.__class__ = MtomResponse
    assert isinstance(response, MtomResponse)
    if result.content_type is not None:
        response.headers["Content-Type"] = result.content_type
    response._content = result.content
    response._content_consumed = True  # type: ignore[attr-defined]
    if result.reply.package is not None:
        response.encoding = "utf-8"
    response.mtom_reply = result.reply
    return response


def make_response(result: ReplyResult, *, status_code: int, headers: Mapping[str, str],
                  **attributes: Any) -> MtomResponse:
    """Build the response object ``post_xml`` returns to Zeep."""
    resp = MtomResponse()
    resp.status_code = status_code
    resp.headers = CaseInsensitiveDict(headers)
    if result.content_type is not None:
        resp.headers["Content-Type"] = result.content_type
    resp._content = result.content
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.encoding = "utf-8" if result.reply.package is not None else None
    for name, value in attributes.items():  # url, reason, cookies, encoding…
        setattr(resp, name, value)
    resp.mtom_reply = result.reply
    return resp
