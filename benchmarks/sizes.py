"""Payload-size sweep of the Zeep cases: time and memory against size, for the figures.

``python -m benchmarks sizes --json docs/_data/bench-sizes.json`` runs the
client cases of :mod:`benchmarks.zeep` (same server, same fresh-process
measurement) at 1, 4, 16 and 64 MiB (``--quick``: 1, 2 and 4 MiB): soap-mtom's
``MtomTransport`` against Zeep's built-in MTOM reply handling and inline base64,
upload and download. Each row's ``extra`` holds ``rss_growth_mib``; rows carry
no targets (the zeep suite checks those). ``python -m benchmarks.figures`` turns
the JSON into the figures of the documentation's performance page.
"""

from __future__ import annotations

import argparse

from .common import MiB, Result
from .zeep import _measure, _row, serve

#: case id of benchmarks.zeep -> (direction, what the figures call it)
CASES = {
    "mtom-upload-file": ("upload", "soap-mtom MtomTransport (Path value)"),
    "mtom-upload": ("upload", "soap-mtom MtomTransport (bytes value)"),
    "zeep-inline-upload": ("upload", "zeep, inline base64"),
    "mtom-download": ("download", "soap-mtom MtomTransport (bytes)"),
    "mtom-download-stream": ("download", "soap-mtom MtomTransport (stream_attachments)"),
    "zeep-builtin-download": ("download", "zeep built-in MTOM"),
    "zeep-inline-download": ("download", "zeep, inline base64"),
}


def run(args: argparse.Namespace) -> list[Result]:
    sizes = [1, 2, 4] if args.quick else [1, 4, 16, 64]
    rows: list[Result] = []
    with serve() as url:
        for mib in sizes:
            for case, (direction, label) in CASES.items():
                row = _row(f"{direction}: {label}", mib * MiB,
                           _measure(case, url, mib * MiB, 1 if args.quick else 3))
                row.suite = "sizes"
                rows.append(row)
    return rows
