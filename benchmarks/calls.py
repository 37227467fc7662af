"""Small calls (issue 13, targets 1 and 2): CPU per call and throughput, MTOM vs plain SOAP.

Strategy: two Spyne servers run in child processes (``python -m
benchmarks.calls --serve plain|mtom``: waitress on 127.0.0.1, 8 threads,
pinned to the first CPU), one with Spyne's ``Soap11``, one with
``Soap11Mtom`` (threshold given by ``--threshold``, default the library's);
both serve ``echo(ByteArray) -> ByteArray``. The client (this process,
pinned to the other CPU) runs four configurations:

* ``plain``: zeep ``Transport`` → ``Soap11`` (the baseline);
* ``mtom-off``: ``MtomTransport(mtom=False)`` → ``Soap11``;
* ``plain-to-mtom``: zeep ``Transport`` → ``Soap11Mtom`` (plain request; with
  the default ``mtom_reply="auto"`` the reply is plain too, as JAX-WS RI answers);
* ``mtom``: ``MtomTransport(mtom=True)`` → ``Soap11Mtom``.

CPU is counted, not wall time: the client's ``time.process_time`` and the
server's utime+stime from ``/proc/PID/stat``, both across a batch of calls.
The machine is shared, so the configurations run interleaved (A, B, C, D, A,
B, ...) for ``--rounds`` rounds and each row reports the median over rounds
of its ratio to the baseline *of the same round*. Throughput: 8 threads,
each with its own zeep client, make calls for a fixed count; calls per
second of wall time, again as a ratio within the round.

``--sweep`` (target 2) measures, for value sizes from 64 bytes to 64 KiB, the
CPU per call (client + server) and the bytes on the wire of an MTOM round
trip (``mtom``) against inline base64 through the same adapters
(``MtomTransport(mtom=True, threshold=huge)`` → ``Soap11Mtom(threshold=huge)``),
so the crossing point is where the default threshold should be.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .common import Result, child, cpu_per_call, pin, threaded_throughput

NS = "urn:soap-mtom:bench:calls"
_HUGE = 1 << 40  # a threshold nothing reaches: values stay inline base64
CONFIGS = ("plain", "mtom-off", "plain-to-mtom", "mtom")




def _app(kind: str, threshold: int | None) -> Any:
    from spyne_mtom import Soap11Mtom, wsgi_application  # noqa: I001  (compat before spyne)
    from spyne import Application, ByteArray, ServiceBase, rpc
    from spyne.protocol.soap import Soap11

    class Echo(ServiceBase):  # type: ignore[misc]
        @rpc(ByteArray, _returns=ByteArray)  # type: ignore[untyped-decorator]
        def echo(ctx: Any, data: Any) -> Any:
            return data

    if kind == "plain":
        proto_in: Any = Soap11()
        proto_out: Any = Soap11()
    else:
        kw = {} if threshold is None else {"threshold": threshold}
        proto_in, proto_out = Soap11Mtom(**kw), Soap11Mtom(**kw)
    app = Application([Echo], NS, in_protocol=proto_in, out_protocol=proto_out)
    return wsgi_application(app)


def _serve_forever(kind: str, threshold: int | None) -> None:
    from waitress.server import create_server

    pin(server=True)
    server = create_server(_app(kind, threshold), host="127.0.0.1", port=0, threads=8,
                           ident="bench", connection_limit=200)
    print(f"http://127.0.0.1:{server.effective_port}/", flush=True)
    server.run()


@contextlib.contextmanager
def serve(kind: str, threshold: int | None = None) -> Iterator[tuple[str, int]]:
    args = ["--serve", kind] + ([] if threshold is None else ["--threshold", str(threshold)])
    with child("benchmarks.calls", *args) as started:
        yield started




def _plain_transport() -> Any:
    import zeep
    from zeep.cache import InMemoryCache

    from zeep_mtom import schema_for

    cache = InMemoryCache()
    url = "http://www.w3.org/2005/05/xmlmime"
    cache.add(url, schema_for(url))
    return zeep.Transport(cache=cache)


def make_call(config: str, url: str, value: bytes,
              threshold: int | None = None) -> Callable[[], None]:
    """One zeep client for ``config``; returns a function making one checked call."""
    import zeep

    from zeep_mtom import MtomTransport

    kw = {} if threshold is None else {"threshold": threshold}
    transport: Any
    if config in ("plain", "plain-to-mtom"):
        transport = _plain_transport()
    elif config == "mtom-off":
        transport = MtomTransport(mtom=False)
    else:
        transport = MtomTransport(mtom=True, stream_attachments=False, **kw)
    client = zeep.Client(url + "?wsdl", transport=transport)
    service = client.service

    def call() -> None:
        out = service.echo(value)
        if out != value:
            raise AssertionError(f"{config}: echo returned {len(out or b'')} bytes, "
                                 f"sent {len(value)}")
    call()  # warm: WSDL, connection
    return call






def run_small(size: int, rounds: int, n: int, per_thread: int,
              threshold: int | None) -> dict[str, Any]:
    """Interleaved rounds of the four configurations; raw figures per round."""
    value = os.urandom(size)
    pin(server=False)
    out: dict[str, Any] = {"size": size, "rounds": [], "calls": n, "per_thread": per_thread}
    with serve("plain") as (plain_url, plain_pid), \
            serve("mtom", threshold) as (mtom_url, mtom_pid):
        where = {"plain": (plain_url, plain_pid), "mtom-off": (plain_url, plain_pid),
                 "plain-to-mtom": (mtom_url, mtom_pid), "mtom": (mtom_url, mtom_pid)}
        single = {c: make_call(c, where[c][0], value, threshold) for c in CONFIGS}
        eight = {c: [make_call(c, where[c][0], value, threshold) for _ in range(8)]
                 for c in CONFIGS}
        for _ in range(rounds):
            row: dict[str, Any] = {}
            for c in CONFIGS:
                client, server = cpu_per_call(single[c], where[c][1], n)
                row[c] = {"client_cpu": client, "server_cpu": server}
            for c in CONFIGS:
                row[c]["calls_per_s"] = threaded_throughput(eight[c], per_thread)
            out["rounds"].append(row)
    return out


def summarise(raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Medians over rounds: absolute figures and ratios to ``plain`` of the same round."""
    def med(values: list[float]) -> float:
        return statistics.median(values)

    res: dict[str, dict[str, float]] = {}
    for c in CONFIGS:
        rows = [(r[c], r["plain"]) for r in raw["rounds"]]
        res[c] = {
            "client_ms": med([m["client_cpu"] * 1e3 for m, _ in rows]),
            "server_ms": med([m["server_cpu"] * 1e3 for m, _ in rows]),
            "calls_per_s": med([m["calls_per_s"] for m, _ in rows]),
            "cpu_ratio": med([(m["client_cpu"] + m["server_cpu"])
                              / (b["client_cpu"] + b["server_cpu"]) for m, b in rows]),
            "client_ratio": med([m["client_cpu"] / b["client_cpu"] for m, b in rows]),
            "server_ratio": med([m["server_cpu"] / b["server_cpu"] for m, b in rows]),
            "throughput_ratio": med([m["calls_per_s"] / b["calls_per_s"] for m, b in rows]),
        }
    # MTOM's own cost, over the same HTTP layer (MtomTransport's session either way).
    pairs = [(r["mtom"], r["mtom-off"]) for r in raw["rounds"]]
    res["mtom"]["client_vs_off"] = med([m["client_cpu"] / o["client_cpu"] for m, o in pairs])
    res["mtom"]["throughput_vs_off"] = med([m["calls_per_s"] / o["calls_per_s"]
                                            for m, o in pairs])
    return res


class _Counting:
    """Counts bytes a requests session sends and receives (request and reply bodies)."""

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0


def run_sweep(sizes: list[int], rounds: int, n: int) -> list[dict[str, Any]]:
    """MTOM vs inline base64 through the same adapters, per value size."""
    import zeep

    from zeep_mtom import MtomTransport

    pin(server=False)
    rows: list[dict[str, Any]] = []
    with serve("mtom", 0) as (mtom_url, mtom_pid), \
            serve("mtom", _HUGE) as (inline_url, inline_pid):
        for size in sizes:
            value = os.urandom(size)
            calls: dict[str, tuple[Callable[[], None], int]] = {}
            wire: dict[str, int] = {}
            for name, url, pid, thr in (("mtom", mtom_url, mtom_pid, 0),
                                        ("inline", inline_url, inline_pid, _HUGE)):
                transport = MtomTransport(mtom=True, threshold=thr, stream_attachments=False)
                client = zeep.Client(url + "?wsdl", transport=transport)
                counter = _Counting()

                def hook(r: Any, *a: Any, counter: _Counting = counter, **k: Any) -> Any:
                    body = r.request.body
                    counter.sent += (len(body) if isinstance(body, (bytes, str))
                                     else int(r.request.headers.get("Content-Length", 0)))
                    counter.received += int(r.headers.get("Content-Length", 0))
                    return r
                transport.session.hooks["response"].append(hook)
                svc = client.service

                def call(svc: Any = svc, value: bytes = value) -> None:
                    if svc.echo(value) != value:
                        raise AssertionError("echo differs")
                call()
                wire[name] = counter.sent + counter.received
                calls[name] = (call, pid)
            per: dict[str, list[tuple[float, float]]] = {"mtom": [], "inline": []}
            for _ in range(rounds):
                for name, (call, pid) in calls.items():
                    per[name].append(cpu_per_call(call, pid, n))

            def med(name: str, which: int, per: dict[str, list[tuple[float, float]]] = per
                    ) -> float:
                return statistics.median(sum(r) if which < 0 else r[which]
                                         for r in per[name]) * 1e3
            ratios = [sum(m) / sum(i) for m, i in zip(per["mtom"], per["inline"], strict=True)]
            rows.append({"size": size, "mtom_ms": med("mtom", -1),
                         "inline_ms": med("inline", -1), "cpu_ratio": statistics.median(ratios),
                         "mtom_client_ms": med("mtom", 0), "inline_client_ms": med("inline", 0),
                         "mtom_server_ms": med("mtom", 1), "inline_server_ms": med("inline", 1),
                         "mtom_wire": wire["mtom"], "inline_wire": wire["inline"]})
    return rows


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks calls``."""
    quick = args.quick
    raw = run_small(16 * 1024, rounds=3 if quick else 7, n=40 if quick else 300,
                    per_thread=10 if quick else 60, threshold=None)
    s = summarise(raw)
    results: list[Result] = []
    size = 16 * 1024

    def row(case: str, c: str, target: str, ok: bool | None, **extra: float) -> None:
        m = s[c]
        note = (f"client {m['client_ms']:.3f} ms + server {m['server_ms']:.3f} ms CPU/call; "
                f"CPU {m['cpu_ratio']:.2f}x, server {m['server_ratio']:.2f}x, "
                f"8-client throughput {m['calls_per_s']:.0f}/s = "
                f"{m['throughput_ratio']:.2f}x plain")
        results.append(Result("calls", case, (m["client_ms"] + m["server_ms"]) / 1e3, size,
                              None, note, target, None if quick else ok,
                              {k: round(v, 4) for k, v in m.items()}))

    row("16 KiB echo: zeep Transport -> Soap11 (baseline)", "plain", "", None)
    mo = s["mtom-off"]
    row("16 KiB echo: MtomTransport(mtom=False) -> Soap11", "mtom-off",
        "CPU and throughput no worse than plain beyond noise (5%)",
        mo["cpu_ratio"] <= 1.05 and mo["throughput_ratio"] >= 0.95)
    pm = s["plain-to-mtom"]
    row("16 KiB echo: zeep Transport -> Soap11Mtom", "plain-to-mtom",
        "server CPU ≤ 1.05x Soap11", pm["server_ratio"] <= 1.05)
    m = s["mtom"]
    row("16 KiB echo: MtomTransport(mtom=True) -> Soap11Mtom", "mtom",
        "CPU ≤ 1.10x plain, 8-client throughput ≥ 0.9x",
        m["cpu_ratio"] <= 1.10 and m["throughput_ratio"] >= 0.9)
    results[-1].note += (f"; vs mtom=False (same session): client CPU {m['client_vs_off']:.2f}x, "
                         f"throughput {m['throughput_vs_off']:.2f}x")
    if getattr(args, "json_calls", None):
        Path(args.json_calls).write_text(json.dumps({"raw": raw, "summary": s}, indent=1))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.calls", description=__doc__)
    ap.add_argument("--serve", choices=("plain", "mtom"))
    ap.add_argument("--threshold", type=int)
    ap.add_argument("--size", type=int, default=16 * 1024)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=300, help="calls per CPU batch")
    ap.add_argument("--per-thread", type=int, default=60, help="calls per thread, 8 threads")
    ap.add_argument("--sweep", action="store_true", help="threshold sweep (target 2)")
    ap.add_argument("--sizes", type=int, nargs="*", help="value sizes for --sweep (bytes)")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    if args.serve:
        _serve_forever(args.serve, args.threshold)
        return 0
    if args.sweep:
        sizes = args.sizes or [256, 1024, 2048, 4096, 8192, 16384, 24576, 32768, 49152, 65536]
        out: Any = run_sweep(sizes, args.rounds, args.calls)
        print(f"{'size':>7} {'mtom ms':>8} {'inline ms':>9} {'cpu x':>6} {'client x':>8} "
              f"{'server x':>8} {'mtom wire':>10} {'inline wire':>11}")
        for r in out:
            print(f"{r['size']:7d} {r['mtom_ms']:8.3f} {r['inline_ms']:9.3f} "
                  f"{r['cpu_ratio']:6.2f} {r['mtom_client_ms'] / r['inline_client_ms']:8.2f} "
                  f"{r['mtom_server_ms'] / max(r['inline_server_ms'], 1e-9):8.2f} "
                  f"{r['mtom_wire']:10d} {r['inline_wire']:11d}")
    else:
        raw = run_small(args.size, args.rounds, args.calls, args.per_thread, args.threshold)
        out = {"raw": raw, "summary": summarise(raw)}
        print(f"{'config':14} {'client ms':>9} {'server ms':>9} {'cpu x':>6} {'srv x':>6} "
              f"{'calls/s':>8} {'thru x':>6}")
        for c, m in out["summary"].items():
            print(f"{c:14} {m['client_ms']:9.3f} {m['server_ms']:9.3f} {m['cpu_ratio']:6.2f} "
                  f"{m['server_ratio']:6.2f} {m['calls_per_s']:8.0f} "
                  f"{m['throughput_ratio']:6.2f}")
        mt = out["summary"]["mtom"]
        print(f"mtom vs mtom-off (the same session): client CPU {mt['client_vs_off']:.2f}x, "
              f"throughput {mt['throughput_vs_off']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
