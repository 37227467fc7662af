"""The quick-start code the documentation shows (docs/examples/*.py) runs as printed."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import zeep

from mtom_demo import service as demo_service
from zeep_mtom import MtomTransport

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spyne_quickstart_serves_mtom(wsgi_server: Any) -> None:
    example = _load("quickstart_spyne")
    data = bytes(range(256)) * 400
    with wsgi_server(example.wsgi) as url:
        transport = MtomTransport(mtom=True)
        client = zeep.Client(url + "/?wsdl", transport=transport)
        digest = client.service.Checksum(data=data)
        zeros = client.service.Zeros(size=5000)
        assert transport.last_reply is not None
        reply_is_xop = transport.last_reply.is_xop
        reply_refs = len(transport.last_reply.references)
    assert digest.size == len(data) and digest.sha256 == hashlib.sha256(data).hexdigest()
    assert zeros == bytes(5000)
    assert reply_is_xop and reply_refs == 1  # the 5000-byte value came as a MIME part


def _run_zeep_example(wsgi_server: Any, name: str) -> subprocess.CompletedProcess[str]:
    """Run ``docs/examples/<name>.py`` against the demo service (SOAP 1.1); it must succeed."""
    with wsgi_server(demo_service.wsgi_app("1.1")) as url:
        proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), url + "/?wsdl"],
                              capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_zeep_quickstart_round_trip(wsgi_server: Any) -> None:
    proc = _run_zeep_example(wsgi_server, "quickstart_zeep")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("uploaded 3145728 bytes as ")
    assert lines[1].startswith("downloaded 3145728 bytes, sha256 ")


def test_zeep_progress_example_draws_bars_and_reports(wsgi_server: Any) -> None:
    proc = _run_zeep_example(wsgi_server, "progress_zeep")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("uploaded 8388608 bytes: ") and " as MTOM, " in lines[0]
    assert lines[1].startswith("downloaded 8388608 bytes: sent plain, ")
    assert "received MTOM, 1 part, " in lines[1]
    # tqdm's bars (stderr): each transfer ends at 100%, and the log line of each call
    assert proc.stderr.count("send: 100%") == 2 and proc.stderr.count("receive: 100%") == 2
    assert proc.stderr.count("zeep_mtom: POST ") == 2
