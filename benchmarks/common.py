"""Shared helpers for the benchmark suites: timing, peak RSS, result rows."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


def proc_cpu(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), seconds (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_call(call: Callable[[], object], server_pid: int, n: int) -> tuple[float, float]:
    """(client, server) CPU seconds per call over ``n`` sequential calls."""
    c0, s0 = time.process_time(), proc_cpu(server_pid)
    for _ in range(n):
        call()
    return (time.process_time() - c0) / n, (proc_cpu(server_pid) - s0) / n


def threaded_throughput(calls: Sequence[Callable[[], object]], per_thread: int) -> float:
    """Calls per second with one thread per function in ``calls``, ``per_thread`` calls each.

    The threads start together (a barrier); the first error any of them met is raised.
    """
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls) + 1)

    def work(call: Callable[[], object]) -> None:
        start.wait()
        try:
            for _ in range(per_thread):
                call()
        except BaseException as exc:  # raised below, in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return len(calls) * per_thread / elapsed


#: The repository (benchmark children run ``python -m benchmarks.X`` from here).
ROOT = Path(__file__).resolve().parent.parent


#: The CPUs the first benchmark process could use, passed on to its children: a child
#: started after its parent pinned itself inherits only the client's CPUs, and must not
#: take that for the machine (it could not pin a server away from the client).
CPUS_ENV = "MTOM_BENCH_CPUS"


def _cpus() -> list[int]:
    known = os.environ.get(CPUS_ENV)
    if known:
        return [int(c) for c in known.split(",")]
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    os.environ[CPUS_ENV] = ",".join(map(str, cpus))  # inherited by every child
    return cpus


def pin(*, server: bool, pid: int = 0) -> None:
    """Servers on the first CPU, clients on the others, so they do not steal each other's time.

    ``pid`` 0 is this process (call it before starting threads: they inherit it);
    another pid has every one of its threads pinned. The CPUs are those of the
    first benchmark process (:data:`CPUS_ENV`), whatever this one inherited.
    """
    cpus = _cpus()
    if len(cpus) < 2:
        return
    mask = {cpus[0]} if server else set(cpus[1:])
    tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")] if pid else [0]
    for tid in tasks:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, mask)


@contextlib.contextmanager
def child(module: str, *args: str,
          env: Mapping[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``python -m MODULE ARGS`` in a child process: (the first line it prints, its pid).

    The child prints one line (its address) when it is ready; it is terminated on exit.
    """
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env=None if env is None else dict(env))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line:
            raise RuntimeError(f"benchmark child {module} {' '.join(args)} did not start")
        yield line, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)
