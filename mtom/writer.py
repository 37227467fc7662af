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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO, Union, cast

from .attachments import Attachment
from .errors import UsageError
from .headers import make_boundary, make_content_id, normalize_content_id, validate_boundary
from .soap import SoapVersion, multipart_content_type, root_content_type

__all__ = ["OutgoingPackage", "OutgoingPart", "PackageStream", "PartSource"]

PartSource = Union[
    bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes], Attachment, Iterable[bytes]
]
_CHUNK = 1024 * 1024
_CRLF = b"\r\n"


def _source_size(source: Any) -> int | None:
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
        known = _source_size(source)
        self.size: int | None = known if known is not None else size
        self._start: int | None = None
        if hasattr(source, "read") and not isinstance(source, Attachment):
            try:
                self._start = source.tell() if source.seekable() else None  # type: ignore[union-attr]
            except (OSError, AttributeError, ValueError):
                self._start = None

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
        for label, data in [("root", self.root)] + [
                (f"part <{p.content_id}>", p.source) for p in self.parts]:
            if not (self._scan_streams or label == "root"):
                break
            if isinstance(data, memoryview):
                data = data.tobytes()
            if isinstance(data, (bytes, bytearray)) and delim in data:
                raise UsageError(f"the {label} contains the boundary {self.boundary!r}")
        root_headers = (f"Content-Type: {self.root_content_type}\r\n"
                        "Content-Transfer-Encoding: binary\r\n"
                        f"Content-ID: <{self.root_content_id}>\r\n\r\n").encode()
        self._head = delim + _CRLF + root_headers
        self._part_heads = [_CRLF + delim + _CRLF + p.header_block() for p in self.parts]
        self._tail = _CRLF + delim + b"--" + _CRLF

    @property
    def content_length(self) -> int | None:
        """Exact body length in bytes, or ``None`` when a part's size is unknown."""
        total = len(self._head) + len(self.root) + len(self._tail)
        for head, part in zip(self._part_heads, self.parts, strict=False):
            if part.size is None:
                return None
            total += len(head) + part.size
        return total

    @property
    def headers(self) -> dict[str, str]:
        """``Content-Type`` (and ``Content-Length`` when known) for the HTTP message."""
        out = {"Content-Type": self.content_type, "MIME-Version": "1.0"}
        if self.content_length is not None:
            out["Content-Length"] = str(self.content_length)
        return out

    def __iter__(self) -> Iterator[bytes | memoryview]:
        yield self._head
        if self.root:
            yield self.root
        for head, part in zip(self._part_heads, self.parts, strict=False):
            yield head
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

    def stream(self) -> PackageStream:
        """A read-only binary file object over the body, with ``len()`` when known."""
        return PackageStream(self)


class PackageStream(io.RawIOBase):
    """File-like view of an :class:`OutgoingPackage` (``read(size)``, ``len()``)."""

    def __init__(self, package: OutgoingPackage):
        super().__init__()
        self._iter = iter(package)
        self._pending: memoryview = memoryview(b"")
        self._length = package.content_length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        """Bytes read so far (requests' ``super_len`` computes ``len - tell``)."""
        return self._pos

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("the package length is unknown (a part has no known size)")
        return self._length - self._pos

    @property
    def len(self) -> int:  # requests' super_len() looks for this attribute
        return len(self)

    def _fill(self) -> bool:
        """Make ``_pending`` non-empty; False at the end of the body (empty chunks skipped)."""
        while not self._pending:
            try:
                self._pending = memoryview(next(self._iter)).cast("B")
            except StopIteration:
                return False
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        if not out or not self._fill():
            return 0
        n = min(len(out), len(self._pending))
        out[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            rest = [bytes(self._pending), *map(bytes, self._iter)]
            self._pending = memoryview(b"")
            data = b"".join(rest)
            self._pos += len(data)
            return data
        if size == 0 or not self._fill():
            return b""
        if len(self._pending) <= size:
            chunk, self._pending = self._pending, memoryview(b"")
        else:
            chunk, self._pending = self._pending[:size], self._pending[size:]
        self._pos += len(chunk)
        return bytes(chunk)


def part_from_path(path: str | os.PathLike[str], *, content_type: str = "application/octet-stream",
                   content_id: str | None = None) -> OutgoingPart:
    """Convenience: an :class:`OutgoingPart` streaming the file at ``path``."""
    return OutgoingPart(Path(path), content_type=content_type, content_id=content_id)
