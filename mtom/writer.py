"""Writing multipart/related packages as a stream of bytes.

Strategy: an :class:`OutgoingPackage` is a recipe — framing bytes computed up
front, part contents pulled from their sources only while the package is
being iterated. Sources may be ``bytes``, a binary file object, a path, an
:class:`~mtom.attachments.Attachment`, or an iterable of byte chunks. Files
and paths are read a chunk at a time (constant memory) and never loaded
whole. When every part's size is known, :attr:`OutgoingPackage.content_length`
is the exact body length, so HTTP can send Content-Length rather than
chunked encoding.

The framing is written by hand with CRLF line ends exactly as RFC 2046
defines it; library MIME generators (``email.generator``) are avoided
because they rewrite line ends in binary content.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, Union, cast

from .attachments import Attachment
from .errors import UsageError
from .headers import make_boundary, make_content_id, normalize_content_id, validate_boundary
from .progress import ProgressMeter
from .soap import SoapVersion, multipart_content_type, root_content_type

__all__ = ["OutgoingPackage", "OutgoingPart", "PackageStream", "PartSource", "source_size"]

PartSource = Union[
    bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes], Attachment, Iterable[bytes]
]
_CHUNK = 1024 * 1024
_CRLF = b"\r\n"


def source_size(source: Any) -> int | None:
    """The size in bytes of a part source, when it can be known without reading it.

    ``bytes``-likes, attachments and paths know it; a seekable file object
    counts from its current position to its end; anything else is ``None``.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return memoryview(source).nbytes
    if isinstance(source, Attachment):
        return source.size
    if isinstance(source, (str, os.PathLike)):
        return os.stat(source).st_size
    if hasattr(source, "read"):
        try:
            if source.seekable():
                pos = source.tell()
                end = source.seek(0, io.SEEK_END)
                source.seek(pos)
                return int(end - pos)
        except (OSError, AttributeError, ValueError):
            return None
    return None


class OutgoingPart:
    """A part to be written: a source of bytes plus its MIME headers.

    Args:
        source: ``bytes``-like, a path (``str``/``PathLike``), a binary file
            object (read from its current position), an
            :class:`~mtom.attachments.Attachment`, or an iterable of chunks.
        content_id: without angle brackets; a fresh one when omitted.
        content_type: the part's Content-Type.
        headers: extra headers (e.g. Content-Disposition), written after
            the standard ones.
        size: the size in bytes when the source cannot tell (an iterable).

    A ``str`` source is a *path*: pass text as bytes.
    """

    def __init__(self, source: PartSource, *, content_id: str | None = None,
                 content_type: str = "application/octet-stream",
                 headers: Sequence[tuple[str, str]] = (), size: int | None = None):
        self.source = source
        self.content_id = normalize_content_id(content_id) if content_id else make_content_id()
        self.content_type = content_type
        self.headers = list(headers)
        known = source_size(source)
        self.size: int | None = known if known is not None else size
        self._start: int | None = None
        if hasattr(source, "read") and not isinstance(source, Attachment):
            try:
                self._start = source.tell() if source.seekable() else None  # type: ignore[union-attr]
            except (OSError, AttributeError, ValueError):
                self._start = None

    @property
    def rereadable(self) -> bool:
        """Whether the content can be produced again after it was sent once.

        ``bytes``-likes, paths and attachments can; a file object only when it
        was seekable (it is rewound to where it stood); an iterable of chunks
        or a pipe cannot.
        """
        src = self.source
        if isinstance(src, (bytes, bytearray, memoryview, str, os.PathLike, Attachment)):
            return True
        return hasattr(src, "read") and self._start is not None

    def header_block(self) -> bytes:
        lines = [f"Content-Type: {self.content_type}", "Content-Transfer-Encoding: binary",
                 f"Content-ID: <{self.content_id}>"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        for line in lines:
            if "\r" in line or "\n" in line:
                raise UsageError(f"header line {line!r} contains a line break")
        # UTF-8 (RFC 6532) so a non-ASCII Content-ID or filename survives; ASCII is unchanged.
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def iter_content(self) -> Iterator[bytes | memoryview]:
        """Yield the content; files and paths are read a chunk at a time."""
        src = self.source
        if isinstance(src, (bytes, bytearray, memoryview)):
            yield memoryview(src)
        elif isinstance(src, Attachment):
            yield from src.iter_chunks(_CHUNK)
        elif isinstance(src, (str, os.PathLike)):
            with open(src, "rb") as f:
                yield from _read_file(f)
        elif hasattr(src, "read"):
            handle = cast(IO[bytes], src)
            if self._start is not None:
                handle.seek(self._start)
            yield from _read_file(handle)
        else:
            for chunk in src:
                if chunk:
                    yield chunk

    def close(self) -> None:
        """Nothing to release for parts made from data; files stay the caller's."""


def _read_file(f: BinaryIO | IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return
        yield chunk


class OutgoingPackage:
    """An MTOM (XOP) or SwA package ready to be streamed.

    Args:
        root: the serialised root document (the SOAP envelope with
            ``xop:Include`` elements), as bytes.
        parts: the parts that follow the root.
        soap_version: ``"1.1"`` or ``"1.2"`` (or a :class:`SoapVersion`).
        action: the SOAP action; placed in the ``action`` parameter for
            SOAP 1.2 (SOAP 1.1 sends it in the SOAPAction header instead).
        xop: ``True`` for MTOM/XOP (root ``application/xop+xml``), ``False``
            for SwA (root ``text/xml``/``application/soap+xml``).
        boundary: a fixed boundary (default: random, 61 characters).
        root_content_id: the root's Content-ID (default: random).
        charset: the root's character encoding, named in its Content-Type
            (default ``"UTF-8"``); ``root`` must already be encoded in it.

    Iterate it for the body's chunks, or use :meth:`stream` for a file-like
    object with ``read(size)`` and ``len()``.

    Raises:
        UsageError: an illegal boundary, or a boundary that occurs in a
            ``bytes`` part (checked; random boundaries are 192-bit random).
    """

    def __init__(self, root: bytes, parts: Sequence[OutgoingPart] = (), *,
                 soap_version: SoapVersion | str = SoapVersion.SOAP11,
                 action: str | None = None, xop: bool = True, boundary: str | None = None,
                 root_content_id: str | None = None, charset: str = "UTF-8"):
        self.version = SoapVersion.coerce(soap_version)
        self.boundary = validate_boundary(boundary) if boundary else make_boundary()
        self.root = bytes(root)
        self.parts = list(parts)
        self.root_content_id = normalize_content_id(root_content_id or make_content_id())
        self.root_content_type = root_content_type(self.version, xop=xop, charset=charset)
        self.content_type = multipart_content_type(
            self.version, boundary=self.boundary, start=self.root_content_id, action=action,
            xop=xop)
        delim = b"--" + self.boundary.encode("ascii")
        self._delimiter = _CRLF + delim
        # A random boundary has 192 random bits: no content will contain it. A boundary
        # the caller chose might occur in the data, so every part is checked — in-memory
        # ones here, streamed ones chunk by chunk while they are written.
        self._scan_streams = boundary is not None
        if delim in self.root:
            raise UsageError(f"the root contains the boundary {self.boundary!r}")
        for p in self.parts if self._scan_streams else ():
            data = p.source
            if isinstance(data, memoryview):
                data = data.tobytes()
            if isinstance(data, (bytes, bytearray)) and delim in data:
                raise UsageError(
                    f"the part <{p.content_id}> contains the boundary {self.boundary!r}")
        root_headers = (f"Content-Type: {self.root_content_type}\r\n"
                        "Content-Transfer-Encoding: binary\r\n"
                        f"Content-ID: <{self.root_content_id}>\r\n\r\n").encode()
        self._head = delim + _CRLF + root_headers
        self._part_heads = [_CRLF + delim + _CRLF + p.header_block() for p in self.parts]
        self._tail = _CRLF + delim + b"--" + _CRLF
        # Both asked for several times per message (headers, stream, report): counted once.
        self._framing = (len(self._head) + len(self.root) + len(self._tail)
                         + sum(map(len, self._part_heads)))
        sizes = [p.size for p in self.parts]
        self._length = None if None in sizes else self._framing + sum(sizes)  # type: ignore[arg-type]

    @property
    def framing_length(self) -> int:
        """Bytes of the body that are not part content: the root and all MIME framing."""
        return self._framing

    @property
    def content_length(self) -> int | None:
        """Exact body length in bytes, or ``None`` when a part's size is unknown."""
        return self._length

    @property
    def headers(self) -> dict[str, str]:
        """``Content-Type`` (and ``Content-Length`` when known) for the HTTP message."""
        out = {"Content-Type": self.content_type, "MIME-Version": "1.0"}
        if self.content_length is not None:
            out["Content-Length"] = str(self.content_length)
        return out

    def __iter__(self) -> Iterator[bytes | memoryview]:
        return self._body()

    def _body(self, progress: ProgressMeter | None = None) -> Iterator[bytes | memoryview]:
        """The body's chunks; ``progress`` is told which part the following bytes belong to."""
        yield self._head
        if self.root:
            yield self.root
        for head, part in zip(self._part_heads, self.parts, strict=False):
            yield head
            if progress is not None:
                progress.part(part.content_id)
            written = 0
            scan = self._scan_streams and not isinstance(
                part.source, (bytes, bytearray, memoryview))
            tail = b""
            for chunk in part.iter_content():
                if not len(chunk):
                    continue
                if scan:
                    window = tail + bytes(chunk[: len(self._delimiter)])
                    if self._delimiter[2:] in window or self._delimiter[2:] in chunk:
                        raise UsageError(
                            f"part <{part.content_id}> contains the boundary "
                            f"{self.boundary!r}; use a random boundary (the default)")
                    tail = bytes(chunk[-len(self._delimiter):])
                written += len(chunk)
                yield chunk
            if part.size is not None and written != part.size:
                raise UsageError(
                    f"part <{part.content_id}> produced {written} bytes but its size was "
                    f"given as {part.size}; the source changed while being sent")
        yield self._tail

    def iter_bytes(self) -> Iterator[bytes]:
        """Like iterating, but every chunk is ``bytes`` (for APIs that insist)."""
        for chunk in self:
            yield chunk if isinstance(chunk, bytes) else bytes(chunk)

    def to_bytes(self) -> bytes:
        """The whole body in memory (for small messages and tests)."""
        return b"".join(self)

    def stream(self, on_close: Callable[[], None] | None = None, *,
               progress: ProgressMeter | None = None) -> PackageStream:
        """The body as a :class:`PackageStream` (``read``, ``len()``, chunk iteration)."""
        return PackageStream(self, on_close, progress=progress)


class PackageStream(io.RawIOBase):
    """The one file-like view of an :class:`OutgoingPackage`, for every HTTP stack.

    * ``read(size)`` / ``readinto`` / ``len()`` / ``tell()``: what requests and
      urllib3 need to stream a body with Content-Length (``len()`` is what is
      left to read; unknown length → ``TypeError``, so requests goes chunked).
    * iteration yields the body's chunks as ``bytes`` (a whole ``bytes`` part
      without a copy): what a WSGI server wants from a response body.
    * a look-back ``seek``: back to the start of the latest read, or to the
      end and back (to learn the length) — the peek-then-consume pattern of
      waitress's ``wsgi.file_wrapper``. Data before the latest read is released.
    * ``close()`` stops reading the sources and runs ``on_close`` once (also
      when an iteration ends or is abandoned).
    * ``progress``: a :class:`~mtom.ProgressMeter` told about the bytes handed
      out (by ``read`` or iteration) and the part they belong to; it reports
      at a bounded rate and once at the end of the body (when the last byte of a
      known length is read, or the end is seen); bytes re-read after a look-back
      ``seek`` count once. ``None`` (the
      default) costs nothing.
    """

    def __init__(self, package: OutgoingPackage, on_close: Callable[[], None] | None = None, *,
                 progress: ProgressMeter | None = None):
        super().__init__()
        self._iter: Iterator[bytes | memoryview] = package._body(progress)
        self._progress = progress
        self._counted = 0  # bytes already reported: a look-back re-read is not counted again
        self._exhausted = False
        self._length = package.content_length
        self._held: deque[memoryview] = deque()
        self._floor = 0  # absolute offset of the first byte held
        self._end = 0  # absolute offset just after the last byte pulled
        self._pos = 0
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._length is not None

    def tell(self) -> int:
        """Bytes read so far (requests' ``super_len`` computes ``len - tell``)."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END and self._length is None:
            raise io.UnsupportedOperation("the package length is unknown")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos,
                io.SEEK_END: self._length or 0}[whence]
        target = base + offset
        if target < self._floor:
            raise io.UnsupportedOperation("cannot seek before the start of the latest read")
        self._pos = target
        return target

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("the package length is unknown (a part has no known size)")
        return max(0, self._length - self._pos)

    @property
    def len(self) -> int:  # requests' super_len() looks for this attribute
        return len(self)

    def _pull(self) -> bool:
        """Append the next non-empty chunk to the held data; False at the end of the body."""
        for chunk in self._iter:
            view = memoryview(chunk).cast("B")
            if view.nbytes:
                self._held.append(view)
                self._end += view.nbytes
                return True
        self._exhausted = True
        return False

    def _release_before(self, pos: int) -> None:
        while self._held and self._floor + len(self._held[0]) <= pos:
            self._floor += len(self._held.popleft())
        if self._held and self._floor < pos:
            self._held[0] = self._held[0][pos - self._floor:]
            self._floor = pos
        if not self._held:
            self._floor = self._end

    def read(self, size: int | None = -1) -> bytes:
        data = self._take(size, view=False)
        return data if isinstance(data, bytes) else bytes(data)

    def read_view(self, size: int | None = -1) -> bytes | memoryview:
        """Like :meth:`read`, but a slice of one held chunk comes back as a memoryview of
        it (no copy). For servers that only send what they read (waitress's file
        wrapper reads each piece twice: to send it, then to skip what was sent)."""
        return self._take(size, view=True)

    def _take(self, size: int | None, *, view: bool) -> bytes | memoryview:
        if self.closed:
            raise ValueError("read from a closed package stream")
        self._release_before(self._pos)
        want = None if size is None or size < 0 else size
        while (want is None or self._end < self._pos + want) and self._pull():
            self._release_before(self._pos)
        start = self._pos - self._floor
        stop = None if want is None else start + want
        first = self._held[0] if self._held else None
        if first is not None and stop is not None and stop <= len(first):  # the common case
            whole = (start == 0 and stop == len(first) and isinstance(first.obj, bytes)
                     and first.nbytes == len(first.obj))
            data: bytes | memoryview = (cast(bytes, first.obj) if whole else
                                        first[start:stop] if view else bytes(first[start:stop]))
            self._pos += len(data)
            if self._progress is not None:
                self._count()
            return data
        pieces, offset = [], 0
        for piece in self._held:
            lo, hi = max(start - offset, 0), len(piece) if stop is None else min(
                stop - offset, len(piece))
            if lo < hi:
                pieces.append(piece[lo:hi])
            offset += len(piece)
            if stop is not None and offset >= stop:
                break
        if len(pieces) == 1 and isinstance(pieces[0].obj, bytes) and (
                pieces[0].nbytes == len(pieces[0].obj)):
            data = pieces[0].obj  # a whole bytes chunk: no copy
        else:
            data = b"".join(pieces)
        self._pos += len(data)
        if self._progress is not None:
            self._count()
            if self._exhausted and self._pos >= self._end:
                self._progress.finish()
        return data

    def _count(self) -> None:
        """Report the bytes read for the first time: waitress's ``wsgi.file_wrapper`` reads,
        seeks back and reads again (peek, then consume); those bytes count once."""
        if self._pos > self._counted and self._progress is not None:
            self._progress.advance(self._pos - self._counted)
            self._counted = self._pos
            if self._length is not None and self._pos >= self._length:
                self._progress.finish()  # all of a known length: a reader may stop here

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        data = self.read_view(len(out))  # copied once, into the caller's buffer
        out[:len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def __iter__(self) -> Iterator[bytes]:
        """The rest of the body as ``bytes`` chunks (no copy for whole ``bytes`` parts)."""
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        try:
            if self._end > self._pos:
                yield self.read(self._end - self._pos)
            for chunk in self._iter:
                view = memoryview(chunk).cast("B")
                if not view.nbytes:
                    continue
                self._pos = self._end = self._floor = self._end + view.nbytes
                self._held.clear()
                whole = isinstance(view.obj, bytes) and view.nbytes == len(view.obj)
                if self._progress is not None:
                    self._count()
                yield view.obj if whole else bytes(view)  # type: ignore[misc]
            if self._progress is not None:
                self._progress.finish()
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self._held.clear()
        close_iter = getattr(self._iter, "close", None)
        if close_iter is not None:
            close_iter()  # stops the package generator: open files are closed now
        done, self._on_close = self._on_close, None
        try:
            if done is not None:
                done()
        finally:
            super().close()


def part_from_path(path: str | os.PathLike[str], *, content_type: str = "application/octet-stream",
                   content_id: str | None = None) -> OutgoingPart:
    """Convenience: an :class:`OutgoingPart` streaming the file at ``path``."""
    return OutgoingPart(Path(path), content_type=content_type, content_id=content_id)
