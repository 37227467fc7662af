"""Shared fixtures: the corpus, and a real WSGI server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from interop.corpus import corpus_dir, missing_reason


@pytest.fixture(scope="session")
def corpus_path():  # type: ignore[no-untyped-def]
    path = corpus_dir()
    if path is None:
        pytest.skip(missing_reason())
    return path


def split_feeds(body: bytes) -> Iterator[list[bytes]]:
    """Every way to feed ``body``: whole, every two-way split, and byte by byte."""
    yield [body]
    for i in range(1, len(body)):
        yield [body[:i], body[i:]]
    yield [body[i:i + 1] for i in range(len(body))]


@contextlib.contextmanager
def serve_wsgi(app: Callable[..., Any], *, threads: int = 4,
               max_request_body_size: int = 8 * 1024**3) -> Iterator[str]:
    """Run ``app`` under waitress on a free 127.0.0.1 port; yield its base URL."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           max_request_body_size=max_request_body_size,
                           clear_untrusted_proxy_headers=True, ident="soap-mtom-test")
    port = server.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        deadline = 50
        while deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            deadline -= 1
        yield f"http://127.0.0.1:{port}"
    finally:
        # Join the worker threads before closing: a worker finishing a keep-alive
        # task pulls the trigger, which close() would already have closed.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)  # type: ignore[union-attr]
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def wsgi_server() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with wsgi_server(app) as url: ...`` — a real HTTP server for the test."""
    return serve_wsgi
