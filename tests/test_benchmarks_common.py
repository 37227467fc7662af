"""benchmarks.common: CPU pinning of benchmark processes (no timing here).

Each check runs in child processes, so the test process's own affinity is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A client pins itself, then starts a server child that pins itself: the server must land
# on the first CPU, not stay on the client's (the bug fixed in session 5).
_PARENT = """
import json, os, subprocess, sys
from benchmarks.common import pin
pin(server=False)
child = subprocess.run([sys.executable, "-c",
    "import os; from benchmarks.common import pin; pin(server=True); "
    "print(sorted(os.sched_getaffinity(0)))"], capture_output=True, text=True, check=True)
print(json.dumps([sorted(os.sched_getaffinity(0)), json.loads(child.stdout)]))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and at least two CPUs")
def test_a_server_started_by_a_pinned_client_gets_its_own_cpu() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k != "MTOM_BENCH_CPUS"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", _PARENT], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env).stdout
    client, server = json.loads(out)
    assert client == cpus[1:]
    assert server == cpus[:1]
