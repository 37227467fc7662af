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
every file part twice. :class:`MtomWsgiApplication` therefore takes the body
from the request's protocol state at Spyne's ``wsgi_return`` event (fired
just before ``start_response``) and puts the length the package knows up
front on the headers it passes to the server's ``start_response``. The
per-call link between the two is a :class:`contextvars.ContextVar` (the
WSGI call runs in one thread or task), not the WSGI environ.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from spyne.server.wsgi import WsgiApplication

from mtom import PackageStream, check_size
from mtom.server import ViewFile

from .context import out_state

__all__ = ["DEFAULT_BLOCK_LENGTH", "DEFAULT_MAX_CONTENT_LENGTH", "SPYNE_MAX_CONTENT_LENGTH",
           "MtomWsgiApplication", "wsgi_application"]

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

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.event_manager.add_listener("wsgi_return", _take_body)

    def __call__(self, req_env: dict[str, Any], start_response: Any,
                 wsgi_url: str | None = None) -> Any:
        reply = _Reply(start_response)
        token = _REPLY.set(reply)
        try:
            result = super().__call__(req_env, reply.start_response, wsgi_url)
        finally:
            _REPLY.reset(token)
        body = reply.body
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
            return wrapper(ViewFile(body), FILE_WRAPPER_BLOCK)  # reads are memoryviews
        return wrapper(body, FILE_WRAPPER_BLOCK)


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


class _Reply:
    """One WSGI call: the server's ``start_response`` and the MTOM body, if any."""

    def __init__(self, start_response: Any):
        self._start_response = start_response
        self.body: PackageStream | None = None

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        """The server's, with the MTOM body's exact ``Content-Length`` when it is known."""
        if self.body is not None and self.body.seekable():
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(self.body))))
        if exc_info is not None:
            return self._start_response(status, headers, exc_info)
        return self._start_response(status, headers)


_REPLY: ContextVar[_Reply | None] = ContextVar("spyne_mtom_reply", default=None)


def _take_body(ctx: Any) -> None:
    """Spyne's ``wsgi_return`` event: hand the protocol's MTOM body to this call's reply."""
    reply = _REPLY.get()
    if reply is not None:
        reply.body = out_state(ctx).body
