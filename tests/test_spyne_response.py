"""The MTOM response body and its headers (``spyne_mtom.response``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from _support import PLAIN_CT, decode, envelope, post_plain, serve_wsgi
from spyne import Application, File, ServiceBase, rpc

import mtom
from spyne_mtom import Soap11Mtom, wsgi_application
from spyne_mtom.response import (
    LengthKeepingHeaders,
    PackageBody,
    PackageFile,
    set_package_headers,
)


def _package(*sources: Any) -> mtom.OutgoingPackage:
    return mtom.OutgoingPackage(b"<root/>", [mtom.OutgoingPart(s) for s in sources])


def test_body_yields_bytes_without_copying_bytes_parts() -> None:
    data = os.urandom(5000)
    body = PackageBody(_package(data, bytearray(b"ba"), memoryview(b"xyz")[1:]))
    chunks = list(body)
    assert all(type(c) is bytes for c in chunks)
    assert any(c is data for c in chunks)
    assert b"".join(chunks) == body.package.to_bytes()


def test_on_done_runs_once_after_the_last_chunk() -> None:
    calls: list[int] = []
    body = PackageBody(_package(b"a" * 10), on_done=lambda: calls.append(1))
    it = iter(body)
    next(it)
    assert calls == []
    list(it)
    assert calls == [1]
    list(body)
    assert calls == [1]


def test_on_done_runs_when_the_server_stops_early() -> None:
    calls: list[int] = []
    it = iter(PackageBody(_package(b"a" * 10), on_done=lambda: calls.append(1)))
    next(it)
    it.close()  # type: ignore[attr-defined]
    assert calls == [1]


def test_length_keeping_headers() -> None:
    h = LengthKeepingHeaders({"Content-Type": "x", "Content-Length": "5"})
    del h["Content-Length"]
    assert h.pop("Content-Length") == "5" and h["Content-Length"] == "5"
    del h["Content-Type"]
    assert "Content-Type" not in h
    assert h.pop("X", None) is None


class _Transport:
    def __init__(self) -> None:
        self.resp_headers: dict[str, str] = {"Content-Type": "text/xml", "Content-Length": "9"}


def test_set_package_headers() -> None:
    t = _Transport()
    pkg = _package(b"abc")
    set_package_headers(t, pkg)
    assert isinstance(t.resp_headers, LengthKeepingHeaders)
    assert t.resp_headers["Content-Type"] == pkg.content_type
    assert t.resp_headers["Content-Length"] == str(pkg.content_length)
    unknown = _package(iter([b"x"]))
    set_package_headers(t, unknown)
    assert "Content-Length" not in t.resp_headers
    set_package_headers(object(), pkg)  # a transport without headers: nothing to do


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
    app = Application([Streams], "urn:s", in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
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


# -- the wsgi.file_wrapper path -------------------------------------------------------------


def _file(data: bytes, calls: list[int] | None = None) -> tuple[PackageFile, bytes]:
    pkg = _package(data, data[::-1])
    body = PackageBody(pkg, on_done=(lambda: calls.append(1)) if calls is not None else None)
    assert pkg.content_length is not None
    return PackageFile(body, pkg.content_length), pkg.to_bytes()


@pytest.mark.parametrize("peek, take", [(16384, 16384), (16384, 1000), (3_000_000, 777_777),
                                        (1, 1), (10_000_000, 10_000_000)])
def test_package_file_serves_the_peek_then_consume_pattern(peek: int, take: int) -> None:
    f, expected = _file(os.urandom(min(2_500_000, peek * 3000)))
    # What waitress does: measure the length first...
    start = f.tell()
    f.seek(0, 2)
    assert f.tell() == len(expected)
    f.seek(start)
    out = []
    while True:
        pos = f.tell()
        data = f.read(peek)
        if not data:
            break
        f.seek(pos)
        out.append(f.read(min(take, len(data))))
    assert b"".join(out) == expected


def test_package_file_refuses_to_seek_back_past_released_data() -> None:
    f, expected = _file(os.urandom(3000))
    assert f.read(100) == expected[:100]
    f.read(100)  # releases the first 100 bytes
    with pytest.raises(OSError):
        f.seek(0)
    buf = bytearray(50)
    assert f.readinto(buf) == 50 and bytes(buf) == expected[200:250]
    assert f.read() == expected[250:]
    assert f.read(10) == b""


def test_package_file_close_runs_the_clean_up() -> None:
    calls: list[int] = []
    f, _ = _file(b"x" * 5000, calls)
    f.read(10)
    f.close()
    f.close()
    assert calls == [1] and f.closed


def test_mtom_wsgi_application_uses_the_file_wrapper() -> None:
    import io

    from spyne_mtom import MtomWsgiApplication

    class Wrapper:
        def __init__(self, filelike: Any, block: int):
            self.filelike, self.block = filelike, block

    app = Application([Streams], "urn:s", in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
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
    assert isinstance(result, Wrapper) and isinstance(result.filelike, PackageFile)
    body = result.filelike.read()
    assert len(body) == int(seen["headers"]["Content-Length"])
    # No wrapper offered, or a length nobody knows: the ordinary iterable.
    assert not isinstance(call("sized", None), Wrapper)
    piped = call("piped", Wrapper)
    assert not isinstance(piped, Wrapper)
    assert b"from a pipe" in b"".join(piped)
