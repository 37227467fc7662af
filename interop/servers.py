"""A real WSGI server on 127.0.0.1 for tests and interop runs: one implementation."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["serve_wsgi"]


@contextlib.contextmanager
def serve_wsgi(app: Callable[..., Any], *, threads: int = 4,
               max_request_body_size: int = 8 * 1024**3,
               ident: str = "soap-mtom-test") -> Iterator[str]:
    """Run ``app`` under waitress on a free 127.0.0.1 port; yield its base URL; always stop."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           max_request_body_size=max_request_body_size,
                           clear_untrusted_proxy_headers=True, ident=ident)
    port = server.effective_port  # type: ignore[union-attr]
    closing = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # close() from this thread's owner can pull a socket out from under select().
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress-test", daemon=True)
    thread.start()
    try:
        for _ in range(50):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        closing.set()
        # Join the worker threads before closing: a worker finishing a keep-alive
        # task pulls the trigger, which close() would already have closed.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)  # type: ignore[union-attr]
        server.close()
        thread.join(timeout=5)
