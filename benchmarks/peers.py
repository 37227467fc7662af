"""Where we stand against the Java and C stacks (issue 13, target 6): ``benchmarks peers``.

Strategy: the live peers of the interop suite (``interop.peerctl``: JAX-WS RI
and gSOAP, built on first use) serve the W3C MTOM echo on 127.0.0.1
(``threshold=0``, MTOM replies). In one run, rounds interleaved:

* the floor: a raw loopback socket echo of the same bytes (:mod:`benchmarks.echo`);
* Python ↔ Python: ``zeep_mtom`` → ``spyne_mtom`` (waitress, ``recv_bytes=256 KiB``);
* ``zeep_mtom`` → each peer's server;
* each peer's own client → its own server. The peer clients make one call per
  process, so their row is the process's wall time minus that of the same
  client echoing 1 byte (JVM or executable start, connection, WSDL-free set-up);
  the JVM runs that call cold (no JIT warm-up), which a long-lived Java client
  would not pay.

Big rows: a 64 MiB echo (``--size`` MiB), time and ratio to the floor of the
same round. Small rows: a 16 KiB echo, median milliseconds per call of
``zeep_mtom`` sequential calls (a peer client's one call per process is
lost in its start-up noise, so it has no small row).
Values are checked by size and SHA-256. ``--json FILE`` writes every figure;
docs/performance.md's peer table is drawn from it. A peer whose toolchain is
missing is reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import MiB, Result
from .echo import _child, _mtom_call, _pin, _socket_echo

PEERS = ("jaxws", "gsoap")
SMALL = 16 * 1024


def _zeep_peer_call(wsdl: str, url: str, data: bytes) -> Callable[[], float]:
    import zeep
    from zeep.wsdl.bindings.soap import Soap11Binding

    from zeep_mtom import MtomTransport

    transport = MtomTransport(mtom=True, threshold=0, stream_attachments=False)
    client = zeep.Client(wsdl, transport=transport)
    binding = next(n for n, b in client.wsdl.bindings.items() if type(b) is Soap11Binding)
    service = client.create_service(binding, url)

    def call() -> float:
        t0 = time.perf_counter()
        reply = service.EchoTest(Data=[{"_value_1": data}])
        elapsed = time.perf_counter() - t0
        items = getattr(reply, "Data", reply)
        item = items[0] if isinstance(items, list) else items
        if bytes(item["_value_1"]) != data:
            raise AssertionError("peer echo differs")
        return elapsed
    return call


def _peer_client(name: str, url: str, path: Path, size: int) -> float:
    from interop import peerctl

    t0 = time.perf_counter()
    result = peerctl.run_client(name, url, "1.1", [path], True, threshold=0, timeout=300)
    elapsed = time.perf_counter() - t0
    (value,) = result["values"]
    if value["size"] != size:
        raise AssertionError(f"{name} client got {value['size']} bytes back, sent {size}")
    return elapsed


def measure(size: int, rounds: int, small_calls: int) -> dict[str, Any]:
    from interop import peerctl

    _pin(1)
    data = os.urandom(size)
    small = os.urandom(SMALL)
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    files = {}
    for label, blob in (("big", data), ("one", b"x")):
        files[label] = work / f"{label}.bin"
        files[label].write_bytes(blob)
    out: dict[str, Any] = {"size": size, "small_size": SMALL, "rounds": [], "skipped": {},
                           "sha256": hashlib.sha256(data).hexdigest()}
    with contextlib.ExitStack() as stack:
        addr = stack.enter_context(_child("--socket-server"))
        py_url = stack.enter_context(_child("--spyne-server", "recv"))
        big: dict[str, Callable[[], float]] = {"zeep_mtom -> spyne_mtom": _mtom_call(py_url,
                                                                                     data)}
        little: dict[str, Callable[[], float]] = {"zeep_mtom -> spyne_mtom": _mtom_call(py_url,
                                                                                        small)}
        servers: dict[str, Any] = {}
        for name in PEERS:
            reason = peerctl.peer_available(name)
            if reason is not None:
                out["skipped"][name] = reason
                continue
            server = stack.enter_context(peerctl.serving(
                name, threshold=0, reply="mtom" if name == "gsoap" else None))
            servers[name] = server
            big[f"zeep_mtom -> {name}"] = _zeep_peer_call(server.wsdl_url("1.1"),
                                                          server.url("1.1"), data)
            little[f"zeep_mtom -> {name}"] = _zeep_peer_call(server.wsdl_url("1.1"),
                                                             server.url("1.1"), small)
        for call in [*big.values(), *little.values()]:
            call()  # warm
        for name, server in servers.items():
            _peer_client(name, server.url("1.1"), files["one"], 1)  # warm: build, JIT cache
        for _ in range(rounds):
            row: dict[str, float] = {"floor": _socket_echo(addr, data)}
            for label, call in big.items():
                row[label] = call()
            for label, call in little.items():
                row[f"small: {label}"] = statistics.median(call() for _ in range(small_calls))
            for name, server in servers.items():
                start = _peer_client(name, server.url("1.1"), files["one"], 1)
                row[f"{name} start"] = start
                row[f"{name} -> {name}"] = (_peer_client(name, server.url("1.1"), files["big"],
                                                         size) - start)
            out["rounds"].append(row)
    for f in files.values():
        f.unlink()
    work.rmdir()
    labels = [k for k in out["rounds"][0] if k != "floor"] if out["rounds"] else []
    out["seconds"] = {k: statistics.median(r[k] for r in out["rounds"]) for k in
                      ["floor", *labels]}
    out["ratio"] = {k: statistics.median(r[k] / r["floor"] for r in out["rounds"])
                    for k in labels if not k.startswith(("small:",)) and not k.endswith("start")}
    return out


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks peers``."""
    size = (16 if args.quick else 64) * MiB
    m = measure(size, 2 if args.quick else 3, 20 if args.quick else 100)
    rows = [Result("peers", f"echo {size // MiB} MiB: raw loopback socket (floor)",
                   m["seconds"]["floor"], size)]
    for label, ratio in m["ratio"].items():
        rows.append(Result("peers", f"echo {size // MiB} MiB: {label}", m["seconds"][label],
                           size, note=f"{ratio:.2f}x the floor"))
    for label, secs in m["seconds"].items():
        if label.startswith("small:"):
            rows.append(Result("peers", f"16 KiB echo, {label[7:]}", secs, SMALL,
                               note=f"{secs * 1e3:.2f} ms per call"))
    for name, reason in m["skipped"].items():
        rows.append(Result("peers", f"{name}: skipped", float("nan"), 0, note=reason))
    if getattr(args, "json", None):
        Path(args.json).with_suffix(".peers.json").write_text(json.dumps(m, indent=1))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__)
    ap.add_argument("--size", type=int, default=64, help="MiB (default 64)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small-calls", type=int, default=100)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    m = measure(args.size * MiB, args.rounds, args.small_calls)
    print(f"floor {m['seconds']['floor']:.3f} s")
    for label, secs in m["seconds"].items():
        if label != "floor":
            ratio = m["ratio"].get(label)
            print(f"{label:34} {secs:8.3f} s" + (f"  {ratio:.2f}x floor" if ratio else ""))
    for name, reason in m["skipped"].items():
        print(f"{name}: skipped ({reason})")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
