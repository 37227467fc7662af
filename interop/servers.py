"""Servers: a real WSGI server on 127.0.0.1 (one implementation, for the tests and the
interop runs), the Spyne W3C echo service, and the live peers' endpoints."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interop import extra_peers, peerctl
from interop.cases import NEVER, VERSIONS

__all__ = ["Endpoint", "Endpoints", "serve_wsgi", "spyne_echo_wsgi", "workdir"]


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


# --------------------------------------------------------------------------------------------
# Spyne: the W3C echo service (same shape as the JAX-WS and gSOAP peers) over waitress


def spyne_echo_wsgi(response_mtom: bool, store_dir: str | os.PathLike[str],
                    log: list[str] | None = None) -> Callable[..., Any]:
    """WSGI app: ``/echo11`` (SOAP 1.1) and ``/echo12`` (SOAP 1.2), the project's own demo.

    The endpoints are ``mtom_demo.service`` (its ``EchoTest`` is the W3C shape:
    document/literal bare, reply root ``EchoTest``, ``validator="lxml"``) with threshold 0
    (every value back as a MIME part) or :data:`NEVER` (every value inline). Uploads of the
    demo's other operations would go to ``store_dir``. Each POST's Content-Type is appended to
    ``log`` (like the peers' server logs).
    """
    from mtom_demo.service import wsgi_app

    threshold = 0 if response_mtom else NEVER
    apps = {f"/echo{v.replace('.', '')}": wsgi_app(v, threshold=threshold,
                                                    store_dir=os.fspath(store_dir))
            for v in VERSIONS}
    lines = log if log is not None else []

    def router(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = (environ.get("PATH_INFO") or "/").rstrip("/")
        app = apps.get(path)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such endpoint; use /echo11 or /echo12\n"]
        if environ.get("REQUEST_METHOD") == "POST":
            lines.append(f"[soap{path[-2:]}] request Content-Type: "
                         f"{environ.get('CONTENT_TYPE', '?')}")
        return app(environ, start_response)

    return router


# --------------------------------------------------------------------------------------------
# Servers


@dataclass
class Endpoint:
    """A running server of one stack in one reply mode."""

    server: str
    base_url: str
    log_source: Callable[[], str]

    def url(self, version: str) -> str:
        return f"{self.base_url}/echo{version.replace('.', '')}"

    def wsdl_url(self, version: str) -> str:
        return self.url(version) + "?wsdl"

    def log(self) -> str:
        return self.log_source()


class Endpoints:
    """Servers started on first use and stopped by :meth:`close`, whatever happens.

    ``get(server, response_mtom)``: JAX-WS RI with MTOM on/off, gSOAP in reply mode
    ``mtom``/``plain``, or the Spyne echo with threshold 0 / never.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._endpoints: dict[tuple[str, bool | str], Endpoint] = {}

    def get(self, server: str, response_mtom: bool, *, swa: bool = False) -> Endpoint:
        """``swa``: an Axis server answering in SwA (ignored by the other stacks)."""
        swa = swa and server == "axis"
        key = (server, response_mtom) if not swa else (server, "swa")
        if key in self._endpoints:
            return self._endpoints[key]
        if server == "spyne":
            lines: list[str] = []
            store = tempfile.mkdtemp(prefix="mtom-interop-spyne-")
            self._stack.callback(shutil.rmtree, store, True)
            app = spyne_echo_wsgi(response_mtom, store, lines)
            base = self._stack.enter_context(serve_wsgi(app))
            endpoint = Endpoint(server, base, lambda: "\n".join(lines) + "\n")
        elif server in peerctl.PEER_NAMES:
            if server == "jaxws":
                srv = peerctl.start_server("jaxws", mtom=response_mtom)
            else:
                srv = peerctl.start_server("gsoap", reply="mtom" if response_mtom else "plain")
            self._stack.callback(srv.stop)
            endpoint = Endpoint(server, srv.base_url, srv.log)
        elif server in extra_peers.EXTRA_PEER_NAMES:
            # node-soap answers plain whatever is asked; Axis in its MTOM flavour or plain.
            srv = extra_peers.start_server(
                server, reply="swa" if swa else "mtom" if response_mtom else "plain")
            self._stack.callback(srv.stop)
            endpoint = Endpoint(server, srv.base_url, srv.log)
        else:
            raise ValueError(f"unknown server stack {server!r}")
        self._endpoints[key] = endpoint
        return endpoint

    def close(self) -> None:
        self._endpoints.clear()
        self._stack.close()

    def __enter__(self) -> Endpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for payload files, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="mtom-interop-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------
