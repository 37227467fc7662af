"""The distribution as users get it: build the wheel and sdist, install each extra alone.

Builds with ``python -m build`` (sdist, then the wheel from the sdist), checks what
each contains, installs the wheel into a fresh venv per extra (``[zeep]`` alone,
``[spyne]`` alone) from PyPI, and runs a small MTOM round trip in each: the Zeep
venv's client (sync and async transports) against the demo service served here
(SOAP 1.1), the test's client against the Spyne venv's demo service (SOAP 1.2).
The sdist's own tests run from its unpacked tree. Runs with the interpreter the
suite runs on, so ``scripts/test-pythons.sh`` repeats it on every supported Python.
"""

from __future__ import annotations

import contextlib
import email.parser
import hashlib
import os
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import free_port, server_process

import mtom
from mtom_demo import service as demo_service
from zeep_mtom import MtomTransport

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PIP_TIMEOUT = 600
PAYLOAD = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4: a MIME part both ways


def _run(cmd: list[str], *, cwd: Path | None = None, timeout: float = PIP_TIMEOUT,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    wheels = list(out.glob("soap_mtom-*.whl"))
    sdists = list(out.glob("soap_mtom-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _venv_with(tmp: Path, requirement: str) -> Path:
    """A fresh venv (no system site-packages) with ``requirement`` installed; its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(tmp)
    python = tmp / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", requirement])
    return python


def _demo_server(python: Path, soap: str, cwd: Path) -> contextlib.AbstractContextManager[str]:
    """``python -m mtom_demo.service`` (waitress) from another venv, on 127.0.0.1."""
    port = free_port()
    return server_process([str(python), "-m", "mtom_demo.service", "--port", str(port),
                           "--soap", soap], port, cwd=cwd)


def _round_trip(url: str) -> None:
    client = zeep.Client(url + "?wsdl", transport=MtomTransport(mtom=True))
    result = client.service.Upload(name="p.bin", data=PAYLOAD)
    assert result.size == len(PAYLOAD)
    assert result.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert client.service.Download(id=result.id) == PAYLOAD


def test_wheel_contents(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(whl.read(meta_name).decode())
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    # the example service is its own package, not part of an adapter; no interop/, no tests/
    assert tops == {"mtom", "zeep_mtom", "spyne_mtom", "mtom_demo"}
    for data in ("mtom/py.typed", "zeep_mtom/py.typed", "spyne_mtom/py.typed",
                 "mtom_demo/py.typed",
                 "zeep_mtom/schemas/xmlmime-2005-05.xsd",
                 "zeep_mtom/schemas/xmlmime-2004-11.xsd",
                 "zeep_mtom/schemas/xop-include.xsd"):
        assert data in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert meta["Version"] == mtom.__version__
    assert meta["License-Expression"] == "MIT"
    requires = meta.get_all("Requires-Dist") or []
    assert any(r.startswith("zeep[async]") and 'extra == "zeep"' in r for r in requires)
    assert any(r.startswith("legacy-cgi") and 'extra == "spyne"' in r for r in requires)


def test_sdist_contents_and_its_tests_run(dist: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(dist["sdist"]) as tar:
        tar.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    for path in ("LICENSE", "CHANGELOG.md", "tests/conftest.py", "tests/_support.py",
                 "tests/data/zeep/gsoap-xop.wsdl", "interop/corpus.py",
                 "zeep_mtom/schemas/xop-include.xsd"):
        assert (tree / path).is_file(), path
    env = {**os.environ, "MTOM_CORPUS": str(tmp_path / "no-corpus")}
    where = _run([sys.executable, "-c", "import mtom, zeep_mtom; print(mtom.__file__)"],
                 cwd=tree, env=env)
    assert Path(where.stdout.strip()).is_relative_to(tree)  # the sdist's code, not the repo's
    tests = ["tests/test_headers.py", "tests/test_limits.py", "tests/test_zeep_schemas.py",
             "tests/test_spyne_compat.py", "tests/test_extras.py"]
    proc = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                cwd=tree, env=env)
    assert " passed" in proc.stdout and " failed" not in proc.stdout


_ZEEP_CLIENT = textwrap.dedent("""
    import asyncio, hashlib, sys
    import zeep
    from zeep_mtom import AsyncMtomTransport, MtomTransport

    url, size = sys.argv[1], int(sys.argv[2])
    payload = bytes(range(256)) * (size // 256)
    client = zeep.Client(url + "?wsdl", transport=MtomTransport(mtom=True))
    result = client.service.Upload(name="p.bin", data=payload)
    assert result.sha256 == hashlib.sha256(payload).hexdigest(), result
    assert client.service.Download(id=result.id) == payload

    async def main():
        transport = AsyncMtomTransport(mtom=True)
        client = zeep.AsyncClient(url + "?wsdl", transport=transport)
        result = await client.service.Upload(name="q.bin", data=payload)
        assert result.size == len(payload), result
        back = await client.service.Download(id=result.id)
        await transport.aclose()
        return back
    assert asyncio.run(main()) == payload
    try:
        import spyne_mtom
    except ImportError as e:
        print("spyne_mtom:", e)
    print("ok")
""")


def test_zeep_extra_alone(dist: dict[str, Path], tmp_path: Path, wsgi_server: Any) -> None:
    python = _venv_with(tmp_path / "venv", f"{dist['wheel']}[zeep]")
    with wsgi_server(demo_service.wsgi_app("1.1")) as url:
        proc = _run([str(python), "-c", _ZEEP_CLIENT, url + "/", "262144"], cwd=tmp_path,
                    timeout=120)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "ok"
    assert lines[0].startswith("spyne_mtom: spyne_mtom needs the soap-mtom[spyne] extra")
    assert 'pip install "soap-mtom[spyne]"' in lines[0]


def test_spyne_extra_alone(dist: dict[str, Path], tmp_path: Path) -> None:
    python = _venv_with(tmp_path / "venv", f"{dist['wheel']}[spyne]")
    proc = subprocess.run([str(python), "-c", "import zeep_mtom"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert 'pip install "soap-mtom[zeep]"' in proc.stderr
    with _demo_server(python, "1.2", tmp_path) as url:
        _round_trip(url + "/")
