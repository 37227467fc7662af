"""Figures of the documentation's performance page, drawn from benchmark JSON.

``python -m benchmarks.figures docs/_data/bench-sizes.json --out DIR`` reads the
rows ``python -m benchmarks sizes --json FILE`` wrote and draws, per direction
(upload, download), time against payload size and client memory (peak RSS
growth) against payload size, one line per case — soap-mtom, Zeep's built-in
MTOM handling, inline base64. Writes ``DIR/{upload,download}-{time,memory}.png``
and prints their paths. The documentation build (``docs/conf.py``) runs this,
so the figures always show the JSON in the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import MiB

#: figure kind -> (y label, value of a row)
METRICS: dict[str, tuple[str, Callable[[dict[str, Any]], float]]] = {
    "time": ("seconds (best of 3)", lambda row: float(row["seconds"])),
    "memory": ("client peak RSS growth (MiB)",
               lambda row: float(row.get("extra", {}).get("rss_growth_mib", "nan"))),
}


def series(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[float, dict[str, Any]]]]]:
    """direction -> case label -> [(MiB, row)] sorted by size, from ``sizes`` rows."""
    out: dict[str, dict[str, list[tuple[float, dict[str, Any]]]]] = defaultdict(dict)
    for row in rows:
        if row.get("suite") != "sizes" or ": " not in row["case"]:
            continue
        direction, label = row["case"].split(": ", 1)
        out[direction].setdefault(label, []).append((row["bytes"] / MiB, row))
    for cases in out.values():
        for points in cases.values():
            points.sort(key=lambda p: p[0])
    return dict(out)


def draw(json_path: Path, out_dir: Path) -> list[Path]:
    """Write the PNG figures for ``json_path`` into ``out_dir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.loads(json_path.read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for direction, cases in sorted(series(rows).items()):
        for kind, (ylabel, value) in METRICS.items():
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
            for label, points in cases.items():
                ax.plot([p[0] for p in points], [value(p[1]) for p in points], marker="o",
                        label=label)
            ax.set_xscale("log", base=2)
            sizes = sorted({p[0] for points in cases.values() for p in points})
            ax.set_xticks(sizes, [f"{x:g}" for x in sizes])
            ax.set_xlabel("payload (MiB)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"Zeep client {direction}: {kind} against payload size")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
            fig.tight_layout()
            path = out_dir / f"{direction}-{kind}.png"
            # Fixed metadata: the same JSON gives the same bytes.
            fig.savefig(path, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.figures", description=__doc__)
    ap.add_argument("json", type=Path, help="output of python -m benchmarks sizes --json")
    ap.add_argument("--out", type=Path, default=Path("docs/_build/figures"))
    args = ap.parse_args(argv)
    paths = draw(args.json, args.out)
    if not paths:
        print(f"no 'sizes' rows in {args.json}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
