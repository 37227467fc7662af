"""Helpers shared by test modules (importable: pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def fds_under(directory: Path) -> list[str]:
    """Open file descriptors of this process whose target lies in ``directory``.

    A spooled attachment is an unlinked temporary file: it has no directory
    entry, but its descriptor's link still names the spool directory, so this
    is how a test sees that nothing is left open.
    """
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            out.append(target)
    return out


def run_counting_calls(fn: Callable[[], T]) -> tuple[T, int]:
    """Run ``fn()``; return its result and how many Python and C function calls it made.

    A deterministic measure of work for tests and the fuzz harness (never a
    timing): a loop that re-walks earlier input, or a lookup that scans a list,
    shows up as calls growing faster than the input.
    """
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return result, count


def calls_during(fn: Callable[[], object]) -> int:
    """How many function calls running ``fn()`` makes (see :func:`run_counting_calls`)."""
    return run_counting_calls(fn)[1]


def peak_traced_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by Python while ``fn()`` runs (tracemalloc), above the start."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def multipart_body(parts: Sequence[tuple[str, bytes]], boundary: str = "b",
                   root: bytes | None = None) -> bytes:
    """A CRLF-framed multipart body: an optional XML root part, then ``(headers, data)``."""
    out = []
    if root is not None:
        out.append(f"--{boundary}\r\nContent-Type: application/xop+xml; type=\"text/xml\"\r\n"
                   "Content-ID: <root>\r\n\r\n".encode() + root + b"\r\n")
    for headers, data in parts:
        out.append(f"--{boundary}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a server started in another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(cmd: list[str], port: int, *, env: dict[str, str] | None = None,
                   cwd: Path | None = None, start_timeout: float = 60) -> Iterator[str]:
    """Run ``cmd`` (a server listening on 127.0.0.1:``port``); yield its URL, stop it after.

    Fails with the server's stderr if it exits before it accepts connections.
    """
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"{cmd} exited with {proc.returncode}: {err}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, f"{cmd} did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()
