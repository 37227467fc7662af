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

from collections.abc import Callable, Iterator
from typing import Any

from mtom import OutgoingPackage

__all__ = ["LengthKeepingHeaders", "PackageBody", "set_package_headers"]


class PackageBody:
    """Iterable response body over an :class:`mtom.OutgoingPackage`."""

    def __init__(self, package: OutgoingPackage, on_done: Callable[[], None] | None = None):
        self.package = package
        self._on_done = on_done

    def __iter__(self) -> Iterator[bytes]:
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
