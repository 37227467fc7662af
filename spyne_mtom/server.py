"""Serving an MTOM application with Spyne's ``WsgiApplication``.

Spyne's ``WsgiApplication`` refuses request bodies over ``max_content_length``
— **2 MiB by default** (``spyne/server/wsgi.py``) — with a
``Client.RequestTooLong`` fault. MTOM exists to carry large binaries, so an
MTOM endpoint needs a higher cap; the reader still streams (parts past the
spool threshold go to temporary files), so the cap bounds disk use and
transfer time, not memory. ``block_length`` is the size of each read from
``wsgi.input`` (Spyne's default, 8 KiB, costs many small reads on a large
upload).

Keep Spyne's default ``chunked=True``: ``chunked=False`` goes through Spyne's
own MTOM code, which fails (see ``../shared/FACTS.md``).

Production servers have their own body cap too: waitress
``max_request_body_size`` (default 1 GiB), gunicorn has none, nginx
``client_max_body_size`` (default 1 MiB).

The MTOM response body is the core's :class:`mtom.PackageStream`: Spyne's
server iterates it (``bytes`` chunks; when the last one is out, or the server
stops early, the request's attachments are released — an echo streams from
them). Content-Length: Spyne's ``WsgiApplication`` (``chunked=True``)
deletes any ``Content-Length`` header and recomputes one only when
``len(out_string)`` works, by iterating ``out_string`` — which would read
every file part twice. So the exact length the package knows up front is set
in a header mapping that keeps ``Content-Length`` when Spyne deletes it
(:class:`LengthKeepingHeaders`).
"""

from __future__ import annotations

from typing import Any

from spyne.server.wsgi import WsgiApplication

from mtom import OutgoingPackage, PackageStream, check_size

__all__ = ["BODY_ENVIRON_KEY", "DEFAULT_BLOCK_LENGTH", "DEFAULT_MAX_CONTENT_LENGTH",
           "SPYNE_MAX_CONTENT_LENGTH", "LengthKeepingHeaders", "MtomWsgiApplication",
           "set_package_headers", "wsgi_application"]

#: WSGI environ key under which the protocol leaves the response body for
#: :class:`MtomWsgiApplication`.
BODY_ENVIRON_KEY = "spyne_mtom.body"

#: Spyne's own default request cap (bytes).
SPYNE_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
#: Default cap for MTOM endpoints built with :func:`wsgi_application`: 1 GiB.
DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024 * 1024
#: Bytes per read from ``wsgi.input`` (Spyne reads 8 KiB at a time by default).
DEFAULT_BLOCK_LENGTH = 256 * 1024


#: MTOM response bodies up to this many bytes are returned as one ``bytes`` item, not
#: through ``wsgi.file_wrapper``: for a small body the server's file path (waitress hands
#: it to its I/O thread) costs more CPU than the copy (issue 13, ``benchmarks.calls``).
SMALL_BODY = 256 * 1024

#: Block size handed to ``wsgi.file_wrapper`` for MTOM response bodies.
FILE_WRAPPER_BLOCK = 1024 * 1024


class MtomWsgiApplication(WsgiApplication):  # type: ignore[misc]
    """Spyne's ``WsgiApplication`` that hands MTOM response bodies to ``wsgi.file_wrapper``.

    Spyne returns every response as an iterable, which waitress copies into
    an output buffer (a temporary file past 1 MiB) before sending. When the
    server offers ``wsgi.file_wrapper`` and the MTOM body has a known length,
    the body is returned through it instead, and waitress sends it from its
    I/O loop as it sends a file. Everything else behaves exactly as
    ``WsgiApplication`` (plain SOAP, faults, the WSDL).
    """

    def __call__(self, req_env: dict[str, Any], start_response: Any,
                 wsgi_url: str | None = None) -> Any:
        result = super().__call__(req_env, start_response, wsgi_url)
        body = req_env.pop(BODY_ENVIRON_KEY, None)
        wrapper = req_env.get("wsgi.file_wrapper")
        if (not isinstance(body, PackageStream) or wrapper is None or body.closed
                or body.tell() or not body.seekable()):
            return result
        # Spyne's result is chain(out_string, ()): its clean-up already ran.
        if len(body) <= SMALL_BODY:  # one write: cheaper than the server's file path
            try:
                return [body.read()]
            finally:
                body.close()
        if str(getattr(wrapper, "__module__", "")).startswith("waitress."):
            return wrapper(_ViewFile(body), FILE_WRAPPER_BLOCK)
        return wrapper(body, FILE_WRAPPER_BLOCK)


class _ViewFile:
    """The response body for waitress's ``wsgi.file_wrapper``: reads are memoryviews.

    waitress sends a file body by reading up to ``SO_SNDBUF`` bytes, sending what
    the socket takes, then reading that many again to skip them: two reads per
    send. :meth:`mtom.PackageStream.read_view` hands out views of the held chunk
    instead of copies, which is all waitress does with them (``send``, ``len``).
    """

    def __init__(self, stream: PackageStream):
        self.read = stream.read_view
        self.seek = stream.seek
        self.tell = stream.tell
        self.seekable = stream.seekable
        self.close = stream.close


def wsgi_application(app: Any, *, max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
                     block_length: int = DEFAULT_BLOCK_LENGTH, **kwargs: Any) -> Any:
    """A :class:`MtomWsgiApplication` (Spyne ``WsgiApplication``) with a cap fit for MTOM.

    Serving big bodies with waitress, pass ``recv_bytes=256 * 1024`` (its 8 KiB
    default costs a 64 MiB echo a third of its speed; see the deployment and
    performance pages).

    Args:
        app: the ``spyne.Application`` (with :class:`~spyne_mtom.Soap11Mtom` or
            :class:`~spyne_mtom.Soap12Mtom` protocols).
        max_content_length: largest request body accepted, in bytes.
        block_length: bytes per read from ``wsgi.input``.
        kwargs: other ``WsgiApplication`` arguments.
    """
    return MtomWsgiApplication(app, max_content_length=check_size(
        "max_content_length", max_content_length), block_length=check_size(
        "block_length", block_length) or DEFAULT_BLOCK_LENGTH, **kwargs)


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
