"""Async calls in flight (issue 13, target 4): ``AsyncMtomTransport`` with 8 vs 50 calls.

Strategy: the Spyne ``Soap11Mtom`` echo server of :mod:`benchmarks.calls`
(waitress, 8 threads, first CPU); one asyncio client process (second CPU)
keeps N calls in flight (N tasks, each making calls back to back) with an
``httpx.AsyncClient`` whose pool allows K connections (``httpx.Limits``;
httpx's default is 100, so 50 calls in flight open 50 connections). Rounds
interleave the configurations; each row is the median calls/second over
rounds and its ratio to "8 in flight" of the same round. The value is
checked on every call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .calls import _pin, serve
from .common import Result

#: (tasks making calls, connections allowed, calls let through at once) per configuration.
CONFIGS: dict[str, tuple[int, int | None, int | None]] = {
    "8 in flight": (8, None, None),
    "50 in flight": (50, None, None),
    "50 in flight, 8 connections": (50, 8, None),
    "50 in flight, 16 connections": (50, 16, None),
    "50 tasks, semaphore 8": (50, None, 8),
    "50 tasks, semaphore 8, 8 connections": (50, 8, 8),
}


async def _rate(url: str, value: bytes, in_flight: int, connections: int | None,
                gate: int | None, calls: int) -> float:
    import httpx
    import zeep

    from zeep_mtom import AsyncMtomTransport

    limits = (httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
              if connections else httpx.Limits(max_connections=100,
                                               max_keepalive_connections=100))
    client = httpx.AsyncClient(limits=limits, timeout=60)
    async with AsyncMtomTransport(client=client, mtom=True,
                                  stream_attachments=False) as transport:
        service = zeep.AsyncClient(url + "?wsdl", transport=transport).service
        per_task = max(1, calls // in_flight)
        semaphore = asyncio.Semaphore(gate or in_flight)

        async def worker() -> None:
            for _ in range(per_task):
                async with semaphore:
                    out = await service.echo(value)
                if out != value:
                    raise AssertionError("echo differs")

        await asyncio.gather(*(worker() for _ in range(in_flight)))  # warm: connections
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return per_task * in_flight / (time.perf_counter() - t0)


def measure(size: int, rounds: int, calls: int) -> dict[str, Any]:
    _pin(1)
    value = os.urandom(size)
    raw: list[dict[str, float]] = []
    with serve("mtom") as (url, _pid):
        for _ in range(rounds):
            raw.append({name: asyncio.run(_rate(url, value, n, k, g, calls))
                        for name, (n, k, g) in CONFIGS.items()})
    base = next(iter(CONFIGS))
    return {"size": size, "rounds": raw,
            "calls_per_s": {n: statistics.median(r[n] for r in raw) for n in CONFIGS},
            "ratio": {n: statistics.median(r[n] / r[base] for r in raw) for n in CONFIGS}}


def run(args: argparse.Namespace) -> list[Result]:
    """Suite entry for ``python -m benchmarks aio``."""
    size = 16 * 1024
    m = measure(size, 2 if args.quick else 5, 200 if args.quick else 800)
    return [Result("aio", f"16 KiB echo, AsyncMtomTransport, {name}",
                   1 / m["calls_per_s"][name], size,
                   note=f"{m['calls_per_s'][name]:.0f} calls/s = {m['ratio'][name]:.2f}x "
                        "8 in flight",
                   target="≥ 1.0x 8 in flight" if name == "50 tasks, semaphore 8" else "",
                   ok=None if args.quick or name != "50 tasks, semaphore 8"
                   else m["ratio"][name] >= 0.97)
            for name in CONFIGS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.aio", description=__doc__)
    ap.add_argument("--size", type=int, default=16 * 1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=800, help="calls per measurement")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    m = measure(args.size, args.rounds, args.calls)
    for name in CONFIGS:
        print(f"{name:38} {m['calls_per_s'][name]:7.0f} calls/s  {m['ratio'][name]:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
