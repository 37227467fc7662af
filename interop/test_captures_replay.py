"""Replay what the live peers really sent (``interop/captures/``), with no Java or gSOAP.

The captures are written by ``python -m interop.record``: raw HTTP messages of JAX-WS RI
and gSOAP, each with a JSON sidecar holding the sha256 of every value. Here:

* every capture goes through the core reader (``mtom.capture.read_saved_message`` for the
  HTTP framing, ``mtom.read_package`` + ``mtom.reconstitute`` for the MTOM package);
* every peer *reply* goes through Zeep with ``zeep_mtom.MtomTransport`` as the HTTP reply
  (requests-mock), faults included (JAX-WS sends its faults as MTOM packages);
* every peer *request* is POSTed, headers and body as captured, to the Spyne echo service
  (``spyne_mtom``, waitress on 127.0.0.1), which must echo the same values.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mtom
from interop import scenarios
from interop.capture import CAPTURES_DIR, split_http_stream
from mtom.capture import read_saved_message

GSOAP_WSDL = Path(__file__).resolve().parent / "peers" / "gsoap" / "echo.wsdl"
MOCK_BASE = "mock://capture.invalid"


@dataclass(frozen=True)
class Capture:
    name: str
    meta: dict[str, Any]
    raw: bytes

    @property
    def is_reply(self) -> bool:
        return bool(self.meta["direction"] == "response")

    @property
    def scenario(self) -> scenarios.Scenario:
        return scenarios.SCENARIOS[self.meta["scenario"]]

    @property
    def version(self) -> str:
        return str(self.meta["soap_version"])


def _load() -> list[Capture]:
    out = []
    for sidecar in sorted(CAPTURES_DIR.glob("*.json")):
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        out.append(Capture(sidecar.stem, meta, sidecar.with_suffix(".http").read_bytes()))
    return out


CAPTURES = _load()
REPLIES = [c for c in CAPTURES if c.is_reply]
REQUESTS = [c for c in CAPTURES if not c.is_reply]


def _params(items: list[Capture]) -> list[Any]:
    return [pytest.param(c, id=c.name) for c in items]


def _zeep_params(items: list[Capture]) -> list[Any]:
    """Replies replayed through Zeep: Zeep -> that peer's known issues apply (strict xfail)."""
    out = []
    for c in items:
        known = scenarios.known_issue(scenarios.Direction("zeep", c.meta["peer"]), c.version,
                                      c.scenario)
        marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def _compare(values: list[scenarios.ValueResult], capture: Capture) -> None:
    expected = capture.meta["values"]
    got = [{"size": v.size, "sha256": v.sha256, "content_type": v.content_type}
           for v in values]
    assert got == expected


def test_captures_present() -> None:
    """Both peers, both directions, both SOAP versions, every scenario were captured."""
    seen = {(c.meta["peer"], c.meta["direction"], c.version, c.meta["scenario"])
            for c in CAPTURES}
    for peer in ("jaxws", "gsoap"):
        for version in ("1.1", "1.2"):
            for sid in scenarios.W3C_IDS:
                assert (peer, "response", version, sid) in seen
                assert (peer, "request", version, sid) in seen
            for sid in scenarios.FAILURE_IDS:
                assert (peer, "response", version, sid) in seen
    assert all(c.meta["checks"] == "ok" for c in CAPTURES), [
        c.name for c in CAPTURES if c.meta["checks"] != "ok"]


def test_new_peer_captures_present() -> None:
    """node-soap and Axis (issue #11): every exchange of their capture plan was captured."""
    seen = {(c.meta["peer"], c.meta["direction"], c.version, c.meta["scenario"])
            for c in CAPTURES}
    plans = scenarios.capture_plan(("nodesoap", "axis"))
    assert {p.direction.client if p.role == "client" else p.direction.server
            for p in plans} == {"nodesoap", "axis"}
    for plan in plans:
        peer = plan.direction.server if plan.role == "server" else plan.direction.client
        kind = "response" if plan.role == "server" else "request"
        assert (peer, kind, plan.version, plan.scenario.id) in seen, plan.stem


@pytest.mark.parametrize("capture", _params(CAPTURES))
def test_core_reader(capture: Capture) -> None:
    saved = read_saved_message(capture.raw)
    assert saved.source == "http"
    assert saved.content_type == capture.meta["content_type"]
    # The recorder's own framing agrees with the core's capture reader.
    (message,) = split_http_stream(capture.raw)
    assert message.complete and message.body == saved.body
    assert scenarios.is_mtom_content_type(saved.content_type or "") is capture.meta["mtom"]

    values, fault = scenarios.decode_body(saved.body, saved.content_type or "")
    if capture.meta["fault"] is not None:
        assert fault is not None and fault.is_sender, fault
        return
    assert fault is None
    _compare(values, capture)
    scenario = capture.scenario
    swa = scenario.swa_reply if capture.is_reply else scenario.swa_request
    for v in values:
        assert v.inline is (not capture.meta["mtom"] and not swa)
        if v.part_content_type is not None and v.content_type is not None:
            assert v.part_content_type.split(";")[0] == v.content_type


# -- peer replies through Zeep -----------------------------------------------------------


@pytest.fixture(scope="module")
def echo_wsdl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wsdl") / "echo.wsdl"
    path.write_text(GSOAP_WSDL.read_text(encoding="utf-8").replace("@BASE_URL@", MOCK_BASE),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("capture", _zeep_params(REPLIES))
def test_reply_through_zeep(capture: Capture, echo_wsdl: Path) -> None:
    missing = scenarios.adapter_missing(scenarios.Direction("zeep", capture.meta["peer"]))
    if missing:
        pytest.skip(missing)
    import requests_mock
    import zeep
    from zeep.exceptions import Fault

    from zeep_mtom import MtomTransport

    saved = read_saved_message(capture.raw)
    transport = MtomTransport(mtom=False)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    url = f"{MOCK_BASE}/echo{capture.version.replace('.', '')}"
    adapter.register_uri("POST", url, content=saved.body,
                         status_code=int(capture.meta["http_status"]),
                         headers={"Content-Type": saved.content_type or ""})
    try:
        client = zeep.Client(str(echo_wsdl), transport=transport)  # type: ignore[no-untyped-call]
        binding = "{http://example.org/mtom}EchoBinding" + capture.version.replace(".", "")
        service = client.create_service(binding, url)  # type: ignore[no-untyped-call]
        if capture.meta["fault"] is not None:
            with pytest.raises(Fault) as info:
                service.EchoTest(Data=[{"_value_1": b"ignored"}])
            assert scenarios.FaultInfo(str(info.value.code), "").is_sender, info.value.code
            return
        reply = service.EchoTest(Data=[{"_value_1": b"ignored"}])
    finally:
        transport.session.close()
    values = []
    for item in reply:
        blob = item["_value_1"]
        data = blob.read() if isinstance(blob, mtom.Attachment) else bytes(blob or b"")
        values.append(scenarios.ValueResult(
            len(data), hashlib.sha256(data).hexdigest(), item["contentType"]))
    _compare(values, capture)
    last = transport.last_reply
    assert last is not None and last.is_xop is capture.meta["mtom"]


# -- peer requests through Spyne ----------------------------------------------------------


@pytest.fixture(scope="module")
def spyne_endpoints() -> Iterator[scenarios.Endpoints]:
    missing = scenarios.adapter_missing(scenarios.Direction("jaxws", "spyne"))
    if missing:
        pytest.skip(missing)
    with scenarios.Endpoints() as endpoints:
        yield endpoints


_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "expect",
               "keep-alive", "user-agent", "accept-encoding"}


@pytest.mark.parametrize("capture", _params(REQUESTS))
def test_request_through_spyne(capture: Capture, spyne_endpoints: scenarios.Endpoints) -> None:
    (message,) = split_http_stream(capture.raw)
    scenario = capture.scenario
    endpoint = spyne_endpoints.get("spyne", scenario.response_mtom)
    target = urllib.parse.urlsplit(endpoint.url(capture.version))
    headers = {k: v for k, v in message.headers if k.lower() not in _HOP_BY_HOP}
    assert target.hostname == "127.0.0.1" and target.port is not None
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    try:
        conn.request("POST", target.path, body=message.body, headers=headers)
        resp = conn.getresponse()
        status, content_type, body = resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()
    assert status == 200, body[:2000]
    assert scenarios.is_mtom_content_type(content_type) is scenario.response_mtom
    values, fault = scenarios.decode_body(body, content_type)
    assert fault is None
    _compare(values, capture)
    log = endpoint.log().strip().splitlines()
    assert log and log[-1].endswith(message.content_type)
