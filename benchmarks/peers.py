"""Where we stand against the Java and C stacks (issue 13, target 6): ``benchmarks peers``.

Strategy: the interop suite's live peers (:mod:`interop.peerctl` builds and
starts them: JAX-WS RI and gSOAP) and the project's own Spyne echo
(:func:`interop.servers.spyne_echo_wsgi` under waitress, 8 threads,
``recv_bytes=256 KiB``, in a child process) serve the same W3C MTOM
``EchoTest`` on 127.0.0.1, every value answered as a MIME part. Servers run on
the first CPU, this process (the clients) on the second. Rounds interleave
every row; figures are medians over rounds.

Big rows: one ``--size`` MiB value (default 64) echoed both ways, as a ratio to
the floor measured in the same round — a raw loopback socket echo of the same
bytes (read them all, write them back). Clients: ``zeep_mtom`` against each
server, and each peer's own client against its own server. A peer client
makes one call per process, so its row is that process's wall time minus the
same client echoing 1 byte (JVM or executable start, connection); the JVM
runs the call cold.

Small rows: a 16 KiB value, ``zeep_mtom`` (``MtomTransport(mtom=True)``)
against each server: client and server CPU per call (this process's
``time.process_time``; the server's utime + stime from ``/proc/PID/stat``)
over sequential calls, and calls per second with 8 client threads, each with
its own Zeep client. The peers' clients are one call per process, so they
have no small rows.

``--json FILE`` (default ``docs/_data/peers.json``) keeps every figure;
the performance page's peer table and figure are drawn from that file when
the documentation is built (:func:`draw`). A peer whose toolchain is
missing is reported as skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import logging
import os
import platform
import socket
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .common import ROOT, MiB, Result, child, cpu_per_call, pin, threaded_throughput

PEERS = ("jaxws", "gsoap")
SMALL = 16 * 1024
THREADS = 8
FLOOR = "raw loopback socket echo (floor)"
PYTHON = "spyne_mtom"
JSON_PATH = ROOT / "docs" / "_data" / "peers.json"
#: Version of the JSON layout :func:`save` writes and :func:`load` accepts.
SCHEMA = 1
_RECV_BYTES = 256 * 1024


# --------------------------------------------------------------------------------------------
# Child processes: the Spyne echo and the socket floor


def _serve_spyne() -> None:
    from waitress.server import create_server

    from interop.servers import spyne_echo_wsgi

    pin(server=True)
    # waitress warns "Task queue depth is N" whenever more connections than threads
    # are busy, which is the point of the concurrent rows.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    store = tempfile.mkdtemp(prefix="bench-peers-store-")
    server = create_server(spyne_echo_wsgi(True, store), host="127.0.0.1", port=0,
                           threads=THREADS, recv_bytes=_RECV_BYTES,
                           max_request_body_size=8 * 1024**3, ident="bench")
    print(f"http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()


def _serve_socket() -> None:
    """Echo server: 8-byte big-endian length, then that many bytes, sent back."""
    pin(server=True)
    lsock = socket.create_server(("127.0.0.1", 0))
    print(lsock.getsockname()[1], flush=True)
    while True:
        conn, _ = lsock.accept()
        with conn:
            head = _recv_exactly(conn, 8)
            if head is None:
                continue
            data = _recv_exactly(conn, struct.unpack(">Q", head)[0])
            if data is not None:
                conn.sendall(data)


def _recv_exactly(sock: socket.socket, n: int) -> bytearray | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], min(n - got, 1 << 20))
        if not k:
            return None
        got += k
    return buf


def _socket_echo(port: int, data: bytes) -> float:
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(struct.pack(">Q", len(data)))
        s.sendall(data)
        back = _recv_exactly(s, len(data))
    elapsed = time.perf_counter() - t0
    if back is None or bytes(back) != data:
        raise AssertionError("socket echo differs")
    return elapsed


@contextlib.contextmanager
def _child(mode: str) -> Iterator[tuple[str, int]]:
    """A child ``python -m benchmarks.peers --child MODE``: (first line it printed, pid)."""
    with child("benchmarks.peers", "--child", mode) as started:
        yield started


# --------------------------------------------------------------------------------------------
# Clients


def _echo_call(wsdl: str, url: str, data: bytes) -> Callable[[], float]:
    """A Zeep client with ``MtomTransport(mtom=True)`` echoing ``data``: call() -> seconds."""
    import zeep
    from zeep.wsdl.bindings.soap import Soap11Binding

    from zeep_mtom import MtomTransport

    transport = MtomTransport(mtom=True, stream_attachments=False)
    client = zeep.Client(wsdl, transport=transport)  # type: ignore[no-untyped-call]
    binding = next(n for n, b in client.wsdl.bindings.items() if type(b) is Soap11Binding)
    service = client.create_service(binding, url)  # type: ignore[no-untyped-call]

    def call() -> float:
        t0 = time.perf_counter()
        reply = service.EchoTest(Data=[{"_value_1": data}])
        elapsed = time.perf_counter() - t0
        items = getattr(reply, "Data", reply)
        item = items[0] if isinstance(items, list) else items
        if bytes(item["_value_1"]) != data:
            raise AssertionError(f"echo through {url} differs")
        return elapsed
    return call


def _peer_client(name: str, url: str, path: Path, size: int) -> float:
    """Wall time of the peer's own client echoing the file at ``path`` once."""
    from interop import peerctl

    t0 = time.perf_counter()
    result = peerctl.run_client(name, url, "1.1", [path], True, threshold=0, timeout=300)
    elapsed = time.perf_counter() - t0
    (value,) = result["values"]
    if value["size"] != size:
        raise AssertionError(f"{name} client got {value['size']} bytes back, sent {size}")
    return elapsed






# --------------------------------------------------------------------------------------------
# The run


def measure(size: int, rounds: int, small_calls: int, per_thread: int,
            peers: tuple[str, ...] = PEERS) -> dict[str, Any]:
    """Run every row ``rounds`` times, interleaved; return the JSON document (see :func:`save`)."""
    from interop import peerctl

    pin(server=False)
    data = os.urandom(size)
    small = os.urandom(SMALL)
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    big_file, one_file = work / "big.bin", work / "one.bin"
    big_file.write_bytes(data)
    one_file.write_bytes(b"x")
    skipped: dict[str, str] = {}
    big_samples: dict[str, list[float]] = {FLOOR: []}
    small_samples: dict[str, dict[str, list[float]]] = {}
    try:
        with contextlib.ExitStack() as stack:
            port = int(stack.enter_context(_child("socket"))[0])
            base, py_pid = stack.enter_context(_child("spyne"))
            # stack -> (wsdl, endpoint, server pid)
            stacks: dict[str, tuple[str, str, int]] = {
                PYTHON: (base + "/echo11?wsdl", base + "/echo11", py_pid)}
            for name in peers:
                reason = peerctl.peer_available(name)
                if reason is not None:
                    skipped[name] = reason
                    continue
                # gSOAP answers MTOM only when told to; JAX-WS with threshold 0.
                server = stack.enter_context(peerctl.serving(
                    name, threshold=0, reply="mtom" if name == "gsoap" else None))
                stacks[name] = (server.wsdl_url("1.1"), server.url("1.1"), server.process.pid)
            big = {s: _echo_call(w, u, data) for s, (w, u, _) in stacks.items()}
            one = {s: _echo_call(w, u, small) for s, (w, u, _) in stacks.items()}
            pool = {s: [_echo_call(w, u, small) for _ in range(THREADS)]
                    for s, (w, u, _) in stacks.items()}
            peer_urls = {s: u for s, (_, u, _) in stacks.items() if s != PYTHON}
            # Warm up: connections, JIT, caches; then place every server's threads.
            for s in stacks:
                big[s]()
                for _ in range(3 * small_calls):
                    one[s]()
                threaded_throughput(pool[s], 5)
            for name, url in peer_urls.items():
                _peer_client(name, url, one_file, 1)
            for _, _, pid in stacks.values():
                pin(server=True, pid=pid)
            for _ in range(rounds):
                big_samples[FLOOR].append(_socket_echo(port, data))
                for s, call in big.items():
                    big_samples.setdefault(f"zeep_mtom → {s}", []).append(call())
                for name, url in peer_urls.items():
                    start = _peer_client(name, url, one_file, 1)
                    whole = _peer_client(name, url, big_file, size)
                    big_samples.setdefault(f"{name} → {name}", []).append(whole - start)
                for s, (_, _, pid) in stacks.items():
                    client, server_cpu = cpu_per_call(one[s], pid, small_calls)
                    rate = threaded_throughput(pool[s], per_thread)
                    cols = small_samples.setdefault(f"zeep_mtom → {s}", {})
                    cols.setdefault("client_ms", []).append(client * 1e3)
                    cols.setdefault("server_ms", []).append(server_cpu * 1e3)
                    cols.setdefault("calls_per_s", []).append(rate)
    finally:
        big_file.unlink()
        one_file.unlink()
        work.rmdir()
    floor = big_samples[FLOOR]
    big_rows = {label: {"seconds": statistics.median(v),
                        "ratio": statistics.median(x / f for x, f in zip(v, floor, strict=True)),
                        "samples": v}
                for label, v in big_samples.items()}
    small_rows: dict[str, dict[str, Any]] = {}
    for label, cols in small_samples.items():
        row: dict[str, Any] = {k: statistics.median(v) for k, v in cols.items()}
        row["cpu_ms"] = statistics.median(c + s for c, s in
                                          zip(cols["client_ms"], cols["server_ms"], strict=True))
        row["samples"] = cols
        small_rows[label] = row
    load1, load5, _ = os.getloadavg()
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "schema": SCHEMA,
        "meta": {"date": now.strftime("%Y-%m-%d %H:%M UTC"),
                 "python": platform.python_version(), "cpus": os.cpu_count(),
                 "loadavg": [round(load1, 2), round(load5, 2)],
                 "size": size, "small_size": SMALL, "rounds": rounds,
                 "small_calls": small_calls, "threads": THREADS, "per_thread": per_thread,
                 "sha256": hashlib.sha256(data).hexdigest()},
        "big": big_rows,
        "small": small_rows,
        "skipped": skipped,
    }


# --------------------------------------------------------------------------------------------
# JSON, table and figure


class PeersDataError(ValueError):
    """The peers JSON is not what :func:`save` writes (names the missing or wrong field)."""


def save(doc: dict[str, Any], path: Path) -> None:
    """Write ``doc`` (from :func:`measure`) as JSON, after checking it as :func:`load` does."""
    _check(doc, str(path))
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    """Read a peers JSON file written by :func:`save`; :class:`PeersDataError` if malformed."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    _check(doc, str(path))
    return doc  # type: ignore[no-any-return]


def _check(doc: Any, where: str) -> None:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise PeersDataError(f"{where}: expected a JSON object with \"schema\": {SCHEMA}")
    for key in ("meta", "big", "small", "skipped"):
        if not isinstance(doc.get(key), dict):
            raise PeersDataError(f"{where}: \"{key}\" must be an object")
    if FLOOR not in doc["big"]:
        raise PeersDataError(f"{where}: \"big\" has no {FLOOR!r} row")
    for label, row in doc["big"].items():
        for key in ("seconds", "ratio"):
            if not isinstance(row.get(key), int | float):
                raise PeersDataError(f"{where}: big row {label!r} needs a number \"{key}\"")
    for label, row in doc["small"].items():
        for key in ("client_ms", "server_ms", "cpu_ms", "calls_per_s"):
            if not isinstance(row.get(key), int | float):
                raise PeersDataError(f"{where}: small row {label!r} needs a number \"{key}\"")


def table(doc: dict[str, Any]) -> str:
    """The performance page's peer tables (Markdown) for a document from :func:`load`."""
    meta = doc["meta"]
    mib = meta["size"] / MiB
    lines = [f"| {mib:g} MiB MTOM echo, both ways | s (median of {meta['rounds']}) "
             "| x the floor |", "|---|---|---|"]
    for label, row in doc["big"].items():
        lines.append(f"| {label} | {row['seconds']:.3f} | {row['ratio']:.2f} |")
    base = doc["small"].get(f"zeep_mtom → {PYTHON}")
    lines += ["", f"| {meta['small_size'] // 1024} KiB echo, `MtomTransport(mtom=True)` client "
              "| client CPU ms | server CPU ms | CPU ms per call "
              f"| calls/s, {meta['threads']} clients | throughput x Python |",
              "|---|---|---|---|---|---|"]
    for label, row in doc["small"].items():
        rel = f"{row['calls_per_s'] / base['calls_per_s']:.2f}" if base else "—"
        lines.append(f"| {label} | {row['client_ms']:.2f} | {row['server_ms']:.2f} "
                     f"| {row['cpu_ms']:.2f} | {row['calls_per_s']:.0f} | {rel} |")
    for name, reason in doc["skipped"].items():
        lines.append(f"\n{name} skipped: {reason}")
    return "\n".join(lines) + "\n"


def draw(json_path: Path, out_dir: Path) -> list[Path]:
    """Write ``peers-big.png``, ``peers-small.png`` and ``peers-table.md`` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    doc = load(json_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    path = out_dir / "peers-table.md"
    path.write_text(table(doc), encoding="utf-8")
    written.append(path)
    big = doc["big"]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    labels = list(big)
    ax.barh(labels, [big[k]["ratio"] for k in labels])
    ax.invert_yaxis()
    ax.set_xlabel("time x the raw loopback socket echo (lower is better)")
    ax.set_title(f"{doc['meta']['size'] / MiB:g} MiB MTOM echo against the Java and C stacks")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path = out_dir / "peers-big.png"
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    written.append(path)
    small = doc["small"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.2), dpi=100, sharey=True)
    labels = list(small)
    left.barh(labels, [small[k]["client_ms"] for k in labels], label="client")
    left.barh(labels, [small[k]["server_ms"] for k in labels],
              left=[small[k]["client_ms"] for k in labels], label="server")
    left.invert_yaxis()
    left.set_xlabel("CPU ms per call")
    left.legend(fontsize="small")
    right.barh(labels, [small[k]["calls_per_s"] for k in labels])
    right.set_xlabel(f"calls/s, {doc['meta']['threads']} clients")
    fig.suptitle(f"{doc['meta']['small_size'] // 1024} KiB echo from zeep_mtom")
    fig.tight_layout()
    path = out_dir / "peers-small.png"
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Entry points


def _results(doc: dict[str, Any]) -> list[Result]:
    size = doc["meta"]["size"]
    rows = [Result("peers", f"echo {size / MiB:g} MiB: {label}", row["seconds"], size,
                   note=f"{row['ratio']:.2f}x the floor")
            for label, row in doc["big"].items()]
    rows += [Result("peers", f"16 KiB echo, {label}", row["cpu_ms"] / 1e3, SMALL,
                    note=f"CPU {row['client_ms']:.2f} + {row['server_ms']:.2f} ms per call, "
                         f"{row['calls_per_s']:.0f} calls/s with {THREADS} clients")
             for label, row in doc["small"].items()]
    rows += [Result("peers", f"{name}: skipped", float("nan"), 0, note=reason)
             for name, reason in doc["skipped"].items()]
    return rows


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks peers``: a full run also writes :data:`JSON_PATH`
    (``--quick``: 8 MiB, 2 rounds, nothing written)."""
    quick = bool(args.quick)
    doc = measure((8 if quick else 64) * MiB, 2 if quick else 5, 20 if quick else 100,
                  10 if quick else 40)
    if not quick:
        save(doc, JSON_PATH)
    return _results(doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64, help="big echo size in MiB (default 64)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small-calls", type=int, default=100,
                    help="sequential 16 KiB calls per CPU measurement")
    ap.add_argument("--per-thread", type=int, default=40,
                    help="16 KiB calls per client thread per throughput measurement")
    ap.add_argument("--json", type=Path, default=JSON_PATH, help=f"default {JSON_PATH}")
    ap.add_argument("--child", choices=("spyne", "socket"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "spyne":
        _serve_spyne()
        return 0
    if args.child == "socket":
        _serve_socket()
        return 0
    doc = measure(args.size * MiB, args.rounds, args.small_calls, args.per_thread)
    save(doc, args.json)
    print(table(doc))
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
