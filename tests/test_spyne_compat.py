"""spyne_mtom.compat: Spyne 2.14 imports and serves on every supported Python (3.10-3.13)."""

from __future__ import annotations

import subprocess
import sys
import types
from typing import Any

import pytest
import requests
from lxml import etree

import spyne_mtom  # noqa: F401  (first: on 3.12+ Spyne 2.14 imports only after this)
from spyne_mtom import compat

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://example.org/plain"


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)


def test_installed_exactly_where_needed() -> None:
    installed = [f for f in sys.meta_path if isinstance(f, compat.SixMovesFinder)]
    assert compat.needed() is (sys.version_info >= (3, 12))
    assert len(installed) == (1 if compat.needed() else 0)
    compat.install()  # idempotent
    assert len([f for f in sys.meta_path if isinstance(f, compat.SixMovesFinder)]) == len(installed)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Spyne 2.14 imports unaided before 3.12")
def test_spyne_alone_fails_on_312_and_later() -> None:
    """Why the layer exists: without spyne_mtom, PyPI's Spyne 2.14 does not import here."""
    proc = _run("import spyne")
    if proc.returncode == 0:
        pytest.skip("the installed Spyne imports on its own (a fixed release): no layer needed")
    assert "spyne.util.six.moves" in proc.stderr


def test_spyne_imports_after_spyne_mtom_in_a_fresh_interpreter() -> None:
    proc = _run("import spyne_mtom, spyne\n"
                "from spyne.util.six.moves.urllib.parse import quote\n"
                "from spyne.util.six.moves import collections_abc\n"
                "import collections.abc\n"
                "assert collections_abc is collections.abc\n"
                "assert collections.abc.__spec__.name != 'spyne.util.six.moves.collections_abc'\n"
                "print(quote('a b'))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "a%20b"


def test_finder_answers_only_for_six_moves() -> None:
    finder = compat.SixMovesFinder()
    assert finder.find_spec("json") is None
    assert finder.find_spec("spyne.util.sixty") is None
    assert finder.find_spec("spyne.util.six.moves.no_such_name") is None
    if compat.needed():
        spec = finder.find_spec("spyne.util.six.moves")
        assert spec is not None and spec.loader is finder
        assert spec.submodule_search_locations is not None  # a package


def test_finder_steps_aside_for_a_six_with_find_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    class FixedImporter:
        known_modules = {"spyne.util.six.moves": types.ModuleType("moves")}

        def find_spec(self, *args: Any) -> None:
            return None

    fixed = types.ModuleType("spyne.util.six")
    fixed._importer = FixedImporter()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "spyne.util.six", fixed)
    assert compat.SixMovesFinder().find_spec("spyne.util.six.moves") is None


def test_plain_spyne_service_works_after_importing_spyne_mtom(wsgi_server: Any) -> None:
    """A Spyne service with Spyne's own Soap11 (no MTOM) in the same process."""
    from spyne import Application, Integer, ServiceBase, Unicode, rpc
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

    class Plain(ServiceBase):  # type: ignore[misc]
        @rpc(Unicode, Integer, _returns=Unicode)  # type: ignore[untyped-decorator]
        def Repeat(ctx: Any, text: str, times: int) -> str:
            return text * times

    app = Application([Plain], TNS, in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
    body = (f'<e:Envelope xmlns:e="{SOAP11}" xmlns:t="{TNS}"><e:Body>'
            "<t:Repeat><t:text>ab</t:text><t:times>3</t:times></t:Repeat>"
            "</e:Body></e:Envelope>").encode()
    with wsgi_server(WsgiApplication(app)) as url:
        wsdl = requests.get(url + "/?wsdl", timeout=10)
        reply = requests.post(url + "/", data=body, timeout=10,
                              headers={"Content-Type": "text/xml; charset=utf-8",
                                       "SOAPAction": '"Repeat"'})
    assert wsdl.status_code == 200 and b"RepeatResponse" in wsdl.content
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/xml")
    result = etree.fromstring(reply.content).find(f".//{{{TNS}}}RepeatResult")
    assert result is not None and result.text == "ababab"


def test_missing_spyne_names_the_extra() -> None:
    proc = _run("import sys; sys.modules['spyne'] = None\nimport spyne_mtom")
    assert proc.returncode != 0
    assert 'pip install "soap-mtom[spyne]"' in proc.stderr
    assert "ImportError" in proc.stderr
