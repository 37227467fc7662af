"""The scenario machinery itself, without peers: the HTTP stream splitter, the recording
proxy, and that :func:`interop.scenarios.check_outcome` really catches what it must (a check
that cannot fail proves nothing)."""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mtom
from interop import scenarios
from interop.capture import CAPTURES_DIR, HttpExchange, RecordingProxy, split_http_stream

S = scenarios


def test_split_content_length_and_keep_alive() -> None:
    stream = (b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
              b"POST /b HTTP/1.1\r\nContent-Type: text/xml\r\nContent-Length: 2\r\n\r\nxy")
    first, second = split_http_stream(stream)
    assert (first.method, first.body, first.complete) == ("POST", b"abc", True)
    assert second.start_line == "POST /b HTTP/1.1" and second.content_type == "text/xml"
    assert first.raw + second.raw == stream


def test_split_chunked_interim_and_truncated() -> None:
    stream = (b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
              b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nshort")
    interim, ok, cut = split_http_stream(stream)
    assert interim.status == 100 and interim.body == b""
    assert (ok.status, ok.body, ok.complete) == (200, b"abcde", True)
    assert (cut.status, cut.body, cut.complete) == (500, b"short", False)


def test_split_until_close() -> None:
    (msg,) = split_http_stream(b"HTTP/1.0 200 OK\r\n\r\nbody", truncated=True)
    assert msg.body == b"body" and not msg.complete


@pytest.fixture
def tiny_server() -> Iterator[str]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"echo:" + body]

    with S.serve_wsgi(app) as url:
        yield url


def test_proxy_records_both_directions(tiny_server: str) -> None:
    with RecordingProxy.for_url(tiny_server, record_limit=400) as proxy:
        for payload in (b"hello", b"x" * 1000):
            req = urllib.request.Request(proxy.url(tiny_server + "/p?q=1"), data=payload,
                                         method="POST")
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.read() == b"echo:" + payload
    small, big = proxy.posts()
    assert small.request.start_line == "POST /p?q=1 HTTP/1.1" and small.request.body == b"hello"
    assert small.response is not None and small.response.body == b"echo:hello"
    # Past record_limit only the size is kept, and the message says it is incomplete.
    assert not big.request.complete and big.request.body == b"x" * (400 - len(big.request.head))


def test_proxy_only_forwards_to_loopback() -> None:
    with pytest.raises(ValueError):
        RecordingProxy("192.0.2.1", 80)


# -- check_outcome on doctored outcomes ------------------------------------------------------


def _capture(name: str) -> HttpExchange:
    raw = (CAPTURES_DIR / f"{name}.http").read_bytes()
    (message,) = split_http_stream(raw)
    return HttpExchange(message, message)


def _outcome(scenario: S.Scenario, request: Any, response: Any, log: str) -> S.Outcome:
    specs = scenario.value_specs(small=True)
    values = [S.ValueResult(v.size, v.sha256, v.content_type) for v in specs]
    return S.Outcome(S.ClientResult(values=values), HttpExchange(request, response), 1, log, 0.1)


def _plain(version: str, scenario: S.Scenario) -> Any:
    env = S.ENV_NS[version]
    items = []
    for v in scenario.value_specs(small=True):
        attr = f' xmime:contentType="{v.content_type}"' if v.content_type else ""
        items.append(f"<x:Data{attr}>{base64.b64encode(v.payload()).decode()}</x:Data>")
    data = "".join(items)
    body = (f'<s:Envelope xmlns:s="{env}"><s:Body><x:EchoTest xmlns:x="{S.DATA_NS}" '
            f'xmlns:xmime="{mtom.XMIME_NS}">{data}</x:EchoTest></s:Body></s:Envelope>').encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {S.SOAP_MEDIA[version]}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    (msg,) = split_http_stream(head + body)
    return msg


def test_checks_pass_on_a_real_capture() -> None:
    sc = S.SCENARIOS["3a"]
    reply = _capture("gsoap-reply-soap11-3a").response
    log = "[soap11] request Content-Type: text/xml; charset=utf-8"
    outcome = _outcome(sc, _plain("1.1", sc), reply, log)
    assert S.check_outcome(S.Direction("raw", "gsoap"), "1.1", sc, outcome, small=True) == []


@pytest.mark.parametrize("damage", ["plain-reply", "bit-flip", "part-type", "wrong-log",
                                    "client-value", "fault"])
def test_checks_catch(damage: str) -> None:
    sc = S.SCENARIOS["3a"]
    reply = _capture("gsoap-reply-soap11-3a").response
    assert reply is not None
    log = "[soap11] request Content-Type: text/xml; charset=utf-8"
    if damage == "plain-reply":
        reply = _plain("1.1", sc)
    elif damage == "bit-flip":
        pos = reply.raw.rindex(b"\r\n--") - 10
        raw = reply.raw[:pos] + bytes([reply.raw[pos] ^ 1]) + reply.raw[pos + 1:]
        (reply,) = split_http_stream(raw)
    elif damage == "part-type":
        (reply,) = split_http_stream(reply.raw.replace(b"Content-Type: image/png",
                                                       b"Content-Type: image/gif"))
    elif damage == "wrong-log":
        log = '[soap11] request Content-Type: multipart/related; type="application/xop+xml"'
    outcome = _outcome(sc, _plain("1.1", sc), reply, log)
    if damage == "client-value":
        outcome.client.values[1].sha256 = "0" * 64
    elif damage == "fault":
        outcome.client.fault = S.FaultInfo("Server", "boom")
    problems = S.check_outcome(S.Direction("raw", "gsoap"), "1.1", sc, outcome, small=True)
    assert problems, damage


def test_failure_case_needs_a_sender_fault() -> None:
    sc = S.SCENARIOS["dangling-include"]
    reply = _capture("jaxws-reply-soap11-dangling-include").response
    request = _capture("jaxws-reply-soap11-1a").request  # any MTOM message
    ok = S.Outcome(S.ClientResult(fault=S.FaultInfo("S:Client", "x")),
                   HttpExchange(request, reply), 1, "", 0.1)
    assert S.check_outcome(S.Direction("raw", "jaxws"), "1.1", sc, ok) == []
    ok.client.fault = None
    assert S.check_outcome(S.Direction("raw", "jaxws"), "1.1", sc, ok)
    ok.client.fault = S.FaultInfo("soap:Server", "x")
    assert S.check_outcome(S.Direction("raw", "jaxws"), "1.1", sc, ok)


def test_value_specs_are_deterministic_and_tricky() -> None:
    spec = S.ValueSpec(5000, None, 7)
    data = spec.payload()
    assert data.startswith(b"\r\n") and data.endswith(b"\r\n") and b"\x00" in data
    assert hashlib.sha256(data).hexdigest() == spec.sha256 == S.ValueSpec(5000, "x", 7).sha256
    assert S.ValueSpec(1, None, 1).payload() == b"\r"


def test_case_matrix_shape() -> None:
    ids = [c.id for c in S.cases(large=None)]
    assert len(ids) == len(set(ids))
    assert "raw-jaxws-soap12-content-location" in ids
    assert "zeep-jaxws-soap11-large-64MiB" in ids and "jaxws-spyne-soap12-large-64MiB" in ids
    assert not any(i.startswith("zeep-") and "dangling" in i for i in ids)
    for (client, server, version, sid), reason in S.KNOWN_ISSUES.items():
        assert reason.startswith(("BUG:", "PEER:"))
        assert version in ("*", *S.VERSIONS)
        assert sid in S.Direction(client, server).scenario_ids


# -- skips and failures when something is missing ---------------------------------------------


def test_missing_peer_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from interop import conftest, peerctl

    case = S.Case(S.Direction("jaxws", "spyne"), "1.1", S.SCENARIOS["1a"])
    monkeypatch.setattr(peerctl, "peer_available",
                        lambda name: "java not found on PATH (install the Debian package(s) "
                                     "openjdk-17-jdk-headless)")
    conftest.assert_missing_peer_skips_or_fails(monkeypatch, case, "openjdk-17-jdk-headless")


def test_missing_adapter_skips_even_when_peers_are_required(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from interop import conftest

    monkeypatch.setitem(sys.modules, "zeep_mtom", None)  # makes the import fail
    monkeypatch.setenv("MTOM_INTEROP_REQUIRE", "1")
    case = S.Case(S.Direction("zeep", "spyne"), "1.2", S.SCENARIOS["2b"])
    with pytest.raises(pytest.skip.Exception, match="zeep_mtom not available"):
        conftest.require_case(case)
