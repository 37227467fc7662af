"""Progress reporting costs nothing when unset, little when set (``python -m benchmarks progress``).

Issue 12 asks for a ``progress=`` callback that costs nothing when unset. The
hot loops it touches are the core's: :class:`mtom.PackageStream` (what the
Zeep transports send; read here in 16 KiB blocks like urllib3) and
:class:`mtom.PackageReader` (what they receive; fed 64 KiB chunks). Each is
timed with ``progress`` unset and with a meter whose callback does nothing
(best of 5, interleaved). Unset, the loops only test ``progress is None``
once per block; set, each block costs one addition and one comparison
(:meth:`mtom.ProgressMeter.advance`): target ≤ 1.15x the unset time on these
in-memory loops, the worst case (a socket or a disk is slower than both). The
note says how many times the callback ran: a bounded number (about a hundred
per transfer), not one per block.
"""

from __future__ import annotations

import argparse

from .common import MiB, Result, timed
from .core import BLOCK, CHUNK, _rechunk, payload_chunks

READ = 16 * 1024


def _package(size: int) -> object:
    import mtom

    return mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:x'/>",
                                [mtom.OutgoingPart(b"".join(payload_chunks(size, BLOCK)))])


def run(args: argparse.Namespace) -> list[Result]:
    import mtom

    quick = bool(getattr(args, "quick", False))
    size = (16 if quick else 256) * MiB
    package = _package(size)
    assert isinstance(package, mtom.OutgoingPackage)
    total = package.content_length
    calls = [0]

    def count(event: mtom.Progress) -> None:
        calls[0] += 1

    def send(with_progress: bool) -> None:
        meter = mtom.ProgressMeter(count, "send", total) if with_progress else None
        stream = package.stream(progress=meter)
        while stream.read(READ):
            pass

    chunks = list(_rechunk(iter(package), CHUNK))

    def receive(with_progress: bool) -> None:
        meter = mtom.ProgressMeter(count, "receive", total) if with_progress else None
        reader = mtom.PackageReader(package.content_type, spool_threshold=1 << 40,
                                    progress=meter)
        for c in chunks:
            reader.feed(c)
        with reader.close() as received:
            assert received.attachments[0].size == size

    results: list[Result] = []
    for name, fn, what in (("send", send, "read a package in 16 KiB blocks"),
                           ("receive", receive, "decode 64 KiB chunks into memory")):
        unset = set_ = float("inf")
        for _ in range(5):  # interleaved, best of each
            unset = min(unset, timed(lambda fn=fn: fn(False), 1))  # type: ignore[misc]
            calls[0] = 0
            set_ = min(set_, timed(lambda fn=fn: fn(True), 1))  # type: ignore[misc]
        ratio = set_ / unset
        results.append(Result("prog", f"{what}, progress unset", unset, size))
        results.append(Result(
            "prog", f"{what}, progress set", set_, size,
            note=f"{calls[0]} callback calls for {size // MiB} MiB ({name})",
            target=f"≤ 1.15x unset (is {ratio:.2f}x)", ok=ratio <= 1.15))
    return results

