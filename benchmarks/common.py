"""Shared helpers for the benchmark suites: timing, peak RSS, result rows."""

from __future__ import annotations

import gc
import hashlib
import os
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MiB = 1024 * 1024


@dataclass
class Result:
    """One measured case. ``target`` says what it must meet and ``ok`` whether it did."""

    suite: str
    case: str
    seconds: float
    bytes: int
    peak_rss_mib: float | None = None
    note: str = ""
    target: str = ""
    ok: bool | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def mib_per_s(self) -> float:
        return (self.bytes / MiB) / self.seconds if self.seconds > 0 else float("inf")


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def current_rss_mib() -> float:
    """Resident set size of this process now (Linux /proc), MiB."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MiB


def peak_rss_mib() -> float:
    """Peak RSS of this process so far (MiB).

    Read from VmHWM in /proc/self/status: unlike ``getrusage().ru_maxrss``,
    which Linux carries across fork+exec (a child started from a big parent
    reports the parent's peak), VmHWM belongs to this address space only.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def payload_chunks(size: int, block: bytes) -> Iterator[bytes]:
    """``size`` bytes made of repeats of ``block``, yielded ``len(block)`` bytes at a time."""
    left = size
    while left > 0:
        chunk = block[: min(left, len(block))]
        left -= len(chunk)
        yield chunk


def payload_sha256(size: int, block: bytes) -> str:
    """SHA-256 of :func:`payload_chunks` for the same arguments."""
    h = hashlib.sha256()
    for c in payload_chunks(size, block):
        h.update(c)
    return h.hexdigest()
