"""Record raw HTTP between a client and a server (imports nothing of the scenarios).

:class:`RecordingProxy` is a tiny TCP proxy on 127.0.0.1: point a client at
``proxy.url(path)`` and every byte it sends to the real server, and every byte
the server answers, is kept (up to ``record_limit`` bytes per direction and
connection; beyond that only counted, so a 64 MiB exchange costs no memory).
:func:`split_http_stream` cuts a recorded byte stream into
:class:`HttpMessage` objects (Content-Length, chunked, or read-until-close).
The scenario runner (:mod:`interop.scenarios`) puts this proxy between every
client and server, so its checks look at what really crossed the wire.

``python -m interop.record`` (:mod:`interop.record`) runs the scenarios against the live peers with
small payloads and writes what the *peers* sent — JAX-WS RI and gSOAP server
replies (to the raw Python client) and JAX-WS RI and gSOAP client requests (to
the Spyne echo service) — into ``interop/captures/``: one ``.http`` file per
message (the exact bytes, chunked framing included) plus a JSON sidecar
(peer, peer version, SOAP version, scenario, direction, sha256 of the values).
``interop/test_captures_replay.py`` replays them without Java or gSOAP.

Every loop here is bounded (socket timeouts, an idle deadline per connection)
and :meth:`RecordingProxy.close` stops every thread it started.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CAPTURES_DIR",
    "HttpExchange",
    "HttpMessage",
    "RecordedConnection",
    "RecordingProxy",
    "split_http_stream",
]

CAPTURES_DIR = Path(__file__).resolve().parent / "captures"

#: Bytes kept per direction and connection; the rest is only counted.
DEFAULT_RECORD_LIMIT = 4 * 1024 * 1024
_IO_CHUNK = 256 * 1024
_POLL = 0.2


# --------------------------------------------------------------------------------------------
# HTTP messages in a recorded stream


@dataclass
class HttpMessage:
    """One HTTP/1.x message cut from a recorded stream.

    Attributes:
        raw: the bytes as recorded (head and body, transfer framing kept).
        start_line: request line or status line.
        headers: header fields in order, names as sent.
        body: the body with chunked framing removed (what the peer meant).
        complete: the whole message was recorded (False when the recording
            was cut at the record limit or the connection ended early).
    """

    raw: bytes
    start_line: str
    headers: list[tuple[str, str]]
    body: bytes
    complete: bool

    def header(self, name: str) -> str | None:
        """The first header field of that name (case-insensitive)."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("HTTP/")

    @property
    def method(self) -> str | None:
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def status(self) -> int | None:
        if self.is_request:
            return None
        try:
            return int(self.start_line.split(" ")[1])
        except (IndexError, ValueError):
            return None

    @property
    def head(self) -> bytes:
        end = self.raw.find(b"\r\n\r\n")
        return self.raw[: end + 4] if end >= 0 else self.raw


@dataclass
class HttpExchange:
    """A request and the final response to it (``None`` when none was recorded)."""

    request: HttpMessage
    response: HttpMessage | None


def _parse_head(data: bytes, pos: int) -> tuple[str, list[tuple[str, str]], int] | None:
    end = data.find(b"\r\n\r\n", pos)
    sep = 4
    if end < 0:
        end = data.find(b"\n\n", pos)
        sep = 2
        if end < 0:
            return None
    lines = data[pos:end].decode("latin-1").replace("\r\n", "\n").split("\n")
    start = lines[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obsolete folding
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return start, headers, end + sep


def _dechunk(data: bytes, pos: int) -> tuple[bytes, int, bool]:
    """Decode chunked coding from ``pos``: (body, end position, complete)."""
    out: list[bytes] = []
    limit = len(data)
    while pos < limit:  # each turn consumes at least one line
        eol = data.find(b"\n", pos)
        if eol < 0:
            return b"".join(out), limit, False
        try:
            size = int(data[pos:eol].strip().split(b";")[0], 16)
        except ValueError:
            return b"".join(out), limit, False
        pos = eol + 1
        if size == 0:
            # Trailer section: header lines up to an empty line.
            while pos < limit:
                eol = data.find(b"\n", pos)
                if eol < 0:
                    return b"".join(out), limit, False
                line = data[pos:eol].strip()
                pos = eol + 1
                if not line:
                    return b"".join(out), pos, True
            return b"".join(out), limit, False
        out.append(data[pos : pos + size])
        if pos + size > limit:
            return b"".join(out), limit, False
        pos += size
        if data[pos : pos + 2] == b"\r\n":
            pos += 2
        elif data[pos : pos + 1] == b"\n":
            pos += 1
    return b"".join(out), limit, False


def split_http_stream(data: bytes, *, truncated: bool = False) -> list[HttpMessage]:
    """Cut one direction of a recorded connection into HTTP messages.

    ``truncated``: the recording stopped before the connection ended (the
    record limit), so a message running to the end is marked incomplete.
    Interim responses (``100 Continue``) are returned like any other message.
    """
    messages: list[HttpMessage] = []
    pos = 0
    while pos < len(data):  # each turn consumes at least the head or ends the loop
        while data[pos : pos + 2] == b"\r\n":  # stray CRLF between messages
            pos += 2
        if pos >= len(data):
            break
        parsed = _parse_head(data, pos)
        if parsed is None:
            break
        start, headers, body_start = parsed
        names = {k.lower(): v for k, v in reversed(headers)}
        is_response = start.startswith("HTTP/")
        status = 0
        if is_response:
            with contextlib.suppress(IndexError, ValueError):
                status = int(start.split(" ")[1])
        if "chunked" in names.get("transfer-encoding", "").lower():
            body, end, complete = _dechunk(data, body_start)
        elif "content-length" in names and names["content-length"].strip().isdigit():
            n = int(names["content-length"].strip())
            end = min(body_start + n, len(data))
            body = data[body_start:end]
            complete = end == body_start + n
        elif (is_response and (100 <= status < 200 or status in (204, 304))) or not is_response:
            body, end, complete = b"", body_start, True
        else:  # a response delimited by the connection's end
            body, end, complete = data[body_start:], len(data), not truncated
        if end >= len(data) and truncated:
            complete = False
        messages.append(HttpMessage(data[pos:end], start, headers, body, complete))
        pos = end
    return messages


# --------------------------------------------------------------------------------------------
# The recording proxy


@dataclass
class RecordedConnection:
    """Both directions of one proxied TCP connection."""

    upstream: bytearray = field(default_factory=bytearray)  # client -> server
    downstream: bytearray = field(default_factory=bytearray)  # server -> client
    upstream_total: int = 0
    downstream_total: int = 0
    error: str | None = None
    closed: bool = False

    @property
    def upstream_truncated(self) -> bool:
        return self.upstream_total > len(self.upstream)

    @property
    def downstream_truncated(self) -> bool:
        return self.downstream_total > len(self.downstream)

    def requests(self) -> list[HttpMessage]:
        return split_http_stream(bytes(self.upstream), truncated=self.upstream_truncated)

    def responses(self) -> list[HttpMessage]:
        return split_http_stream(bytes(self.downstream), truncated=self.downstream_truncated)

    def exchanges(self) -> list[HttpExchange]:
        """Requests paired with their final responses (interim 1xx responses skipped)."""
        finals = [r for r in self.responses() if not (r.status and 100 <= r.status < 200)]
        reqs = self.requests()
        return [HttpExchange(req, finals[i] if i < len(finals) else None)
                for i, req in enumerate(reqs)]


class RecordingProxy:
    """A recording TCP proxy on 127.0.0.1 in front of ``target`` (``host:port``).

    Use as a context manager; ``url(path)`` gives the address a client should
    use. ``idle_timeout`` bounds how long a connection may stay silent;
    ``close()`` (or leaving the ``with`` block) stops every thread.
    """

    def __init__(self, target_host: str, target_port: int, *,
                 record_limit: int = DEFAULT_RECORD_LIMIT, idle_timeout: float = 300.0,
                 connect_timeout: float = 10.0):
        if target_host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the proxy only forwards to the loopback, not {target_host!r}")
        self.target = (target_host, target_port)
        self.record_limit = record_limit
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.connections: list[RecordedConnection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        accept = threading.Thread(target=self._accept_loop, name="recording-proxy", daemon=True)
        self._threads.append(accept)
        accept.start()

    @classmethod
    def for_url(cls, url: str, **options: Any) -> RecordingProxy:
        """A proxy in front of the host and port of ``url``."""
        parts = urllib.parse.urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"URL {url!r} has no explicit host and port")
        return cls(parts.hostname, parts.port, **options)

    def url(self, path_or_url: str = "/") -> str:
        """The proxy's address for a path (or for the path and query of a full URL)."""
        parts = urllib.parse.urlsplit(path_or_url)
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        return f"http://127.0.0.1:{self.port}{path}{query}"

    # -- threads -------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            record = RecordedConnection()
            with self._lock:
                self.connections.append(record)
            worker = threading.Thread(target=self._pump, args=(client, record),
                                      name="recording-proxy-conn", daemon=True)
            with self._lock:
                self._threads.append(worker)
            worker.start()

    def _keep(self, record: RecordedConnection, upstream: bool, data: bytes) -> None:
        if upstream:
            room = self.record_limit - len(record.upstream)
            if room > 0:
                record.upstream += data[:room]
            record.upstream_total += len(data)
        else:
            room = self.record_limit - len(record.downstream)
            if room > 0:
                record.downstream += data[:room]
            record.downstream_total += len(data)

    def _pump(self, client: socket.socket, record: RecordedConnection) -> None:
        server: socket.socket | None = None
        sel = selectors.DefaultSelector()
        try:
            server = socket.create_connection(self.target, timeout=self.connect_timeout)
            with self._lock:
                self._sockets += [client, server]
            client.settimeout(self.idle_timeout)
            server.settimeout(self.idle_timeout)
            sel.register(client, selectors.EVENT_READ, True)
            sel.register(server, selectors.EVENT_READ, False)
            peer_of = {True: server, False: client}
            open_sides = 2
            last_activity = time.monotonic()
            while open_sides and not self._stop.is_set():
                events = sel.select(_POLL)
                if not events:
                    if time.monotonic() - last_activity > self.idle_timeout:
                        record.error = f"idle for {self.idle_timeout:.0f} s"
                        break
                    continue
                last_activity = time.monotonic()
                for key, _ in events:
                    from_client: bool = key.data
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = sock.recv(_IO_CHUNK)
                    except OSError as exc:
                        record.error = f"recv: {exc}"
                        data = b""
                    if data:
                        self._keep(record, from_client, data)
                        peer_of[from_client].sendall(data)
                    else:
                        sel.unregister(sock)
                        open_sides -= 1
                        with contextlib.suppress(OSError):
                            peer_of[from_client].shutdown(socket.SHUT_WR)
        except OSError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            sel.close()
            for maybe in (client, server):
                if maybe is not None:
                    with contextlib.suppress(OSError):
                        maybe.close()
            record.closed = True

    # -- results -------------------------------------------------------------

    def exchanges(self) -> list[HttpExchange]:
        """Every request/response pair recorded so far, connection by connection."""
        with self._lock:
            conns = list(self.connections)
        out: list[HttpExchange] = []
        for conn in conns:
            out.extend(conn.exchanges())
        return out

    def posts(self) -> list[HttpExchange]:
        """Only the POST exchanges (SOAP calls), in order."""
        return [x for x in self.exchanges() if x.request.method == "POST"]

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5.0)
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def __enter__(self) -> RecordingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
