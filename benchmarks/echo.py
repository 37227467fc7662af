"""Big MTOM echo against the raw socket floor (issue 13, target 3) and waitress settings.

Strategy: every server is a child process pinned to the first CPU, the
client runs here on the others. The floor is a raw loopback socket echo (a
server that reads N bytes and writes them back; the client sends while it
receives): no HTTP, no MIME, no copies beyond the kernel's. The MTOM echo is
``MtomTransport(mtom=True, stream_attachments=False)`` → Spyne
``Soap11Mtom`` ``echo(ByteArray) -> ByteArray`` served by waitress, with
each of the waitress settings below. Rounds are interleaved (floor, each
setting, floor, ...); each row is the median over rounds of its wall time
divided by the floor's in the same round. The echoed value is checked
byte for byte.

waitress settings measured (``--settings``):

* ``default``: ``recv_bytes=8192``, ``inbuf_overflow=512 KiB`` (bodies over it
  are buffered in a temporary file before the application runs);
* ``recv``: ``recv_bytes=256 KiB``;
* ``recv+inbuf``: ``recv_bytes=256 KiB``, ``inbuf_overflow=8 MiB``.

Target: ≤ 2.0x the floor at 64 MiB (``--size`` MiB; ``--quick``: 16).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .common import ROOT, MiB, Result, child, pin

NS = "urn:soap-mtom:bench:echo"
SETTINGS: dict[str, dict[str, int]] = {
    "default": {},
    "recv": {"recv_bytes": 256 * 1024},
    "recv+inbuf": {"recv_bytes": 256 * 1024, "inbuf_overflow": 8 * MiB},
    "recv+memory": {"recv_bytes": 256 * 1024, "inbuf_overflow": 256 * MiB},
}
#: gunicorn (one sync worker) reads the request body from the socket as the
#: application asks for it: no buffering of the whole body first.
GUNICORN = "gunicorn"




def _socket_server() -> None:
    pin(server=True)
    srv = socket.create_server(("127.0.0.1", 0))
    print(f"127.0.0.1:{srv.getsockname()[1]}", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            header = conn.recv(16, socket.MSG_WAITALL)
            size = int(header)
            buf = bytearray(size)
            view, got = memoryview(buf), 0
            while got < size:
                n = conn.recv_into(view[got:], min(size - got, 1 << 20))
                if not n:
                    break
                got += n
            conn.sendall(view[:got])


def gunicorn_app() -> Any:
    """The echo application, for ``gunicorn 'benchmarks.echo:gunicorn_app()'``."""
    pin(server=True)
    return _echo_app()


def _echo_app() -> Any:
    from spyne_mtom import Soap11Mtom, wsgi_application  # noqa: I001  (compat before spyne)
    from spyne import Application, ByteArray, ServiceBase, rpc

    class Echo(ServiceBase):  # type: ignore[misc]
        @rpc(ByteArray, _returns=ByteArray)  # type: ignore[untyped-decorator]
        def echo(ctx: Any, data: Any) -> Any:
            return data

    return wsgi_application(Application([Echo], NS, in_protocol=Soap11Mtom(),
                                        out_protocol=Soap11Mtom()))


def _spyne_server(name: str) -> None:
    from waitress.server import create_server

    pin(server=True)
    server = create_server(_echo_app(), host="127.0.0.1", port=0, threads=4, ident="bench",
                           **SETTINGS[name])
    print(f"http://127.0.0.1:{server.effective_port}/", flush=True)
    server.run()


@contextlib.contextmanager
def _gunicorn() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}",
                             "-w", "1", "--timeout", "120", "--log-level", "warning",
                             "benchmarks.echo:gunicorn_app()"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def _child(*args: str) -> Iterator[str]:
    with child("benchmarks.echo", *args) as (line, _):
        yield line


def _socket_echo(addr: str, data: bytes) -> float:
    host, port = addr.rsplit(":", 1)
    out = bytearray(len(data))
    t0 = time.perf_counter()
    with socket.create_connection((host, int(port))) as s:
        sender = threading.Thread(target=lambda: (s.sendall(b"%16d" % len(data)),
                                                  s.sendall(data)))
        sender.start()
        view, got = memoryview(out), 0
        while got < len(data):
            n = s.recv_into(view[got:], min(len(data) - got, 1 << 20))
            if not n:
                break
            got += n
        sender.join()
    elapsed = time.perf_counter() - t0
    if out != data:
        raise AssertionError("socket echo differs")
    return elapsed


def _mtom_call(url: str, data: bytes) -> Callable[[], float]:
    import zeep

    from zeep_mtom import MtomTransport

    transport = MtomTransport(mtom=True, stream_attachments=False)
    service = zeep.Client(url + "?wsdl", transport=transport).service

    def call() -> float:
        t0 = time.perf_counter()
        out = service.echo(data)
        elapsed = time.perf_counter() - t0
        if out != data:
            raise AssertionError("MTOM echo differs")
        return elapsed
    return call


def measure(size: int, rounds: int, settings: list[str]) -> dict[str, Any]:
    pin(server=False)
    data = os.urandom(size)
    with contextlib.ExitStack() as stack:
        addr = stack.enter_context(_child("--socket-server"))
        calls = {name: _mtom_call(stack.enter_context(
            _gunicorn() if name == GUNICORN else _child("--spyne-server", name)), data)
            for name in settings}
        _socket_echo(addr, data)
        for call in calls.values():
            call()  # warm: connection, first-use allocations
        raw: list[dict[str, float]] = []
        for _ in range(rounds):
            row = {"floor": _socket_echo(addr, data)}
            for name, call in calls.items():
                row[name] = call()
            raw.append(row)
    return {"size": size, "rounds": raw,
            "ratio": {name: statistics.median(r[name] / r["floor"] for r in raw)
                      for name in settings},
            "floor_s": statistics.median(r["floor"] for r in raw),
            "seconds": {name: statistics.median(r[name] for r in raw) for name in settings}}


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks echo``."""
    size = (16 if args.quick else 64) * MiB
    m = measure(size, 3 if args.quick else 5, [*SETTINGS, GUNICORN])
    rows = [Result("echo", f"echo {size // MiB} MiB: raw loopback socket (floor)",
                   m["floor_s"], size)]
    for name in [*SETTINGS, GUNICORN]:
        server = "gunicorn, 1 sync worker" if name == GUNICORN else f"waitress {name}"
        rows.append(Result(
            "echo", f"echo {size // MiB} MiB: zeep_mtom -> spyne_mtom, {server}",
            m["seconds"][name], size, note=f"{m['ratio'][name]:.2f}x the floor; "
            + ", ".join(f"{k}={v}" for k, v in SETTINGS.get(name, {}).items()),
            target="≤ 2.0x the socket floor" if name == "recv" else "",
            ok=None if args.quick or name != "recv" else m["ratio"][name] <= 2.0))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.echo", description=__doc__)
    ap.add_argument("--socket-server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spyne-server", metavar="SETTINGS", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=64, help="MiB (default 64)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--settings", nargs="*", default=[*SETTINGS, GUNICORN],
                    choices=[*SETTINGS, GUNICORN])
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    if args.socket_server:
        _socket_server()
        return 0
    if args.spyne_server:
        _spyne_server(args.spyne_server)
        return 0
    m = measure(args.size * MiB, args.rounds, args.settings)
    print(f"floor {m['floor_s']:.3f} s")
    for name in args.settings:
        print(f"{name:12} {m['seconds'][name]:.3f} s  {m['ratio'][name]:.2f}x floor")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
