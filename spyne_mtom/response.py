"""The body of an MTOM response as Spyne's WSGI server hands it out.

Strategy: ``ctx.out_string`` becomes a :class:`PackageBody` — an iterable
over the :class:`mtom.OutgoingPackage` that yields ``bytes`` (WSGI servers
want ``bytes``; in-memory parts are handed out without a copy) and, once the
last chunk is out, runs a clean-up callback (closing the request's spooled
attachments, which an echo streams from).

Content-Length: Spyne's ``WsgiApplication`` (``chunked=True``, its default)
deletes any ``Content-Length`` header and recomputes one only when
``len(out_string)`` works, by iterating ``out_string`` — which would read
every file part twice. So :class:`PackageBody` has no ``len()``, and the
exact length the package knows up front is set in a header mapping that
keeps ``Content-Length`` when Spyne deletes it (:class:`LengthKeepingHeaders`).
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from mtom import OutgoingPackage

__all__ = ["BODY_ENVIRON_KEY", "LengthKeepingHeaders", "PackageBody", "PackageFile",
           "set_package_headers"]

#: WSGI environ key under which the protocol leaves the response body for
#: :class:`~spyne_mtom.server.MtomWsgiApplication`.
BODY_ENVIRON_KEY = "spyne_mtom.body"


class PackageBody:
    """Iterable response body over an :class:`mtom.OutgoingPackage`."""

    def __init__(self, package: OutgoingPackage, on_done: Callable[[], None] | None = None):
        self.package = package
        self._on_done = on_done
        self.started = False

    def __iter__(self) -> Iterator[bytes]:
        self.started = True
        try:
            for chunk in self.package:
                if isinstance(chunk, bytes):
                    yield chunk
                elif (isinstance(chunk, memoryview) and isinstance(chunk.obj, bytes)
                      and chunk.nbytes == len(chunk.obj) and chunk.contiguous):
                    yield chunk.obj
                else:
                    yield bytes(chunk)
        finally:
            done, self._on_done = self._on_done, None
            if done is not None:
                done()


class LengthKeepingHeaders(dict):  # type: ignore[type-arg]
    """Response headers whose ``Content-Length`` survives Spyne's ``chunked`` clean-up."""

    def __delitem__(self, key: str) -> None:
        if key.lower() == "content-length":
            return
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key.lower() == "content-length":
            return self.get(key, *default)
        return super().pop(key, *default)


def set_package_headers(transport: Any, package: OutgoingPackage) -> None:
    """Put the package's Content-Type (and Content-Length when known) on the response."""
    headers = getattr(transport, "resp_headers", None)
    if headers is None:
        return
    if not isinstance(headers, LengthKeepingHeaders):
        headers = LengthKeepingHeaders(headers)
        transport.resp_headers = headers
    headers["Content-Type"] = package.content_type
    headers["MIME-Version"] = "1.0"
    length = package.content_length
    if length is not None:
        dict.__setitem__(headers, "Content-Length", str(length))
    elif "Content-Length" in headers:
        dict.__delitem__(headers, "Content-Length")


class PackageFile(io.RawIOBase):
    """The body as a file for ``wsgi.file_wrapper``, so a server can send it directly.

    waitress sends a ``wsgi.file_wrapper`` from its I/O loop, *peeking* each
    block (``tell``, ``read``, ``seek`` back) before consuming it; any other
    iterable response is first copied into its output buffer, which spills
    to a temporary file past 1 MiB. This object is forward-only with a
    look-back window: data before the start of the latest read is released,
    and ``seek`` may go back to that start, or to the end and back (to learn
    the length) — exactly what that pattern needs.
    """

    def __init__(self, body: PackageBody, length: int):
        super().__init__()
        self._iter: Iterator[bytes] = iter(body)
        self._length = length
        self._chunks: deque[bytes | memoryview] = deque()
        self._floor = 0  # absolute offset of the first byte held
        self._held = 0
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        target = base + offset
        if target < self._floor:
            raise io.UnsupportedOperation("cannot seek before the latest read")
        self._pos = target
        return target

    def _release_before(self, pos: int) -> None:
        while self._chunks and self._floor + len(self._chunks[0]) <= pos:
            self._held -= len(self._chunks[0])
            self._floor += len(self._chunks.popleft())
        if self._chunks and self._floor < pos:
            cut = pos - self._floor
            first = memoryview(self._chunks[0])[cut:]
            self._chunks[0] = first
            self._held -= cut
            self._floor = pos

    def read(self, size: int | None = -1) -> bytes:
        if self._pos >= self._length:
            return b""
        if size is None or size < 0:
            size = self._length - self._pos
        self._release_before(self._pos)
        while self._held < size:
            chunk = next(self._iter, None)
            if chunk is None:
                break
            self._chunks.append(chunk)
            self._held += len(chunk)
        return self._take(size)

    def _take(self, size: int) -> bytes:
        if not self._chunks:
            return b""
        first = self._chunks[0]
        if len(first) >= size:
            out = first if isinstance(first, bytes) and len(first) == size else bytes(
                memoryview(first)[:size])
        else:
            parts: list[bytes | memoryview] = []
            need = size
            for chunk in self._chunks:
                piece = chunk[:need] if len(chunk) > need else chunk
                parts.append(piece)
                need -= len(piece)
                if need <= 0:
                    break
            out = b"".join(parts)
        self._pos += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._chunks.clear()
            close = getattr(self._iter, "close", None)
            if close is not None:
                close()  # runs PackageBody's clean-up if the body was not finished
        super().close()
