"""What an MTOM server decides about one call, whatever its framework (sans-IO).

Strategy: a server adapter owns only its framework's seams (how the request
body is iterated, how values reach the service, how the reply body is
handed back); the decisions in between are made here, once:

* **in**: :meth:`ServerCall.read_request` turns the request body (an
  iterable of ``bytes`` chunks) and its Content-Type into the parsed
  envelope, and keeps the package (``None`` for plain SOAP), every resolved
  ``xop:Include``/SwA reference and the wire statistics. A ``multipart/*``
  body is pushed through the options' :class:`~mtom.PackageReader` (parts
  past the spool threshold go to temporary files as they arrive), then
  :func:`mtom.unpack` parses the root once; a plain body is parsed the same
  way and may hold no ``xop:Include``.
* **out**: :func:`reply_mtom` says whether the reply may be MTOM
  (``mode``: ``"auto"`` — JAX-WS RI's rule: only when the request was MTOM
  or its ``Accept`` lists ``application/xop+xml`` —, ``"always"`` or
  ``"never"``).
* **the call**: a :class:`ServerCall` holds what the request owns (package,
  open handles) and its :class:`~mtom.WireReport`; :meth:`ServerCall.finish`
  releases everything and logs the report once, and
  :meth:`ServerCall.reply_stream` streams an MTOM reply that does so when
  its last byte is out (or the server stops early).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from lxml import etree

from .errors import MalformedXop, UnsupportedMediaType, quoted
from .headers import ContentType, parse_content_length, parse_content_type
from .options import MtomOptions
from .package import Package
from .progress import Progress, ProgressCallback, ProgressMeter
from .report import MessageStats, WireReport
from .soap import XML_SOAP_NS, SoapVersion
from .values import build_package, unpack
from .writer import OutgoingPackage, OutgoingPart, PackageStream
from .xop import XOP_INCLUDE, XopReference

__all__ = ["MTOM_MEDIA_TYPE", "REPLY_MODES", "ServerCall", "ServerOptions", "ViewFile",
           "is_package", "reply_mtom", "status_line"]

#: What a server that requires MTOM asks a plain request to be sent as.
MTOM_MEDIA_TYPE = 'multipart/related; type="application/xop+xml"'
#: The values of a server's ``mtom_reply`` option (see :func:`reply_mtom`).
REPLY_MODES = ("auto", "always", "never")
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@dataclass(frozen=True)
class ServerOptions:
    """What a server does beyond :class:`~mtom.MtomOptions`, validated once.

    Attributes:
        mtom_reply: when a reply may be MTOM (:func:`reply_mtom`): ``"auto"``
            (default), ``"always"`` or ``"never"``.
        require_mtom: refuse a request that is not a package (HTTP 415).
        progress: a callable given :class:`~mtom.Progress` events for each
            request and MTOM reply body (``None``: no meter at all).

    Raises:
        ValueError: an option out of range, naming it and what it accepts.
    """

    mtom_reply: str = "auto"
    require_mtom: bool = False
    progress: ProgressCallback | None = None

    def __post_init__(self) -> None:
        if self.mtom_reply not in REPLY_MODES:
            raise ValueError("mtom_reply must be 'auto', 'always' or 'never', "
                             f"got {self.mtom_reply!r}")
        if not isinstance(self.require_mtom, bool):
            raise ValueError(f"require_mtom must be True or False, got {self.require_mtom!r}")
        if self.progress is not None and not callable(self.progress):
            raise ValueError("progress must be a callable taking mtom.Progress, "
                             f"got {self.progress!r}")


def status_line(code: int) -> str:
    """The HTTP status line of ``code`` for a server (``"400 Bad Request"``)."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


def reply_mtom(mode: str, *, mtom: bool | None, request_mtom: bool,
               accept: str | None) -> bool:
    """Whether a reply may be MTOM.

    ``mode`` is ``"never"`` (or ``mtom`` is ``False``): no; ``"always"``: yes;
    ``"auto"``: when the request was MTOM (``request_mtom``) or its ``Accept``
    header lists ``application/xop+xml``.
    """
    if mtom is False or mode == "never":
        return False
    if mode == "always" or request_mtom:
        return True
    return "application/xop+xml" in (accept or "").lower()


def is_package(content_type: ContentType | None) -> bool:
    """Whether a request with this Content-Type is a package (``multipart/*``; DIME, refused
    by the reader with its own error) rather than plain SOAP."""
    return content_type is not None and (
        content_type.is_multipart or content_type.media_type == "application/dime")


def _join(chunks: Iterable[bytes], meter: ProgressMeter | None) -> bytes:
    if meter is None:
        return b"".join(chunks)
    out = []
    for chunk in chunks:
        out.append(chunk)
        meter.advance(len(chunk))
    meter.finish()
    return b"".join(out)


def _drop_apache_types(references: Iterable[XopReference]) -> None:
    """Remove ``xsi:type="ns:DataHandler"`` (any type of the ``xml-soap`` namespace)."""
    for ref in references:
        el = ref.element
        value = el.get(_XSI_TYPE)
        if value is None:
            continue
        prefix = value.partition(":")[0] if ":" in value else None
        if el.nsmap.get(prefix) == XML_SOAP_NS:
            del el.attrib[_XSI_TYPE]


class ServerCall:
    """One call on a server: what its request owns, and its wire report.

    Args:
        logger: where :meth:`report` logs the :class:`~mtom.WireReport` summary
            (one INFO line, never any content).

    Attributes:
        content_type: the request's Content-Type (``None``: none, or not read yet).
        package: the request's package (``None``: plain SOAP, or not read yet).
        references: element → its :class:`~mtom.XopReference` (request values).
        handles: more objects to close with the call (handles given to the service).
        received: the request's :class:`~mtom.MessageStats` (``None``: not read).
        sent: the reply's (``None``: not sent yet).
        streaming: an MTOM reply streams: it releases the call when it is over.
    """

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.content_type: ContentType | None = None
        self.package: Package | None = None
        self.references: dict[etree._Element, XopReference] = {}
        self.handles: list[Any] = []
        self.received: MessageStats | None = None
        self.sent: MessageStats | None = None
        self.streaming = False
        self._started = time.perf_counter()
        self._closed = self._reported = False

    def read_request(self, chunks: Iterable[bytes], content_type: ContentType | str | None,
                     options: MtomOptions, *, parser_options: dict[str, Any] | None = None,
                     spool_threshold: int | None = None, charset: str | None = None,
                     require_mtom: bool = False, progress: ProgressCallback | None = None,
                     content_length: int | str | None = None) -> etree._Element:
        """Read the request body, a package (:func:`is_package`) or plain SOAP: its envelope.

        ``content_type`` is the request's header (its text or parsed), kept
        parsed as :attr:`content_type`. The package, the references and the
        statistics are kept (the package is closed with the call; after an
        error, the call is closed at once). ``parser_options`` (lxml's, e.g.
        the framework's) apply to the root part or plain envelope, with the
        core's safety options on top; ``charset`` is a plain body's (a
        package's root part names its own). ``require_mtom``
        (:attr:`ServerOptions.require_mtom`): a body that is not a package is
        refused before it is read. ``progress`` gets ``"receive"`` events
        (``content_length``: the total when known, a number or the header's
        text). Apache Axis's ``xsi:type`` of the ``xml-soap`` namespace is
        removed from SwA reference elements: the attachment is the value, and
        the service's own schema type applies.

        Raises:
            MtomError: the package is malformed or over a limit
                (:class:`~mtom.RootPartError`: the envelope is not well-formed
                XML, for a plain body too; :class:`~mtom.MalformedXop`: a plain
                body holds an ``xop:Include``; :class:`~mtom.UnsupportedMediaType`:
                ``require_mtom`` and the body is not a package).
        """
        try:
            if isinstance(content_type, str):
                content_type = parse_content_type(content_type) if content_type.strip() else None
            ct = self.content_type = content_type
            if require_mtom and not is_package(ct):
                raise UnsupportedMediaType(
                    f"this service requires MTOM: send {MTOM_MEDIA_TYPE} (got "
                    f"{quoted(ct.media_type) if ct is not None else 'no Content-Type'})")
            if isinstance(content_length, str):
                content_length = parse_content_length(content_length)
            return self._read(chunks, ct, options, parser_options, spool_threshold,
                              charset, None if progress is None else ProgressMeter(
                                  progress, "receive", content_length))
        except BaseException:
            self.close()
            raise

    def _read(self, chunks: Iterable[bytes], content_type: ContentType | None,
              options: MtomOptions, parser_options: dict[str, Any] | None,
              spool_threshold: int | None, charset: str | None,
              meter: ProgressMeter | None) -> etree._Element:
        if content_type is None or not is_package(content_type):
            data = _join(chunks, meter)
            self.received = MessageStats.plain(len(data))
            root = options.parse(data, charset=charset, what="request",
                                 parser_options=parser_options)
            if next(root.iter(XOP_INCLUDE), None) is not None:
                raise MalformedXop(
                    "the request contains an xop:Include but is not a multipart/related "
                    "MTOM package; send it as MTOM or inline the value as base64")
            return root
        size = 0
        with options.reader(content_type, spool_threshold=spool_threshold,
                            progress=meter) as reader:
            for chunk in chunks:
                if chunk:
                    size += len(chunk)
                    reader.feed(chunk)
            self.package = reader.close()
        self.received = MessageStats.incoming(self.package, size)
        root, result = unpack(self.package, options, parser_options=parser_options)
        _drop_apache_types(result.swa)
        self.references = {ref.element: ref for ref in result.references + result.swa}
        return root

    def reference(self, element: object) -> XopReference | None:
        """The attachment reference whose value ``element`` is, if any."""
        if not self.references or not isinstance(element, etree._Element):
            return None
        return self.references.get(element)

    def close(self) -> None:
        """Release the request's temporary files and handles (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for handle in self.handles:
            handle.close()
        self.handles = []
        if self.package is not None:
            self.package.close()

    def finish(self) -> None:
        """The call is over: :meth:`close`, then :meth:`report` (once)."""
        self.close()
        self.report()

    def report(self) -> None:
        """Log the :class:`~mtom.WireReport` (once): as soon as the last byte of the reply is
        out, before the server sends it, so a client's next call is logged after this one."""
        if not self._reported:
            self._reported = True
            if self.logger.isEnabledFor(logging.INFO):
                report = WireReport(self.sent or MessageStats.plain(0), self.received,
                                    time.perf_counter() - self._started)
                self.logger.info("%s", report.summary())

    def reply_package(self, envelope: etree._Element,
                      values: Mapping[etree._Element, OutgoingPart], options: MtomOptions, *,
                      mode: str, accept: str | None, soap_version: SoapVersion | str,
                      charset: str = "UTF-8") -> OutgoingPackage | None:
        """The reply as a package (:func:`mtom.build_package`), when it may be MTOM
        (:func:`reply_mtom`: ``mode``, the request as received, its ``Accept`` header) and a
        value became a part; else ``None``, every value written as base64 text."""
        mtom = reply_mtom(mode, mtom=options.mtom, accept=accept,
                          request_mtom=self.received is not None and self.received.mtom)
        return build_package(envelope, values, options if mtom else replace(options, mtom=False),
                             soap_version=soap_version, charset=charset)

    def reply_stream(self, package: OutgoingPackage,
                     progress: ProgressCallback | None = None) -> PackageStream:
        """The MTOM reply body: reports when its last byte is out, and :meth:`finish` ends the
        call when it is closed (maybe early; the reply may stream from a request part).

        ``progress`` gets ``"send"`` events.
        """
        self.streaming = True

        def on_progress(event: Progress) -> None:
            if progress is not None:
                progress(event)
            if event.finished:
                self.sent = MessageStats.outgoing(package, event.done)
                self.report()

        def on_close() -> None:
            if self.sent is None:
                self.sent = MessageStats.outgoing(package, body.tell())
            self.finish()

        meter = ProgressMeter(on_progress, "send", package.content_length,
                              step=None if progress is not None else 1 << 62)
        body = package.stream(on_close=on_close, progress=meter)
        return body


class ViewFile:
    """A file over a :class:`~mtom.PackageStream` whose reads are memoryviews
    (:meth:`~mtom.PackageStream.read_view`), for a server that only sends what it
    reads (waitress's ``wsgi.file_wrapper`` reads a block, sends what the socket
    takes, then reads that much again to skip it: views instead of copies)."""

    def __init__(self, stream: PackageStream):
        self.read = stream.read_view
        self.seek = stream.seek
        self.tell = stream.tell
        self.seekable = stream.seekable
        self.close = stream.close
