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
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_BLOCK_LENGTH", "DEFAULT_MAX_CONTENT_LENGTH", "SPYNE_MAX_CONTENT_LENGTH",
           "wsgi_application"]

#: Spyne's own default request cap (bytes).
SPYNE_MAX_CONTENT_LENGTH = 2 * 1024 * 1024
#: Default cap for MTOM endpoints built with :func:`wsgi_application`: 1 GiB.
DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024 * 1024
#: Bytes per read from ``wsgi.input`` (Spyne reads 8 KiB at a time by default).
DEFAULT_BLOCK_LENGTH = 256 * 1024


def wsgi_application(app: Any, *, max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
                     block_length: int = DEFAULT_BLOCK_LENGTH, **kwargs: Any) -> Any:
    """A ``spyne.server.wsgi.WsgiApplication`` for ``app`` with a cap fit for MTOM.

    Args:
        app: the ``spyne.Application`` (with :class:`~spyne_mtom.Soap11Mtom` or
            :class:`~spyne_mtom.Soap12Mtom` protocols).
        max_content_length: largest request body accepted, in bytes.
        block_length: bytes per read from ``wsgi.input``.
        kwargs: other ``WsgiApplication`` arguments.
    """
    from spyne.server.wsgi import WsgiApplication

    return WsgiApplication(app, max_content_length=max_content_length,
                           block_length=block_length, **kwargs)
