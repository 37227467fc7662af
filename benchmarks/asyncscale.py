"""Async calls in flight (issue 13, target 4): ``python -m benchmarks asyncscale``.

Strategy: the Spyne W3C echo of :mod:`benchmarks.peers` (waitress, 8 threads, in a
child process on the first CPU) answers 16 KiB ``EchoTest`` calls as MTOM; this
process (second CPU) runs one asyncio loop with a ``zeep.AsyncClient`` over
``AsyncMtomTransport(mtom=True)`` and keeps N calls in flight: N tasks, each
making calls back to back. What varies is the ``httpx.AsyncClient`` pool
(``httpx.Limits``: httpx's default is ``max_connections=100``,
``max_keepalive_connections=20``), whether an ``asyncio.Semaphore`` lets
only K of the N calls reach the transport at once, and the transport's own
``max_in_flight`` (calls wait after Zeep built their request). Each configuration warms its
connections first; rounds interleave the configurations (each round starting at
the next one); a row is the median
calls/second over rounds and its median ratio to "8 in flight" of the same
round. Every reply is checked against the value sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import Result, pin, proc_cpu
from .peers import _child

SIZE = 16 * 1024


@dataclass(frozen=True)
class Config:
    """Calls in flight, the pool's limits (None: httpx's defaults), a semaphore (None: no)
    and the transport's ``max_in_flight`` (None: no limit)."""

    in_flight: int
    max_connections: int | None = None
    max_keepalive: int | None = None
    semaphore: int | None = None
    max_in_flight: int | None = None


CONFIGS: dict[str, Config] = {
    "8 in flight (httpx default limits)": Config(8),
    "50 in flight (httpx default limits: 20 kept alive)": Config(50),
    "50 in flight, 50 connections kept alive": Config(50, 100, 50),
    "50 in flight, max_connections=8 (calls queue in the pool)": Config(50, 8, 8),
    "50 in flight, semaphore 8 (default limits)": Config(50, semaphore=8),
    "50 in flight, semaphore 8, max_connections=8": Config(50, 8, 8, 8),
    "50 in flight, max_in_flight=2": Config(50, max_in_flight=2),
    "50 in flight, max_in_flight=4": Config(50, max_in_flight=4),
    "50 in flight, max_in_flight=4, max_connections=4": Config(50, 4, 4, max_in_flight=4),
    "50 in flight, max_in_flight=8": Config(50, max_in_flight=8),
    "8 in flight, max_in_flight=2": Config(8, max_in_flight=2),
}
BASE = next(iter(CONFIGS))
#: The server answers on one CPU: two exchanges at a time keep it busy.
RECOMMENDED = "50 in flight, max_in_flight=4, max_connections=4"


async def _rate(wsdl: str, value: bytes, config: Config, calls: int,
                server_pid: int) -> tuple[float, float, float, float]:
    """(calls/s, client CPU ms per call, server CPU ms per call, TCP connections opened per
    100 calls)."""
    import httpx
    import zeep

    from zeep_mtom import AsyncMtomTransport

    limits = httpx.Limits(max_connections=config.max_connections or 100,
                          max_keepalive_connections=config.max_keepalive or 20)
    http = httpx.AsyncClient(limits=limits, timeout=60)
    # Count the connections the pool opens (instrumentation only: the pool calls
    # self.create_connection for each new one).
    pool = http._transport._pool  # type: ignore[attr-defined]
    opened = [0]
    create = pool.create_connection

    def counting(origin: Any) -> Any:
        opened[0] += 1
        return create(origin)
    pool.create_connection = counting
    transport = AsyncMtomTransport(client=http, mtom=True, stream_attachments=False,
                                   max_in_flight=config.max_in_flight)
    async with transport:
        client = zeep.AsyncClient(wsdl, transport=transport)  # type: ignore[no-untyped-call]
        service = client.service
        gate = (asyncio.Semaphore(config.semaphore) if config.semaphore
                else contextlib.nullcontext())
        per_task = max(1, calls // config.in_flight)

        async def one() -> None:
            async with gate:
                reply = await service.EchoTest(Data=[{"_value_1": value}])
            items = getattr(reply, "Data", reply)
            item = items[0] if isinstance(items, list) else items
            if bytes(item["_value_1"]) != value:
                raise AssertionError("echo differs")

        async def worker(n: int) -> None:
            for _ in range(n):
                await one()

        await asyncio.gather(*(worker(2) for _ in range(config.in_flight)))  # warm up
        done = per_task * config.in_flight
        opened[0] = 0
        c0, s0, t0 = time.process_time(), proc_cpu(server_pid), time.perf_counter()
        await asyncio.gather(*(worker(per_task) for _ in range(config.in_flight)))
        elapsed = time.perf_counter() - t0
        return (done / elapsed, (time.process_time() - c0) * 1e3 / done,
                (proc_cpu(server_pid) - s0) * 1e3 / done, opened[0] * 100 / done)


def measure(rounds: int, calls: int) -> dict[str, Any]:
    """Every configuration ``rounds`` times, interleaved; calls/s and ratio to :data:`BASE`."""
    pin(server=False)
    value = os.urandom(SIZE)
    samples: list[dict[str, tuple[float, float, float, float]]] = []
    with _child("spyne") as (base, pid):
        wsdl = base + "/echo11?wsdl"
        names = list(CONFIGS)
        for r in range(rounds):
            # Each round starts at another configuration, so none always runs first.
            order = names[r % len(names):] + names[:r % len(names)]
            samples.append({name: asyncio.run(_rate(wsdl, value, CONFIGS[name], calls, pid))
                            for name in order})
    load1, load5, _ = os.getloadavg()

    def median(name: str, i: int) -> float:
        return statistics.median(s[name][i] for s in samples)
    return {"size": SIZE, "rounds": rounds, "calls": calls,
            "loadavg": [round(load1, 2), round(load5, 2)], "samples": samples,
            "calls_per_s": {n: median(n, 0) for n in CONFIGS},
            "client_cpu_ms": {n: median(n, 1) for n in CONFIGS},
            "server_cpu_ms": {n: median(n, 2) for n in CONFIGS},
            "connections_per_100_calls": {n: median(n, 3) for n in CONFIGS},
            "ratio": {n: statistics.median(s[n][0] / s[BASE][0] for s in samples)
                      for n in CONFIGS}}


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks asyncscale``."""
    quick = bool(args.quick)
    m = measure(2 if quick else 5, 200 if quick else 800)
    return [Result("async", f"16 KiB echo, {name}", 1 / m["calls_per_s"][name], SIZE,
                   note=f"{m['calls_per_s'][name]:.0f} calls/s = {m['ratio'][name]:.2f}x "
                        f"8 in flight; CPU ms per call: client {m['client_cpu_ms'][name]:.2f}, "
                        f"server {m['server_cpu_ms'][name]:.2f}; "
                        f"{m['connections_per_100_calls'][name]:.0f} connections opened "
                        "per 100 calls",
                   target="≥ 1.0x 8 in flight" if name == RECOMMENDED else "",
                   ok=None if quick or name != RECOMMENDED else m["ratio"][name] >= 1.0)
            for name in CONFIGS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.asyncscale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=800, help="calls per measurement")
    ap.add_argument("--json", type=Path, metavar="FILE")
    args = ap.parse_args(argv)
    m = measure(args.rounds, args.calls)
    for name in CONFIGS:
        print(f"{name:58} {m['calls_per_s'][name]:6.0f} calls/s  {m['ratio'][name]:.2f}x  "
              f"CPU ms/call client {m['client_cpu_ms'][name]:.2f} "
              f"server {m['server_cpu_ms'][name]:.2f}  "
              f"{m['connections_per_100_calls'][name]:.0f} connections per 100 calls")
    if args.json:
        args.json.write_text(json.dumps(m, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
