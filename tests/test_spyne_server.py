"""Serving under Spyne's WsgiApplication: the request-size cap and its documentation."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_wsgi
from spyne.server.wsgi import WsgiApplication
from test_spyne_support import (
    VERSIONS,
    decode,
    envelope,
    fault_of,
    make_application,
    pattern,
    post_mtom,
    post_raw,
    sha,
    xop,
)

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


def test_ten_thousand_part_request_is_refused_in_bounded_memory() -> None:
    """Issue 8: a 1.1 MB request with 10,000 parts grew the server by 197 MiB before
    the max_parts error. The client and the server run in this process: tracemalloc
    sees both (no timing involved)."""
    from _support import multipart_body, peak_traced_bytes
    root = envelope("1.1", "<t:digest><t:data>AAAA</t:data></t:digest>")
    body = multipart_body([("Content-ID: <p>", b"x" * 100)] * 10_000, root=root)
    ct = 'multipart/related; boundary="b"; type="application/xop+xml"; start="<root>"'
    responses: list[Any] = []
    with serve_wsgi(spyne_mtom.wsgi_application(make_application("1.1"))) as url:
        peak = peak_traced_bytes(lambda: responses.append(post_raw(url, body, ct)))
    info = fault_of(responses[0], "1.1")
    assert info.code == "Client" and "max_parts" in info.string
    assert peak < 16 * len(body), (peak, len(body))
