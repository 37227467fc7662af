"""zeep_mtom._http: reply headers read without the email parser's boundary regex, and the
proxy environment asked once per change (issue 13).

Real HTTP on 127.0.0.1 (waitress): the headers a caller sees are the peer's,
the standard library is untouched for everyone else, a session the user
passes in keeps its own adapters, and ``MtomSession`` merges the environment
exactly as requests' own session does (compared case by case) while the
environment changes under it.
"""

from __future__ import annotations

import copy
import http.client
import io
import os
import pickle
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import requests
import requests.adapters
import requests.utils
import urllib3.connection
import urllib3.connectionpool
from _support import serve_wsgi

from zeep_mtom import MtomTransport
from zeep_mtom._http import (
    _MAX_ENDPOINTS,
    MtomHTTPAdapter,
    MtomHTTPResponse,
    MtomSession,
    _HeaderLines,
    coalesce,
)

MULTIPART = ('multipart/related; type="application/xop+xml"; boundary="uuid:4f1c-b7"; '
             'start="<root@x>"; start-info="text/xml"')


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    ctype = {"/multipart": MULTIPART, "/plain": "text/xml; charset=utf-8",
             "/two": MULTIPART}.get(environ["PATH_INFO"], "text/plain")
    headers = [("Content-Type", ctype), ("X-Before", "1")]
    if environ["PATH_INFO"] == "/two":
        headers.append(("Content-Type", "multipart/mixed; boundary=second"))
    start_response("200 OK", [*headers, ("Content-Length", "4")])
    return [b"body"]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(_app) as base:
        yield base.rstrip("/")


def _boundary_compiles(fn: Any) -> tuple[Any, int]:
    """(result of fn(), how many regexes naming the boundary were compiled during it)."""
    real = re.compile
    seen: list[str] = []

    def spy(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, str) and "4f1c" in pattern:
            seen.append(pattern)
        return real(pattern, flags)

    re.purge()
    with mock.patch.object(re, "compile", spy):
        result = fn()
    return result, len(seen)


def test_transport_session_keeps_the_peers_headers_without_the_regex(url: str) -> None:
    transport = MtomTransport()
    resp, compiled = _boundary_compiles(lambda: transport.session.post(url + "/multipart"))
    assert compiled == 0
    assert resp.headers["Content-Type"] == MULTIPART
    assert resp.headers["X-Before"] == "1"
    assert not any(k.lower().startswith("x-zeep-mtom") for k in resp.headers)
    assert isinstance(resp.raw._original_response, MtomHTTPResponse)
    assert resp.content == b"body"
    plain = transport.session.post(url + "/plain")
    assert plain.headers["Content-Type"] == "text/xml; charset=utf-8"
    transport.close()


def test_every_multipart_content_type_comes_back(url: str) -> None:
    transport = MtomTransport()
    resp = transport.session.post(url + "/two")
    assert resp.raw._original_response.msg.get_all("Content-Type") == [
        MULTIPART, "multipart/mixed; boundary=second"]
    transport.close()


def test_the_standard_library_is_left_alone(url: str) -> None:
    MtomTransport().close()
    assert http.client.HTTPResponse.begin is not MtomHTTPResponse.begin
    resp, compiled = _boundary_compiles(lambda: requests.post(url + "/multipart"))
    # Other code keeps the email parser's behaviour: as many boundary regexes as the
    # standard library's own header parse compiles (one up to Python 3.12, none on 3.13).
    header = f"Content-Type: {MULTIPART}\r\n\r\n".encode("latin-1")
    _, stdlib = _boundary_compiles(lambda: http.client.parse_headers(io.BytesIO(header)))
    assert compiled == stdlib
    assert type(resp.raw._original_response) is http.client.HTTPResponse


def test_a_session_passed_in_keeps_its_adapters() -> None:
    session = requests.Session()
    before = session.get_adapter("http://127.0.0.1/")
    transport = MtomTransport(session=session)
    assert transport.session.get_adapter("http://127.0.0.1/") is before
    assert not isinstance(before, MtomHTTPAdapter)
    own = MtomTransport()
    assert isinstance(own.session.get_adapter("https://example.invalid/"), MtomHTTPAdapter)
    assert type(transport.session) is requests.Session and isinstance(own.session, MtomSession)
    transport.close()
    own.close()
    assert session.adapters  # a session passed in is not closed by the transport


def test_a_connection_class_patched_in_by_a_recorder_is_kept(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test recorders (vcrpy) swap urllib3's connection class: our pools make that class
    (only its standard response class is replaced), and keep a response class of its own."""
    made: list[Any] = []

    class Recorded(urllib3.connection.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    class OwnResponse(http.client.HTTPResponse):
        pass

    class OwnReader(Recorded):
        response_class = OwnResponse

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "ConnectionCls", Recorded)
    with MtomTransport() as transport:
        resp = transport.session.post(url + "/multipart")
        assert resp.headers["Content-Type"] == MULTIPART
    assert len(made) == 1 and isinstance(resp.raw._original_response, MtomHTTPResponse)
    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "ConnectionCls", OwnReader)
    with MtomTransport() as transport:
        resp = transport.session.post(url + "/multipart")
    assert len(made) == 2 and type(resp.raw._original_response) is OwnResponse
    assert resp.headers["Content-Type"] == MULTIPART


def test_a_session_made_by_the_user_keeps_both_savings(url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    session = MtomSession()
    session.headers["X-Mine"] = "1"
    transport = MtomTransport(session=session)
    assert transport.session is session
    resp, compiled = _boundary_compiles(lambda: session.post(url + "/multipart"))
    assert compiled == 0 and resp.headers["Content-Type"] == MULTIPART
    _clean_environment(monkeypatch)
    monkeypatch.setenv("https_proxy", "http://p:3128")
    merged, _ = _settings(session, "https://svc.example/ws", {}, None)
    assert merged["proxies"] == {"https": "http://p:3128"}
    mine = requests.adapters.HTTPAdapter()
    session.mount("https://", mine)  # an adapter mounted later wins, as requests has it
    assert session.get_adapter("https://svc.example/ws") is mine
    closed: list[bool] = []
    monkeypatch.setattr(session, "close", lambda: closed.append(True))
    transport.close()
    assert closed == []  # the user's session: the user closes it


# -- MtomSession: the proxy environment --------------------------------------------


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.lower() in (
                "requests_ca_bundle", "curl_ca_bundle"):
            monkeypatch.delenv(name)


_ENVIRONMENTS = [
    {},
    {"http_proxy": "http://p:3128"},
    {"HTTPS_PROXY": "http://sp:3128", "http_proxy": "http://p:3128"},
    {"Http_Proxy": "http://mixed:1"},  # urllib takes any case
    {"all_proxy": "socks5://s:1080"},
    {"http_proxy": "http://p:3128", "no_proxy": "127.0.0.1,.example.com"},
    {"http_proxy": "http://p:3128", "NO_PROXY": "*"},
    {"https_proxy": "http://p:3128", "no_proxy": "127.0.0.0/8, api.example.com:443"},
    {"REQUESTS_CA_BUNDLE": "/tmp/ca.pem", "CURL_CA_BUNDLE": "/tmp/curl.pem"},
    {"CURL_CA_BUNDLE": "/tmp/curl.pem", "http_proxy": ""},
]
_URLS = ["http://127.0.0.1:8080/svc", "https://api.example.com/ws",
         "http://other.example.org:8000/x?wsdl", "https://[::1]:8443/"]
_ARGUMENTS: list[tuple[dict[str, str] | None, Any]] = [
    (None, None), ({}, True), ({"no_proxy": "example.org"}, None),
    ({"http": "http://explicit:1"}, False), ({}, "/etc/own.pem")]


def _settings(session: requests.Session, url: str, proxies: dict[str, str] | None,
              verify: Any) -> tuple[Any, Any]:
    """(what merge_environment_settings returns, the proxies dict it was given, after)."""
    given = copy.deepcopy(proxies)
    merged = session.merge_environment_settings(url, given, None, verify, None)
    return merged, given


@pytest.mark.parametrize("session_settings", [{}, {"proxies": {"https": "http://own:1"},
                                                   "verify": False, "stream": True}])
@pytest.mark.parametrize("environment", _ENVIRONMENTS)
def test_the_environment_is_merged_as_requests_does(
        monkeypatch: pytest.MonkeyPatch, environment: dict[str, str],
        session_settings: dict[str, Any]) -> None:
    _clean_environment(monkeypatch)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ours, theirs = MtomSession(), requests.Session()
    for session in (ours, theirs):
        for name, value in session_settings.items():
            setattr(session, name, value)
    for url in _URLS:
        for proxies, verify in _ARGUMENTS:
            expected = _settings(theirs, url, proxies, verify)
            assert _settings(ours, url, proxies, verify) == expected  # looked up
            assert _settings(ours, url, proxies, verify) == expected  # remembered


def test_an_endpoint_is_looked_up_once_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_environment(monkeypatch)
    real = requests.utils.get_environ_proxies
    lookups: list[str] = []

    def counting(url: str, no_proxy: str | None = None) -> dict[str, str]:
        lookups.append(url)
        return real(url, no_proxy)

    monkeypatch.setattr(requests.utils, "get_environ_proxies", counting)
    session = MtomSession()
    url = "http://127.0.0.1:8080/svc"
    for _ in range(3):
        assert _settings(session, url, {}, None)[0]["proxies"] == {}
    assert len(lookups) == 1
    monkeypatch.setenv("HTTP_PROXY", "http://p:3128")  # a change is seen at the next call
    assert _settings(session, url, {}, None)[0]["proxies"] == {"http": "http://p:3128"}
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _settings(session, url, {}, None)[0]["proxies"] == {}
    monkeypatch.delenv("NO_PROXY")
    assert _settings(session, url, {}, None)[0]["proxies"] == {"http": "http://p:3128"}
    assert len(lookups) == 4
    for i in range(_MAX_ENDPOINTS + 10):  # many endpoints: the memory stays bounded
        _settings(session, f"http://h{i}.example/", {}, None)
    assert session._environment is not None
    assert 0 < len(session._environment.proxies) <= _MAX_ENDPOINTS


def test_system_proxy_settings_are_asked_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where urllib asks the system (macOS, Windows), nothing is remembered."""
    _clean_environment(monkeypatch)
    system = {"http": "http://system-a:1"}
    monkeypatch.setattr(requests.utils, "getproxies", lambda: dict(system))
    session = MtomSession()
    url = "http://127.0.0.1:8080/svc"
    assert _settings(session, url, {}, None)[0]["proxies"] == {"http": "http://system-a:1"}
    system["http"] = "http://system-b:1"
    assert _settings(session, url, {}, None)[0]["proxies"] == {"http": "http://system-b:1"}
    assert session._environment is None


def test_a_pickled_session_starts_without_a_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_environment(monkeypatch)
    session = MtomSession()
    _settings(session, "http://127.0.0.1:8080/svc", {}, None)
    copied = pickle.loads(pickle.dumps(session))
    assert isinstance(copied, MtomSession) and copied._environment is None
    monkeypatch.setenv("http_proxy", "http://p:3128")
    merged, _ = _settings(copied, "http://127.0.0.1:8080/svc", {}, None)
    assert merged["proxies"] == {"http": "http://p:3128"}


def test_trust_env_off_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_environment(monkeypatch)
    monkeypatch.setenv("http_proxy", "http://p:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/tmp/ca.pem")
    session = MtomSession()
    session.trust_env = False
    merged, _ = _settings(session, "http://127.0.0.1:8080/svc", {}, None)
    assert merged["proxies"] == {} and merged["verify"] is True


def test_the_transport_follows_the_proxy_environment_as_it_changes(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Real HTTP: a proxy named in the environment after the first call is used at once,
    and dropped again when ``no_proxy`` names the endpoint."""
    seen: list[str] = []

    def proxy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(f"{environ['REQUEST_METHOD']} {environ.get('HTTP_HOST')}")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
        return [b"proxied"]

    _clean_environment(monkeypatch)
    host = url.split("//", 1)[1]
    with serve_wsgi(proxy) as proxy_url, MtomTransport() as transport:
        def post() -> bytes:
            return transport.session.post(url + "/plain", data=b"<x/>", timeout=10).content

        assert post() == b"body"
        monkeypatch.setenv("http_proxy", proxy_url)
        assert post() == b"proxied"
        assert seen == [f"POST {host}"]
        monkeypatch.setenv("no_proxy", host.split(":")[0])
        assert post() == b"body"
        monkeypatch.delenv("no_proxy")
        monkeypatch.delenv("http_proxy")
        assert post() == b"body"
        assert seen == [f"POST {host}"]


@pytest.mark.parametrize("sizes, size, expected", [
    ([4, 4, 4, 4, 4], 8, [8, 8, 4]),
    ([20, 4, 4], 8, [20, 8]),
    ([3, 20, 1], 8, [23, 1]),
    ([], 8, []),
    ([1], 8, [1]),
])
def test_coalesce_joins_small_chunks_only(sizes: list[int], size: int,
                                          expected: list[int]) -> None:
    chunks = [bytes([i]) * n for i, n in enumerate(sizes)]
    out = list(coalesce(chunks, size))
    assert [len(c) for c in out] == expected
    assert b"".join(out) == b"".join(chunks)



def test_coalesce_hands_a_big_chunk_on_without_a_copy() -> None:
    big = b"x" * 20
    assert next(coalesce([big], 8)) is big


def _chunked_app(environ: dict[str, Any], start_response: Any) -> Any:
    body = bytes(range(256)) * 16  # 4 KiB
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return iter([body] * 200)  # no Content-Length: waitress sends 200 HTTP chunks


def test_a_chunked_reply_reaches_the_decoder_in_big_pieces() -> None:
    with serve_wsgi(_chunked_app) as base:
        resp = requests.get(base, stream=True)
        raw = [len(c) for c in resp.iter_content(1 << 20)]
        resp = requests.get(base, stream=True)
        joined = [len(c) for c in coalesce(resp.iter_content(1 << 20), 64 * 1024)]
    assert sum(raw) == sum(joined) == 200 * 4096
    assert len(raw) > 50  # requests hands over the HTTP chunks as they come
    assert all(n >= 64 * 1024 for n in joined[:-1]) and len(joined) <= 13


class _FakeSocket:
    """A socket whose reply bytes sit in a buffered reader of ``buffer_size`` bytes."""

    def __init__(self, data: bytes, buffer_size: int):
        self._data, self._size = data, buffer_size

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data), buffer_size=self._size)


_REPLIES = {
    "multipart": (b"HTTP/1.1 200 OK\r\nContent-Type: " + MULTIPART.encode() +
                  b"\r\nX-Before: 1\r\nContent-Length: 4\r\n\r\nbody"),
    "plain": b"HTTP/1.1 500 Oops\r\ncontent-type: text/xml\r\nContent-Length: 4\r\n\r\nbody",
    "two": (b"HTTP/1.1 200 OK\r\nCONTENT-TYPE: Multipart/Related; boundary=a\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\nContent-Length: 4\r\n\r\nbody"),
    "continue": (b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 200 OK\r\n"
                 b"Content-Type: " + MULTIPART.encode() + b"\r\nContent-Length: 4\r\n\r\nbody"),
    "bare-lf": (b"HTTP/1.1 200 OK\nContent-Type: " + MULTIPART.encode() +
                b"\nTransfer-Encoding: chunked\n\n4\r\nbody\r\n0\r\n\r\n"),
    "folded": (b"HTTP/1.0 200 OK\r\nX-Long: a\r\n b\r\nContent-Type: multipart/related;\r\n"
               b" boundary=c\r\n\r\nbody"),
}


@pytest.mark.parametrize("buffer_size", [8192, 24, 1])
@pytest.mark.parametrize("name", sorted(_REPLIES))
def test_the_headers_read_are_the_standard_librarys(name: str, buffer_size: int) -> None:
    # The header block comes from the buffer in one piece when it is all there (8192),
    # else line by line (a block split across reads, a 1xx status, bare LF line ends).
    def read(cls: type[http.client.HTTPResponse]) -> tuple[Any, ...]:
        resp = cls(_FakeSocket(_REPLIES[name], buffer_size), method="POST")  # type: ignore[arg-type]
        resp.begin()
        headers = {k.lower(): resp.msg.get_all(k) for k in resp.msg}
        return (resp.status, resp.reason, resp.version, resp.length, resp.chunked,
                resp.will_close, headers, resp.read())

    in_one_piece = buffer_size == 8192 and name not in ("continue", "bare-lf")
    line_by_line = mock.patch.object(_HeaderLines, "readline", autospec=True,
                                     side_effect=_HeaderLines.readline)
    with line_by_line as readline:
        (ours, compiled) = _boundary_compiles(lambda: read(MtomHTTPResponse))
    assert ours == read(http.client.HTTPResponse)
    assert compiled == 0
    assert readline.called != in_one_piece
