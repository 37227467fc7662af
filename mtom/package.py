"""The assembled message: a root part plus attachments, built from reader events.

Strategy: :class:`PackageReader` wraps a :class:`~mtom.reader.MultipartReader`,
decodes each part's transfer encoding on the fly and writes it into an
:class:`~mtom.attachments.Attachment` (memory, or a temp file past the spool
threshold). It is the one place that decides which part is the root: the
part whose Content-ID equals the ``start`` parameter, else the first part
(some stacks send a ``start`` that names no part; that is recorded in
:attr:`Package.warnings`). On any error every attachment created so far is
closed before the error propagates, so no temporary file outlives a failure.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from lxml import etree

from .attachments import DEFAULT_SPOOL_THRESHOLD, Attachment
from .encodings import KNOWN_ENCODINGS, Decoder, decoder_for
from .errors import (
    AmbiguousReference,
    LimitExceeded,
    MtomError,
    NoBoundary,
    RootPartError,
    UsageError,
    quoted,
)
from .events import MessageEnd, PartData, PartEnd, PartStart
from .headers import (
    ContentType,
    href_to_content_id,
    normalize_content_id,
    parse_content_type,
    require_multipart,
)
from .limits import DEFAULT_LIMITS, Limits
from .progress import ProgressMeter
from .reader import MultipartReader
from .soap import (
    XOP_MEDIA_TYPE,
    SoapVersion,
    namespace_of,
    soap_version_of_content_type,
    soap_version_of_namespace,
)

__all__ = ["Package", "PackageReader", "parse_xml", "read_package"]

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.ASCII)


_PARSERS = threading.local()
_MAX_PARSERS = 16


def _parser(options: dict[str, Any], key: Any = None) -> etree.XMLParser:
    """An :class:`lxml.etree.XMLParser` for ``options``, reused within this thread.

    A parser may be used by one thread at a time, and a fresh one pays libxml2's
    context set-up on its first parse (about 5 µs, more than a small envelope's
    parse): so each thread keeps one per distinct set of options (at most
    ``_MAX_PARSERS``; options that cannot be a dict key get a fresh parser).
    ``error_log`` is reset by every parse, so reuse is invisible to callers.
    """
    try:
        if key is None:
            key = tuple(sorted(options.items()))
        hash(key)
    except TypeError:
        return etree.XMLParser(**options)
    cache: dict[Any, etree.XMLParser] | None = getattr(_PARSERS, "cache", None)
    if cache is None:
        cache = _PARSERS.cache = {}
    parser = cache.get(key)
    if parser is None:
        if len(cache) >= _MAX_PARSERS:
            cache.clear()
        parser = cache[key] = etree.XMLParser(**options)
    return parser


def _too_long(what: str, size: int) -> str:
    """What to do about libxml2's 10 MB text-node cap (``Text node too long``)."""
    return (f"the {what} ({size} bytes) holds a text node over libxml2's 10,000,000-byte "
            "limit, e.g. a value of more than ~7.5 MB inline as base64: the sender should "
            "send it as MTOM (an xop:Include part); or the receiver can lift the limit with "
            "huge_tree=True (MtomOptions; Spyne: Soap11Mtom/Soap12Mtom(huge_tree=True); Zeep: "
            "Settings(xml_huge_tree=True)), which holds the whole text node in memory (about "
            "1.33 times the value, plus the decoded value): cap the request size then")


def parse_xml(data: bytes, *, charset: str | None = None, huge_tree: bool = False,
              what: str = "root part",
              parser_options: Mapping[str, Any] | None = None) -> etree._Element:
    """Parse a SOAP/XOP document safely: no DTD, no entities, no network.

    ``charset`` (from the part's Content-Type) is used only when the document
    has neither a BOM nor an XML declaration naming its encoding.
    ``parser_options`` are further :class:`lxml.etree.XMLParser` arguments
    (e.g. Spyne's ``remove_comments``); the safety options always win.

    Raises:
        RootPartError: empty, not well-formed, or carries a DTD (SOAP forbids
            DTDs: SOAP 1.1 section 3, SOAP 1.2 Part 1 section 5).
    """
    if not data.strip():
        raise RootPartError(f"the {what} is empty; expected a SOAP envelope")
    encoding = None
    if (charset and not _XML_DECL.match(data[:200])
            and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))):
        encoding = charset
    try:
        options = {**(parser_options or {}), "resolve_entities": False, "no_network": True,
                   "load_dtd": False, "dtd_validation": False, "huge_tree": huge_tree,
                   "encoding": encoding}
        # Without further options the key is short (sorting the dict cost ~4 µs a parse).
        parser = _parser(options, None if parser_options else (huge_tree, encoding))
    except (LookupError, ValueError) as exc:
        raise RootPartError(f"the {what} declares charset={quoted(charset or '')}, which is "
                            "not a known "
                            "character encoding; the peer should send charset=UTF-8") from exc
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:
        if not options["huge_tree"] and "XML_PARSE_HUGE" in str(exc):
            raise RootPartError(_too_long(what, len(data))) from exc
        raise RootPartError(f"the {what} is not well-formed XML: {exc}") from exc
    if root is None:  # e.g. a document of one processing instruction, removed by the parser
        raise RootPartError(f"the {what} holds no XML element")
    for entry in parser.error_log:
        # libxml2 only warns about an undeclared prefix; SOAP needs namespace-
        # well-formed XML, and such an element has no usable qualified name.
        if entry.domain_name == "NAMESPACE":
            raise RootPartError(f"the {what} is not namespace-well-formed: {entry.message} "
                                f"(line {entry.line})")
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise RootPartError(f"the {what} contains a DTD, which SOAP forbids")
    return root


class Package:
    """A decoded multipart/related message.

    Attributes:
        content_type: the parsed outer Content-Type.
        root: the root part (the SOAP envelope / XOP document).
        parts: every part in message order, root included.
        attachments: every part except the root, in message order.
        warnings: tolerated deviations (e.g. a ``start`` naming no part).

    A context manager: ``close()`` releases every spooled temporary file.
    """

    def __init__(self, content_type: ContentType, parts: list[Attachment], root: Attachment,
                 warnings: list[str], *, huge_tree: bool = False):
        self.content_type = content_type
        self.parts = parts
        self.root = root
        self.attachments = [p for p in parts if p is not root]
        self.warnings = warnings
        self._huge_tree = huge_tree
        # One index per name, built once: a lookup never walks the parts. A name
        # that two parts share is kept with both, so a reference to it is refused.
        self._by_cid: dict[str, list[Attachment]] = {}
        for p in parts:
            if p.content_id is not None:
                self._by_cid.setdefault(p.content_id, []).append(p)
        for cid, same in self._by_cid.items():
            if len(same) > 1:
                self.warnings.append(
                    f"parts {', '.join(str(p.index) for p in same)} share the Content-ID "
                    f"<{quoted(cid, quotes=False)}>; a reference to it would be ambiguous "
                    "and is refused")
        self._by_location: dict[str, list[Attachment]] | None = None
        self._root_element: etree._Element | None = None

    # -- lookup ----------------------------------------------------------

    def get(self, ref: str) -> Attachment | None:
        """The part named by a Content-ID (with or without brackets) or a ``cid:`` URL.

        Raises:
            AmbiguousReference: more than one part has that Content-ID.
        """
        cid = href_to_content_id(ref)
        return self.by_content_id(cid if cid is not None else normalize_content_id(ref), ref)

    def by_content_id(self, cid: str, ref: str | None = None) -> Attachment | None:
        """The part whose normalised Content-ID is ``cid`` (``ref``: the reference, for
        the error).

        Raises:
            AmbiguousReference: more than one part has that Content-ID.
        """
        return self._one(self._by_cid.get(cid), cid if ref is None else ref, "Content-ID")

    def get_by_location(self, url: str) -> Attachment | None:
        """The part whose Content-Location header equals ``url`` (SwA Note references).

        Raises:
            AmbiguousReference: more than one part has that Content-Location.
        """
        if self._by_location is None:
            self._by_location = {}
            for p in self.parts:
                loc = p.headers.get("content-location")
                if loc is not None:
                    self._by_location.setdefault(loc.strip(), []).append(p)
        return self._one(self._by_location.get(url.strip()), url, "Content-Location")

    @staticmethod
    def _one(found: list[Attachment] | None, ref: str, header: str) -> Attachment | None:
        if not found:
            return None
        if len(found) > 1:
            raise AmbiguousReference(
                f"the reference {quoted(ref)} matches the {header} of "
                f"{len(found)} parts ({', '.join(str(p.index) for p in found[:10])}); "
                f"the peer must give every part a distinct {header}", href=ref,
                part=found[1].index)
        return found[0]

    def __getitem__(self, ref: str) -> Attachment:
        part = self.get(ref)
        if part is None:
            raise KeyError(ref)
        return part

    def __iter__(self) -> Iterator[Attachment]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    # -- the root document ----------------------------------------------

    @property
    def is_xop(self) -> bool:
        """True when the package declares XOP (``type`` or root media type)."""
        t = (self.content_type.get("type") or "").split(";")[0].strip().lower()
        return t == XOP_MEDIA_TYPE or self.root.media_type == XOP_MEDIA_TYPE

    def root_element(self) -> etree._Element:
        """The root part parsed as XML (cached).

        Raises:
            RootPartError: the root part is not a well-formed XML document.
        """
        if self._root_element is None:
            ct = self.root.parsed_content_type
            if ct.is_multipart:
                raise RootPartError(
                    f"the root part is {ct.media_type}, not an XML document; expected "
                    "application/xop+xml or a SOAP media type")
            self._root_element = parse_xml(self.root.read(), charset=ct.charset,
                                           huge_tree=self._huge_tree)
        return self._root_element

    @property
    def soap_version(self) -> SoapVersion | None:
        """The version whose envelope namespace the root element has, else ``None``.

        Only the envelope decides: a root that is not XML, or not a SOAP
        envelope, has no SOAP version whatever ``type``/``start-info`` claim
        (CXF sends ``start-info="application/soap+xml"`` with 1.1 envelopes).
        :attr:`declared_soap_version` gives the Content-Type's claim.
        """
        try:
            ns = namespace_of(self.root_element())
        except RootPartError:
            return None
        return soap_version_of_namespace(ns)

    @property
    def declared_soap_version(self) -> SoapVersion | None:
        """What the Content-Type's ``start-info``/``type`` parameters claim."""
        return soap_version_of_content_type(self.content_type)

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        for p in self.parts:
            p.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PackageReader:
    """Push bytes of a multipart/related body, get a :class:`Package`.

    Args:
        content_type: the HTTP (or outer MIME) Content-Type value.
        limits: see :class:`~mtom.Limits`.
        spool_threshold: parts larger than this many decoded bytes go to a
            temporary file (the root part always stays in memory); or a function
            of the part's :class:`~mtom.PartStart` returning that number, for a
            decision per part (e.g. keep values in memory, spool the rest).
        spool_dir: directory for those files (default: the system's).
        huge_tree: let lxml parse text nodes over 10 MB in the root (inline
            base64 in an SwA root); off by default.
        keep_attachments: ``False`` keeps only the size and SHA-256 of the
            parts other than the root (for tools that describe a message
            without storing it); reading their content then raises.
        progress: a :class:`~mtom.ProgressMeter` told about every chunk fed and
            the part it is in; it reports at a bounded rate (none: no cost).

    Use ``feed(chunk)`` for each chunk, then ``close()`` to get the package.

    Raises (from ``__init__``, ``feed`` and ``close``): :class:`NotMultipart`,
    :class:`NoBoundary`, :class:`MalformedMime`, :class:`TruncatedMessage`,
    :class:`LimitExceeded`, :class:`RootPartError`.
    """

    def __init__(self, content_type: str | bytes | ContentType, *,
                 limits: Limits = DEFAULT_LIMITS,
                 spool_threshold: int | Callable[[PartStart], int] = DEFAULT_SPOOL_THRESHOLD,
                 spool_dir: str | os.PathLike[str] | None = None,
                 huge_tree: bool = False, keep_attachments: bool = True,
                 progress: ProgressMeter | None = None):
        ct = content_type if isinstance(content_type, ContentType) else parse_content_type(
            content_type)
        self.content_type = ct
        self._reader = MultipartReader(require_multipart(ct), limits=limits)
        self.limits = limits
        start = ct.get("start")
        self._start = normalize_content_id(start) if start else None
        self._spool_threshold = spool_threshold
        self._spool_dir = spool_dir
        self._huge_tree = huge_tree
        self._keep = keep_attachments
        self._progress = progress
        self._parts: list[Attachment] = []
        self._root: Attachment | None = None
        self._current: Attachment | None = None
        self._decoder: Decoder | None = None
        self._warnings: list[str] = []
        self._done = False
        self._failed = False
        # The first bytes, kept until a part starts (≤ max_preamble_bytes + 1): a body
        # labelled multipart that holds no delimiter may be a plain XML document. Whole
        # bytes chunks are kept by reference (no copy: a part nearly always starts in
        # the first chunk, and then they are dropped).
        self._head: list[bytes] | None = []
        self._head_size = 0

    def _on_start(self, event: PartStart) -> None:
        self._head = None
        headers = event.headers
        cid = event.content_id
        root = self._root is None and (event.index == 0 if self._start is None
                                       else cid == self._start)
        raw_ct = headers.get("content-type")
        te = event.transfer_encoding
        if te not in KNOWN_ENCODINGS:
            self._warnings.append(
                f"part {event.index}: unknown Content-Transfer-Encoding {quoted(te)} kept as "
                "binary")
        att = Attachment(
            content_id=cid,
            content_type=raw_ct if raw_ct is not None else "application/octet-stream",
            headers=headers, index=event.index,
            # The root stays in memory (it is parsed); anything else may spool. A part 0
            # that later turns out to be the root by fallback is read back from disk.
            spool_threshold=(self.limits.max_root_size + 1) if root else (
                self._spool_threshold(event) if callable(self._spool_threshold)
                else self._spool_threshold),
            spool_dir=self._spool_dir,
            max_size=self.limits.max_root_size if root else self.limits.max_attachment_size,
            limit_name="max_root_size" if root else "max_attachment_size",
            keep=root or self._keep or (self._start is not None and event.index == 0),
        )
        self._parts.append(att)
        if self._progress is not None:
            self._progress.part(cid)
        if root:
            self._root = att
        self._current = att
        self._decoder = decoder_for(te, event.index)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Push the next chunk of the body (``b""`` ends the input, like :meth:`close`)."""
        if self._done:
            raise UsageError("PackageReader.feed() after close()")
        head = self._head
        if head is not None and data:
            room = self.limits.max_preamble_bytes + 1 - self._head_size
            if room > 0:
                piece = (data if isinstance(data, bytes) and len(data) <= room
                         else bytes(memoryview(data)[:room]))
                head.append(piece)
                self._head_size += len(piece)
        try:
            for event in self._reader.feed(data):
                if isinstance(event, PartData):
                    assert self._current is not None and self._decoder is not None
                    out = self._decoder.decode(event.data)
                    if out:
                        self._current.write(out)
                elif isinstance(event, PartStart):
                    self._on_start(event)
                elif isinstance(event, PartEnd):
                    assert self._current is not None and self._decoder is not None
                    tail = self._decoder.finish()
                    if tail:
                        self._current.write(tail)
                    self._current.finish()
                    self._current = None
                elif isinstance(event, MessageEnd):
                    pass
            if self._progress is not None:
                if data:
                    self._progress.advance(len(data))
                else:
                    self._progress.finish()
        except MtomError:
            self._abort()
            raise
        except BaseException:
            self._abort()
            raise

    def _plain_document(self) -> Package | None:
        """A package of one root part when the whole body is a plain XML document.

        node-soap copies the request's Content-Type onto its replies, so a SOAP
        Fault answering an MTOM request arrives labelled multipart/related with no
        delimiter in it. Reading it as the document it is loses nothing and lets
        the caller see the peer's fault.
        """
        if self._head is None or self._head_size > self.limits.max_preamble_bytes:
            return None
        head = b"".join(self._head)
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not (text.startswith(b"<?xml") or (text[:1] == b"<" and text[1:2].isalpha())):
            return None
        info = self.content_type.get("start-info") or "text/xml"
        root = Attachment.from_bytes(head, content_type=info)
        root.index = 0
        boundary = self.content_type.boundary or ""
        self._warnings.append(
            f"the body is labelled {self.content_type.media_type} but holds no "
            f"'--{quoted(boundary, quotes=False)}' delimiter; it is a plain XML document "
            f"({len(head)} bytes) and was read as one (node-soap, for one, copies the "
            "request's Content-Type onto its replies)")
        return Package(self.content_type, [root], root, self._warnings,
                       huge_tree=self._huge_tree)

    def _abort(self) -> None:
        self._failed = True
        for p in self._parts:
            p.close()

    def close(self) -> Package:
        """End the input and return the package.

        Raises:
            TruncatedMessage: the close delimiter never came.
            RootPartError: no parts, or the root part is itself multipart.
        """
        if not self._done:
            if not self._reader.complete:
                try:
                    self.feed(b"")
                except NoBoundary:
                    plain = self._plain_document()
                    if plain is None:
                        raise
                    self._done = True
                    return plain
            self._done = True
        try:
            package = self._assemble()
        except MtomError:
            self._abort()
            raise
        if self._progress is not None:
            self._progress.finish()
        return package

    def _assemble(self) -> Package:
        if not self._parts:
            raise RootPartError("the message has no parts; expected a root part with the "
                                "SOAP envelope")
        root = self._root
        if root is None:
            root = self._parts[0]
            self._warnings.append(
                f"start parameter <{quoted(self._start or '', quotes=False)}> names no part; "
                "using the first part "
                f"(Content-ID {quoted(root.content_id or '')}) as the root")
            if root.size > self.limits.max_root_size:
                raise LimitExceeded(
                    f"root part exceeds max_root_size={self.limits.max_root_size} bytes",
                    limit="max_root_size", value=self.limits.max_root_size, part=root.index)
            if not root.in_memory:  # it was spooled as an attachment: the root lives in memory
                spooled = root
                root = Attachment(content_id=spooled.content_id,
                                  content_type=spooled.content_type, headers=spooled.headers,
                                  index=spooled.index,
                                  spool_threshold=self.limits.max_root_size + 1)
                root.write(spooled.read())
                root.finish()
                spooled.close()
                self._parts[0] = root
        if root.parsed_content_type.is_multipart:
            raise RootPartError(
                f"the root part (part {root.index}) is {root.media_type}, not an XML "
                "document; the root of an MTOM/SwA message must be the SOAP envelope "
                "(application/xop+xml or text/xml)", part=root.index)
        return Package(self.content_type, self._parts, root, self._warnings,
                       huge_tree=self._huge_tree)

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None or not self._done:
            self._abort()


def read_package(body: bytes | Iterable[bytes], content_type: str | bytes | ContentType,
                 **options: object) -> Package:
    """Decode a whole body (bytes, or an iterable of byte chunks) into a :class:`Package`.

    ``options`` are those of :class:`PackageReader`.
    """
    reader = PackageReader(content_type, **options)  # type: ignore[arg-type]
    if isinstance(body, (bytes, bytearray, memoryview)):
        reader.feed(body)
    else:
        for chunk in body:
            if chunk:
                reader.feed(chunk)
    return reader.close()
