"""The fuzz harness (tests/fuzz.py): a short run on every test command, and its checks.

``MTOM_FUZZ_SECONDS`` sets the length of the run (default 30 s); run
``python -m tests.fuzz --minutes 60`` for a long one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import fuzz

ROOT = Path(__file__).resolve().parent.parent


def test_short_fuzz_run(tmp_path: Path) -> None:
    """Coverage-guided (atheris) when installed, random mutation otherwise; seeded
    from the corpus. Crash inputs land in tmp_path and are named in the output."""
    seconds = os.environ.get("MTOM_FUZZ_SECONDS", "30")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz", "--seconds", seconds],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=float(seconds) * 4 + 120)
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("crash-"))
    assert proc.returncode == 0 and not crashes, (crashes, proc.stdout[-3000:],
                                                  proc.stderr[-3000:])


def test_seeds_pass_the_invariants() -> None:
    fuzz._import_core()
    seeds = fuzz.seeds()
    assert len(seeds) > 1
    for data in seeds[:20]:
        fuzz.check(data, budget=False)


def test_a_chunk_dependent_outcome_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    fuzz._import_core()
    monkeypatch.setattr(fuzz, "decode", lambda ct, chunks: ("ok", len(chunks)))
    with pytest.raises(fuzz.FuzzFailure, match="differs from whole"):
        fuzz.check(b"ct\n--b\r\n\r\nx\r\n--b--", budget=False)


def test_a_superlinear_cost_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    fuzz._import_core()

    def quadratic(ct: str, chunks: list[bytes]) -> tuple[object, ...]:
        for i in range(len(chunks)):
            for _ in range(i):
                len(b"")
        return ("ok",)

    monkeypatch.setattr(fuzz, "decode", quadratic)
    with pytest.raises(fuzz.FuzzFailure, match="calls for"):
        fuzz.check(b"ct\n" + b"x" * 1000)


def test_unprintable_error_messages_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    fuzz._import_core()
    import mtom

    class Raw(mtom.MalformedMime):
        def __str__(self) -> str:
            return "bad \x00 text"

    def fail(*args: object, **kwargs: object) -> None:
        raise Raw("x")

    monkeypatch.setattr(mtom, "PackageReader", fail)
    with pytest.raises(fuzz.FuzzFailure, match="unprintable"):
        fuzz.decode("multipart/related; boundary=b", [b""])
