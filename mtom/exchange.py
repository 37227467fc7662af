"""One client exchange, sans-IO: (envelope, values) → request body, reply body → (envelope, values).

Strategy: a client adapter owns the I/O (an HTTP library) and its
framework's seams; everything between is here, as objects it feeds:

* **out** — :func:`prepare_request` pairs each ``cid:`` placeholder a
  :class:`~mtom.call.ClientCall` left in the finished envelope with the
  value it stands for and hands (envelope, values) to
  :func:`mtom.build_package`, which also decodes base64 text into parts for
  elements rendered while a signature was computed, listed in
  ``optimize_elements``, or carrying ``xmime:contentType``. The HTTP headers
  follow (multipart Content-Type with ``start-info``, the SOAP 1.2
  ``action`` moved into it, Content-Length when every size is known). The
  :class:`OutgoingRequest` gives the body as ``bytes``, a
  :class:`~mtom.PackageStream` or its chunks. No part → plain SOAP.
* **in** — :class:`ReplyReader` is fed the (content-decoded) reply body
  chunk by chunk. A ``multipart/*`` body goes through the options'
  :class:`~mtom.PackageReader` (parts over ``spool_threshold`` spooled as
  they arrive); a plain body is the root and obeys ``max_root_size`` /
  ``max_total_size`` too. :meth:`ReplyReader.close` calls
  :func:`mtom.unpack` (one parse of the root, every ``xop:Include``
  resolved, no base64) and writes a token (the part's ``cid:`` URL) into
  each element whose value is a part, SwA references included: the
  framework parses that envelope, and its value seam asks
  :meth:`ClientCall.resolve` for each token. Everything about the reply
  stays reachable in an :class:`MtomReply`.
* **around** — :class:`Exchange` holds one exchange's progress meters and
  clock and makes its :class:`~mtom.WireReport`; :class:`PerCaller` and
  :class:`LastReplies` keep the last report and reply per thread / asyncio
  task, held by the client only.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lxml import etree

from .attachments import Attachment
from .errors import LimitExceeded, MtomError, UsageError
from .headers import ContentType, cid_href, parse_content_length, parse_content_type
from .options import MtomOptions
from .package import Package, PackageReader
from .progress import ProgressCallback, ProgressMeter
from .report import MessageStats, WireReport
from .soap import SoapVersion, namespace_of, soap_version_of_content_type, soap_version_of_namespace
from .values import build_package, inline_parts, unpack
from .writer import OutgoingPackage, OutgoingPart, PackageStream
from .xop import XopReference, content_type_hint, inline_base64

if TYPE_CHECKING:
    from .call import ClientCall
    from .negotiation import Mode

__all__ = ["ACCEPT", "SMALL_BODY", "Exchange", "LastReplies", "MtomReply", "OutgoingRequest",
           "PerCaller", "ReplyReader", "ReplyResult", "convert_request", "prepare_request",
           "reply_length", "soap_version_of"]

T = TypeVar("T")

#: The Accept header of an MTOM call (a user's own Accept header is kept). JAX-WS RI
#: answers a plain request with MTOM only when it names application/xop+xml.
ACCEPT = "application/xop+xml, multipart/related, text/xml, application/soap+xml"

#: A request body of at most this many bytes (with a known length) is joined and sent
#: as one ``bytes``: an HTTP library then writes it with one ``sendall`` instead of
#: reading a stream 16 KiB at a time, which costs a small call more than the copy.
SMALL_BODY = 256 * 1024


# -- out: the request ------------------------------------------------------------------------

def soap_version_of(envelope: etree._Element, content_type: str | None) -> SoapVersion:
    """The envelope's SOAP version, else the Content-Type's, else SOAP 1.1."""
    return (soap_version_of_namespace(namespace_of(envelope))
            or soap_version_of_content_type(parse_content_type(content_type or ""))
            or SoapVersion.SOAP11)


def _tostring(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


@dataclass
class OutgoingRequest:
    """The body and headers to POST."""

    headers: MutableMapping[str, str]
    envelope: bytes
    package: OutgoingPackage | None = None

    @property
    def is_mtom(self) -> bool:
        return self.package is not None

    @property
    def mode(self) -> Mode:
        """``"mtom"`` or ``"plain"`` (:mod:`mtom.negotiation`)."""
        return "mtom" if self.package is not None else "plain"

    def content(self, progress: ProgressMeter | None = None,
                ) -> bytes | PackageStream | Iterator[bytes]:
        """The body: bytes, the package's stream (``read``, ``len()``), or its chunks when
        a part's size is unknown (to be sent chunked). ``progress`` is told about the
        package's bytes as they are read."""
        if self.package is None:
            return self.envelope
        length = self.package.content_length
        if length is not None and length <= SMALL_BODY:  # one send, as for a plain request
            if progress is None:  # no meter to tell: the chunks alone, no stream object
                return self.package.to_bytes()
            return b"".join(self.package.stream(progress=progress))
        stream = self.package.stream(progress=progress)
        return stream if length is not None else iter(stream)

    def chunks(self, progress: ProgressMeter | None = None) -> Iterator[bytes]:
        """The body as chunks (file parts are read with blocking 1 MiB reads)."""
        if self.package is None:
            return iter((self.envelope,))
        return iter(self.package.stream(progress=progress))

    def describe(self) -> str:
        """``"MTOM, 2 part(s), 5000123 bytes"`` or ``"plain"``, for a log line."""
        if self.package is None:
            return "plain"
        return (f"MTOM, {len(self.package.parts)} part(s), "
                f"{self.package.content_length} bytes")


def _replace_headers(headers: MutableMapping[str, str], drop: tuple[str, ...],
                     new: dict[str, str]) -> None:
    """Remove every spelling of the ``drop`` names and of ``new``'s names, then add ``new``
    (one pass over ``headers``)."""
    names = {n.lower() for n in drop} | {n.lower() for n in new}
    for key in [k for k in headers if k.lower() in names]:
        del headers[key]
    headers.update(new)


def _values(envelope: etree._Element, call: ClientCall) -> dict[etree._Element, OutgoingPart]:
    """Each placeholder element and the value it stands for (each taken once)."""
    return {el: part for el in envelope.iter()
            if isinstance(el.tag, str) and not len(el) and (el.text or "")[:4] == "cid:"
            and (part := call.pending.pop(el.text or "", None)) is not None}


def prepare_request(envelope: etree._Element, headers: MutableMapping[str, str],
                    call: ClientCall | None, options: MtomOptions, *,
                    force_mtom: bool = False) -> OutgoingRequest:
    """Turn a framework's finished envelope and headers into what goes on the wire.

    ``headers`` is updated in place (so a framework's history shows what was
    sent) and so is the envelope (it shows the ``xop:Include`` elements).
    Without a ``call`` (no value seam ran) MTOM follows ``options.mtom``.

    ``force_mtom`` (a server that requires MTOM): an MTOM package even for
    a request whose values stay inline or that has none (then the root is
    its only part); base64 text recorded in ``call.typed`` becomes parts.

    Raises:
        mtom.InvalidInclude: an element chosen for optimisation holds no base64.
        mtom.UsageError: a part whose source cannot be sent.
    """
    optimise = force_mtom or (call.optimise if call is not None else options.mtom is True)
    package = None
    if force_mtom and options.mtom is False:
        options = dataclasses.replace(options, mtom=True)
    if optimise:
        if not any(k.lower() == "accept" for k in headers):
            headers["Accept"] = ACCEPT
        given = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        version = soap_version_of(envelope, given)
        action = None
        if version is SoapVersion.SOAP12 and given:
            action = parse_content_type(given).get("action")
        typed = set(call.typed) if call is not None else set()
        package = build_package(
            envelope, _values(envelope, call) if call is not None and call.pending else {},
            options, soap_version=version, action=action,
            select=lambda el: (el in typed or el.tag in options.optimize_elements
                               or content_type_hint(el) is not None))
        if package is None and force_mtom:
            package = OutgoingPackage(_tostring(envelope), [], soap_version=version,
                                      action=action)
    if package is None:
        return OutgoingRequest(headers, _tostring(envelope))
    _replace_headers(headers, ("Content-Length", "Transfer-Encoding"), package.headers)
    return OutgoingRequest(headers, package.root, package)


def convert_request(mode: Mode, envelope: etree._Element, headers: Mapping[str, str],
                    request: OutgoingRequest, call: ClientCall | None, options: MtomOptions, *,
                    again: bool) -> OutgoingRequest:
    """The same request in the other format, for a resend (:mod:`mtom.negotiation`).

    ``headers`` are the framework's own, as :func:`prepare_request` got them
    (a copy is used). ``"mtom"``: :func:`prepare_request` with MTOM forced;
    ``"plain"``: each part goes back into its element as base64 text
    (:func:`mtom.inline_parts`; ``again``: the parts were sent once already).

    Raises:
        mtom.UsageError: a part's source cannot be read a second time.
    """
    if mode == "mtom":
        return prepare_request(envelope, dict(headers), call, options, force_mtom=True)
    if request.package is not None:
        inline_parts(envelope, request.package.parts, again=again)
    return OutgoingRequest(dict(headers), _tostring(envelope))


# -- in: the reply ---------------------------------------------------------------------------

@dataclass
class MtomReply:
    """One HTTP reply as the client received it.

    Attributes:
        status_code: the HTTP status.
        content_type: the HTTP Content-Type, parsed.
        package: the decoded multipart package, or ``None`` for a plain reply.
        references: resolved ``xop:Include`` elements (elements of the
            reader's parse of the root: the tree the framework reads too when it
            takes :attr:`ReplyResult.root`; else a copy of it).
        swa: SwA references (``href="cid:…"`` attributes, swaRef values).
        unreferenced: parts no reference names.
        warnings: deviations the reader tolerated.

    Parts whose value was returned as ``bytes`` are closed when the call
    ends; the others (SwA, unreferenced) stay readable until :meth:`close`
    or until this object is garbage-collected. Attachments returned as
    values in ``stream_attachments`` mode belong to the caller and are not
    closed by :meth:`close`.
    """

    status_code: int
    content_type: ContentType
    package: Package | None = None
    references: list[XopReference] = field(default_factory=list)
    swa: list[XopReference] = field(default_factory=list)
    unreferenced: list[Attachment] = field(default_factory=list)
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
    def attachments(self) -> list[Attachment]:
        """Every part except the root, in message order (empty for a plain reply)."""
        return list(self.package.attachments) if self.package is not None else []

    def get(self, ref: str) -> Attachment | None:
        """The part named by a Content-ID (with or without ``<>``) or a ``cid:`` URL."""
        return self.package.get(ref) if self.package is not None else None

    def hand_out(self, att: Attachment) -> None:
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
    """The SOAP envelope for the framework to parse (tokens where parts were)."""
    content_type: str | None
    """The Content-Type to show the framework (never multipart)."""
    reply: MtomReply
    values: dict[str, Attachment]
    """Token text → part, for :meth:`ClientCall.accept_reply`."""
    root: etree._Element | None = None
    """The parsed envelope ``content`` serialises, comments removed (a multipart reply):
    a framework may take it instead of parsing ``content``. ``None`` for a plain reply
    (not parsed here) and with ``inline_values`` (a signature check runs on a fresh
    parse of ``content``)."""

    def describe(self) -> str:
        """``"multipart/related, 2 part(s)"``, for a log line."""
        reply = self.reply
        return f"{reply.content_type.media_type}, {len(reply.attachments)} part(s)"


class ReplyReader:
    """Push the body of one HTTP reply; get what the framework should parse.

    Args:
        status_code: the HTTP status.
        content_type: the HTTP Content-Type header (``None`` if absent).
        options: the client's options (limits, spooling; with
            ``stream_attachments=False`` parts are not spooled, as every value
            ends as ``bytes`` in memory anyway).
        huge_tree: allow huge text nodes in the root (only inline base64 needs it).
        inline_values: write each resolved part back into the envelope as
            base64 text (the XOP infoset) instead of a token — for a client
            that verifies an XML signature over the reply. Costs a base64
            encode here and a decode in the framework.
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

    def __init__(self, status_code: int, content_type: str | None, options: MtomOptions, *,
                 huge_tree: bool = False, inline_values: bool = False,
                 progress: ProgressMeter | None = None):
        self.status_code = status_code
        self.received = 0
        self._progress = progress
        self._inline = inline_values
        self.raw_content_type = content_type
        self.content_type = parse_content_type(content_type or "")
        self._options = options
        self._huge_tree = huge_tree
        self._chunks: list[bytes] = []
        self._size = 0
        self._done = False
        spool = None if options.stream_attachments else options.limits.max_attachment_size + 1
        self._reader: PackageReader | None = None
        self._refused: MtomError | None = None
        if self.content_type.is_multipart or self.content_type.media_type == "application/dime":
            try:  # DIME is refused by the core (DimeNotSupported), raised at the first feed
                self._reader = options.reader(self.content_type, spool_threshold=spool,
                                              progress=progress)
            except MtomError as exc:
                self._refused = exc

    def feed(self, chunk: bytes) -> None:
        """Push the next chunk of the (content-decoded) body."""
        if self._done:
            raise UsageError("ReplyReader.feed() after close() or abort()")
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
            raise LimitExceeded(
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
        """End of body: decode the package and prepare the envelope for the framework."""
        if self._done:
            raise UsageError("ReplyReader.close() after close() or abort()")
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

    def _resolve(self, package: Package) -> ReplyResult:
        huge = self._huge_tree or self._options.huge_tree
        root, xop = unpack(package, self._options, parser_options={"huge_tree": huge})
        values: dict[str, Attachment] = {}
        if self._inline:
            inline_base64(xop.references)
        else:
            for ref in xop.references:
                token = cid_href(ref.attachment.content_id or "")
                ref.element.text = token
                values[token] = ref.attachment
        for ref in xop.swa:
            if ref.kind == "swa-ref" and ref.element.text:
                values[ref.element.text] = ref.attachment
            elif _empty(ref.element) and ref.attachment.content_id:
                # href="cid:…" on an empty element (Axis 1, rpc/encoded SwA): the part is
                # the element's value, so the element gets the token the client turns into it.
                token = cid_href(ref.attachment.content_id)
                ref.element.text = token
                values[token] = ref.attachment
        version = soap_version_of_namespace(namespace_of(root)) or SoapVersion.SOAP11
        reply = MtomReply(self.status_code, self.content_type, package, xop.references,
                          xop.swa, xop.unreferenced, list(package.warnings))
        if self._inline:  # a signature check parses the bytes: they keep every comment
            return ReplyResult(_tostring(root), f"{version.media_type}; charset=utf-8",
                               reply, values)
        # The tree as Zeep's parser leaves a document: without comments (removed only
        # now, so the XOP checks saw the document as sent).
        etree.strip_tags(root, etree.Comment)
        return ReplyResult(_tostring(root), f"{version.media_type}; charset=utf-8", reply,
                           values, root)


def _empty(element: etree._Element) -> bool:
    return not len(element) and not (element.text or "").strip()


# -- around: meters, the report, what a client keeps --------------------------------------------

def _ignore(event: object) -> None:
    """A meter that only counts (a request body of unknown length, for the report)."""


def reply_length(headers: Mapping[str, str]) -> int | None:
    """The reply body's length as the client will count it: Content-Length, unless a
    Content-Encoding (gzip…) makes the decoded body another size."""
    if headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
        return None
    return parse_content_length(headers.get("Content-Length"))


class Exchange:
    """Progress meters, reply reader and wire report of one request/reply exchange.

    Args:
        request: what :func:`prepare_request` made of the request.
        progress: the client's ``progress`` callback, or ``None`` (then the
            meters cost nothing: there are none, except one that counts a
            request body of unknown length for the report).
    """

    def __init__(self, request: OutgoingRequest, progress: ProgressCallback | None):
        self.started = time.monotonic()
        self.request = request
        self._progress = progress
        package = request.package
        self._total = package.content_length if package is not None else len(request.envelope)
        self.send_meter: ProgressMeter | None = None
        if progress is not None:
            self.send_meter = ProgressMeter(progress, "send", self._total)
        elif self._total is None:  # chunked: count what is sent, nothing else
            self.send_meter = ProgressMeter(_ignore, "send", None, step=1 << 62)

    def body(self) -> bytes | PackageStream | Iterator[bytes]:
        """The request body (:meth:`OutgoingRequest.content`), counted by the send meter."""
        return self.request.content(self.send_meter)

    def chunks(self) -> Iterator[bytes]:
        """The request body as chunks (:meth:`OutgoingRequest.chunks`), counted."""
        return self.request.chunks(self.send_meter)

    def request_sent(self) -> None:
        """The request went out (for a plain body, which has no stream to count it)."""
        meter = self.send_meter
        if meter is not None and self.request.package is None and meter.done == 0:
            meter.advance(len(self.request.envelope))
            meter.finish()

    def reader(self, status: int, headers: Mapping[str, str], options: MtomOptions,
               call: ClientCall | None) -> ReplyReader:
        """The :class:`ReplyReader` for the reply (status and headers received)."""
        meter = None
        if self._progress is not None:
            meter = ProgressMeter(self._progress, "receive", reply_length(headers))
        return ReplyReader(status, headers.get("Content-Type"), options,
                           huge_tree=call.huge_tree if call is not None else False,
                           inline_values=call.inline_replies if call is not None else False,
                           progress=meter)

    def finish(self, reader: ReplyReader, result: ReplyResult,
               call: ClientCall | None) -> WireReport:
        """The reply was read: hand its values to ``call``; the exchange's report."""
        if call is not None:
            call.accept_reply(result.reply, result.values,
                              None if result.root is None else (result.content, result.root))
        sent_bytes = self._total
        if sent_bytes is None:
            sent_bytes = self.send_meter.done if self.send_meter is not None else 0
        return WireReport(
            sent=MessageStats.outgoing(self.request.package, sent_bytes),
            received=MessageStats.incoming(result.reply.package, reader.received),
            seconds=time.monotonic() - self.started)


class PerCaller(Generic[T]):
    """One value per thread and per asyncio task (a task's value goes with the task)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @staticmethod
    def _task() -> Any:
        """The running asyncio task, else ``None`` (without raising: this is per call)."""
        asyncio = sys.modules.get("asyncio")  # not imported: no task can be running
        if asyncio is None:
            return None
        loop = asyncio._get_running_loop()
        return asyncio.current_task(loop) if loop is not None else None

    def get(self) -> T | None:
        task, local = self._task(), self._local
        if task is None:
            return getattr(local, "value", None)
        tasks = getattr(local, "tasks", None)
        return None if tasks is None else tasks.get(task)

    def set(self, value: T | None) -> None:
        task, local = self._task(), self._local
        if task is None:
            local.value = value
            return
        tasks = getattr(local, "tasks", None)
        if tasks is None:
            tasks = local.tasks = weakref.WeakKeyDictionary()
        if value is None:
            tasks.pop(task, None)
        else:
            tasks[task] = value

    def clear(self) -> None:
        """Forget every thread's and task's value."""
        self._local = threading.local()


class LastReplies:
    """``last_reply`` per thread and asyncio task, held by the client only.

    A thread's replies go with the thread (``threading.local``), a task's with
    the task (weak keys), all of them with the client; ``close`` closes them.
    """

    def __init__(self) -> None:
        self._current: PerCaller[MtomReply] = PerCaller()
        self._all: weakref.WeakValueDictionary[int, MtomReply] = weakref.WeakValueDictionary()

    def get(self) -> MtomReply | None:
        return self._current.get()

    def set(self, reply: MtomReply) -> None:
        self._current.set(reply)
        self._all[id(reply)] = reply

    def close(self) -> None:
        for reply in list(self._all.values()):
            reply.close()
        self._all.clear()
        self._current.clear()
