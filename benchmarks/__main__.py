"""``python -m benchmarks [SUITE ...] [--quick] [--json FILE]``.

Runs the named suites (core, zeep, spyne, calls and echo by default; ``sizes`` is
the payload-size sweep behind the documentation's figures, ``progress`` the cost of
``progress=``, ``save`` writes a 1 GiB download to disk, ``peers`` the big echo and
small calls against JAX-WS RI and gSOAP, ``asyncscale`` ``AsyncMtomTransport`` with
8 and 50 calls in flight) and prints one table: throughput, peak RSS and whether each
target was met. ``--quick`` uses small sizes
(a smoke run, not the figures for docs/performance.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
from dataclasses import asdict

from .common import Result

SUITES = ("core", "zeep", "spyne", "calls", "echo", "save", "peers", "asyncscale",
          "sizes", "progress")
DEFAULT_SUITES = ("core", "zeep", "spyne", "calls", "echo")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("suites", nargs="*",
                    help=f"any of {', '.join(SUITES)} (default: {' '.join(DEFAULT_SUITES)})")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    results: list[Result] = []
    for name in args.suites or DEFAULT_SUITES:
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            print(f"[{name}] suite not available: {exc}", file=sys.stderr)
            continue
        results.extend(mod.run(args))
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{'quick' if args.quick else 'full'} run")
    print(f"{'suite':6} {'case':58} {'MiB':>7} {'s':>8} {'MiB/s':>8} {'peakRSS':>8}  target")
    failed = 0
    for r in results:
        rss = f"{r.peak_rss_mib:.0f}" if r.peak_rss_mib is not None else "-"
        verdict = "" if r.ok is None else ("PASS " if r.ok else "FAIL ")
        failed += r.ok is False
        print(f"{r.suite:6} {r.case[:58]:58} {r.bytes / 2**20:7.0f} {r.seconds:8.3f} "
              f"{r.mib_per_s:8.0f} {rss:>8}  {verdict}{r.target}")
        if r.note:
            print(f"{'':6} ↳ {r.note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in results], f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
