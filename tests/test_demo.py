"""The README's main job: the demo runs end to end and checks its own results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_round_trip_through_spyne_and_zeep() -> None:
    out = subprocess.run([sys.executable, "-m", "demo", "--size", "300000"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("sha256 OK") == 3
    assert "fewer bytes than inline base64" in out.stdout
    assert "MTOM/XOP, SOAP 1.2, 2 parts" in out.stdout  # mtom inspect of the upload
    assert "Traceback" not in out.stderr


def test_core_only_demo() -> None:
    out = subprocess.run([sys.executable, "-m", "demo", "--core-only", "--size", "100000"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sha256 match: True" in out.stdout
