"""Serving under Spyne's WsgiApplication: the request-size cap and its documentation."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from _support import (
    VERSIONS,
    decode,
    envelope,
    fault_of,
    make_application,
    pattern,
    post_mtom,
    serve_wsgi,
    sha,
    xop,
)
from spyne.server.wsgi import WsgiApplication

import mtom
import spyne_mtom
from spyne_mtom.server import (
    DEFAULT_BLOCK_LENGTH,
    DEFAULT_MAX_CONTENT_LENGTH,
    SPYNE_MAX_CONTENT_LENGTH,
)


def test_spyne_default_cap_is_documented() -> None:
    app = WsgiApplication(make_application("1.1"))
    assert app.max_content_length == SPYNE_MAX_CONTENT_LENGTH == 2 * 1024 * 1024
    assert "2 MiB" in (spyne_mtom.server.__doc__ or "")


def test_wsgi_application_raises_the_cap() -> None:
    wsgi = spyne_mtom.wsgi_application(make_application("1.1"))
    assert isinstance(wsgi, WsgiApplication)
    assert wsgi.max_content_length == DEFAULT_MAX_CONTENT_LENGTH
    assert wsgi.block_length == DEFAULT_BLOCK_LENGTH
    assert wsgi.chunked is True
    custom = spyne_mtom.wsgi_application(make_application("1.1"), max_content_length=10)
    assert custom.max_content_length == 10


@pytest.mark.parametrize("version", VERSIONS)
def test_three_mib_upload_default_cap_vs_raised(version: str) -> None:
    data = pattern(3 * 1024 * 1024, 1)
    part = mtom.OutgoingPart(data)
    root = envelope(version, f"<t:digest><t:data>{xop(part)}</t:data></t:digest>")
    with serve_wsgi(WsgiApplication(make_application(version))) as url:
        info = fault_of(post_mtom(url, version, root, [part]), version)
    assert info.subcode == "RequestTooLong"
    with serve_wsgi(spyne_mtom.wsgi_application(make_application(version))) as url:
        assert decode(post_mtom(url, version, root, [part])).text("sha256") == sha(data)


def test_legacy_cgi_is_a_dependency_on_python_313() -> None:
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8")
    spyne_extra = re.search(r"^spyne\s*=\s*\[(.*?)\]", text, re.M | re.S)
    assert spyne_extra is not None
    assert re.search(r"legacy-cgi[^\"]*python_version\s*>=\s*'3\.13'", spyne_extra.group(1))
    if sys.version_info >= (3, 13):
        import cgi  # noqa: F401  (provided by legacy-cgi; Spyne's soap11 imports it)


def test_adapter_does_not_import_cgi() -> None:
    src = Path(spyne_mtom.__file__).parent
    for path in src.glob("*.py"):
        assert "import cgi" not in path.read_text("utf-8"), path
