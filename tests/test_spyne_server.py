"""Serving under Spyne's WsgiApplication: the request-size cap, the MTOM response body."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import (
    PLAIN_CT,
    VERSIONS,
    decode,
    envelope,
    fault_of,
    make_application,
    pattern,
    post_mtom,
    post_plain,
    post_raw,
    serve_wsgi,
    sha,
    xop,
)
from spyne import Application, File, Integer, ServiceBase, rpc
from spyne.server.wsgi import WsgiApplication

import mtom
import spyne_mtom
from spyne_mtom import Soap11Mtom, wsgi_application
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


# -- through Spyne's WsgiApplication ----------------------------------------------------


def _pipe(data: bytes) -> Any:
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as out:
            out.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return os.fdopen(r, "rb")


class Streams(ServiceBase):  # type: ignore[misc]
    @rpc(_returns=File)
    def piped(ctx: Any) -> Any:
        return File.Value(handle=_pipe(b"from a pipe\r\n" * 1000), type="text/plain")

    @rpc(_returns=File)
    def sized(ctx: Any) -> Any:
        return File.Value(data=[b"s" * 5000])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = Application([Streams], "urn:s", in_protocol=Soap11Mtom(),
                      out_protocol=Soap11Mtom(mtom_reply="always"))
    with serve_wsgi(wsgi_application(app)) as base:
        yield base


def test_content_length_survives_spynes_chunked_mode(url: str) -> None:
    resp = post_plain(url, "1.1", envelope("1.1", "<s:sized xmlns:s='urn:s'/>"))
    assert resp.headers.get("Transfer-Encoding") is None
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    assert resp.headers["MIME-Version"] == "1.0"


def test_unknown_length_goes_chunked(url: str) -> None:
    resp = post_plain(url, "1.1", envelope("1.1", "<s:piped xmlns:s='urn:s'/>"))
    assert resp.status_code == 200
    assert "Content-Length" not in resp.headers
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    (att,) = decode(resp).values.values()
    assert att.read() == b"from a pipe\r\n" * 1000 and att.content_type == "text/plain"
    assert PLAIN_CT["1.1"].startswith("text/xml")


def test_mtom_wsgi_application_uses_the_file_wrapper() -> None:
    import io

    from spyne_mtom import MtomWsgiApplication

    class Wrapper:
        def __init__(self, filelike: Any, block: int):
            self.filelike, self.block = filelike, block

    app = Application([Streams], "urn:s", in_protocol=Soap11Mtom(),
                      out_protocol=Soap11Mtom(mtom_reply="always"))
    wsgi = wsgi_application(app)
    assert isinstance(wsgi, MtomWsgiApplication)
    seen: dict[str, Any] = {}

    def call(op: str, wrapper: Any) -> Any:
        req = envelope("1.1", f"<s:{op} xmlns:s='urn:s'/>")
        env = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/xml", "PATH_INFO": "/",
               "wsgi.input": io.BytesIO(req), "CONTENT_LENGTH": str(len(req)),
               "QUERY_STRING": "", "SERVER_NAME": "x", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http"}
        if wrapper is not None:
            env["wsgi.file_wrapper"] = wrapper
        result = wsgi(env, lambda status, headers: seen.update(headers=dict(headers)))
        assert "spyne_mtom.body" not in env
        return result

    result = call("sized", Wrapper)
    assert isinstance(result, Wrapper) and isinstance(result.filelike, mtom.PackageStream)
    body = result.filelike.read()
    assert len(body) == int(seen["headers"]["Content-Length"])
    # No wrapper offered, or a length nobody knows: the ordinary iterable.
    assert not isinstance(call("sized", None), Wrapper)
    piped = call("piped", Wrapper)
    assert not isinstance(piped, Wrapper)
    assert b"from a pipe" in b"".join(piped)


def test_plain_wsgi_application_sends_the_mtom_body_chunked() -> None:
    """Without MtomWsgiApplication, Spyne drops the length: the body goes chunked, intact."""
    app = Application([Streams], "urn:s", in_protocol=Soap11Mtom(),
                      out_protocol=Soap11Mtom(mtom_reply="always"))
    with serve_wsgi(WsgiApplication(app)) as base:
        resp = post_plain(base, "1.1", envelope("1.1", "<s:sized xmlns:s='urn:s'/>"))
    assert resp.status_code == 200 and "Content-Length" not in resp.headers
    (att,) = decode(resp).values.values()
    assert att.read() == b"s" * 5000


def test_concurrent_calls_each_get_their_own_length() -> None:
    """The per-call link (a ContextVar) never mixes two requests served by parallel threads."""
    from concurrent.futures import ThreadPoolExecutor

    class Sizes(ServiceBase):  # type: ignore[misc]
        @rpc(Integer, _returns=File)
        def sized(ctx: Any, n: int) -> Any:
            return File.Value(data=[b"z" * n])

    app = Application([Sizes], "urn:z", in_protocol=Soap11Mtom(),
                      out_protocol=Soap11Mtom(mtom_reply="always", threshold=0))
    with serve_wsgi(wsgi_application(app)) as base:
        def call(n: int) -> tuple[int, int, bytes]:
            resp = post_plain(base, "1.1", envelope(
                "1.1", f"<z:sized xmlns:z='urn:z'><z:n>{n}</z:n></z:sized>"))
            (att,) = decode(resp).values.values()
            return int(resp.headers["Content-Length"]), len(resp.content), att.read()

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, [1000 + 7 * i for i in range(40)]))
    for i, (declared, actual, value) in enumerate(results):
        assert declared == actual and value == b"z" * (1000 + 7 * i)
