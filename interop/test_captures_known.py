"""Replay the node-soap and Axis messages behind the known issues of issue #11
(``interop/captures/known/``, recorded by ``python -m interop.record_known``), with no Node.js or
Java: each item's expected behaviour is a strict xfail that flips when the item is done; what
the messages are is checked for real."""

from __future__ import annotations

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
from interop.capture import split_http_stream
from interop.record_known import KNOWN_DIR
from interop.servers import Endpoint
from mtom.capture import read_saved_message

WSDL = Path(__file__).resolve().parent / "peers" / "gsoap" / "echo.wsdl"
MOCK_BASE = "mock://capture.invalid"
ITEM2 = ("issue #11 item 2: Spyne rejects Axis's SwA reference element with "
         "xsi:type=\"ns1:DataHandler\" (Client.SchemaValidationError)")
ITEM3_SERVER = ("issue #11 item 3: a DIME request gets Client.XMLSyntaxError, not HTTP 415 with a "
                "fault saying DIME is not supported")


@dataclass(frozen=True)
class Known:
    name: str
    meta: dict[str, Any]
    raw: bytes


def _load(stem: str) -> Known:
    meta = json.loads((KNOWN_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    return Known(stem, meta, (KNOWN_DIR / f"{stem}.http").read_bytes())


STEMS = ("nodesoap-reply-soap11-mtom-fault", "nodesoap-reply-soap12-mtom-fault",
         "axis-request-soap11-swa-xsitype", "axis-request-soap11-dime", "axis-reply-soap11-dime")


def _expected(known: Known) -> list[tuple[int, str, str | None]]:
    return [(v["size"], v["sha256"], v["content_type"]) for v in known.meta["values"]]


def test_known_captures_present() -> None:
    assert sorted(p.stem for p in KNOWN_DIR.glob("*.json")) == sorted(STEMS)
    for stem in STEMS:
        known = _load(stem)
        assert known.meta["item"] in (2, 3, 4)
        saved = read_saved_message(known.raw)
        assert saved.content_type == known.meta["content_type"]


@pytest.mark.parametrize("stem", STEMS[:2])
def test_nodesoap_fault_is_a_plain_envelope_under_a_multipart_label(stem: str) -> None:
    saved = read_saved_message(_load(stem).raw)
    ct = mtom.parse_content_type(saved.content_type or "")
    assert ct.media_type == "multipart/related" and ct.get("boundary")
    assert f"--{ct.get('boundary')}".encode() not in saved.body
    root = mtom.parse_xml(saved.body, what="message")
    assert root.tag.rsplit("}", 1)[-1] == "Envelope" and b"Invalid XML" in saved.body


def test_axis_swa_request_carries_xsi_type_and_decodes() -> None:
    known = _load("axis-request-soap11-swa-xsitype")
    saved = read_saved_message(known.raw)
    assert b'xsi:type="ns1:DataHandler"' in saved.body and b"http://xml.apache.org/xml-soap" in (
        saved.body)
    values, fault = scenarios.decode_body(saved.body, saved.content_type or "")
    assert fault is None
    assert [(v.size, v.sha256) for v in values] == [(s, h) for s, h, _ in _expected(known)]
    assert all(v.inline is False for v in values)


def test_axis_dime_messages_are_dime() -> None:
    for stem in ("axis-request-soap11-dime", "axis-reply-soap11-dime"):
        saved = read_saved_message(_load(stem).raw)
        assert (saved.content_type or "").startswith("application/dime")
        assert saved.body[:1] == b"\x0c"  # DIME version 1, first record (MB set)


# -- the items' expected behaviour (strict xfail until done) -----------------------------------


def _zeep_reply(known: Known, tmp_path: Path) -> Any:
    """Call EchoTest through Zeep + MtomTransport with the capture as the HTTP reply."""
    missing = scenarios.adapter_missing(scenarios.Direction("zeep", "axis"))
    if missing:
        pytest.skip(missing)
    import requests_mock
    import zeep

    from zeep_mtom import MtomTransport

    wsdl = tmp_path / "echo.wsdl"
    wsdl.write_text(WSDL.read_text(encoding="utf-8").replace("@BASE_URL@", MOCK_BASE),
                    encoding="utf-8")
    saved = read_saved_message(known.raw)
    version = str(known.meta["soap_version"])
    url = f"{MOCK_BASE}/echo{version.replace('.', '')}"
    transport = MtomTransport(mtom=False)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    adapter.register_uri("POST", url, content=saved.body,
                         status_code=int(known.meta["http_status"]),
                         headers={"Content-Type": saved.content_type or ""})
    try:
        client = zeep.Client(str(wsdl), transport=transport)  # type: ignore[no-untyped-call]
        service = client.create_service(  # type: ignore[no-untyped-call]
            "{http://example.org/mtom}EchoBinding" + version.replace(".", ""), url)
        return service.EchoTest(Data=[{"_value_1": b"ignored"}])
    finally:
        transport.session.close()


@pytest.mark.parametrize("stem", STEMS[:2])
def test_nodesoap_fault_reaches_zeep_as_fault(stem: str, tmp_path: Path) -> None:
    """issue #11 item 4: read as the plain envelope it is (with a warning)."""
    from zeep.exceptions import Fault

    with pytest.raises(Fault) as info:
        _zeep_reply(_load(stem), tmp_path)
    assert "Invalid XML" in str(info.value.message)


def test_dime_reply_gives_zeep_a_clear_error(tmp_path: Path) -> None:
    """issue #11 item 3 (client): a typed error naming DIME."""
    with pytest.raises(mtom.DimeNotSupported) as info:
        _zeep_reply(_load("axis-reply-soap11-dime"), tmp_path)
    assert "DIME" in str(info.value) and "invalid XML" not in str(info.value)


@pytest.fixture(scope="module")
def spyne() -> Iterator[Endpoint]:
    missing = scenarios.adapter_missing(scenarios.Direction("axis", "spyne"))
    if missing:
        pytest.skip(missing)
    with scenarios.Endpoints() as endpoints:
        yield endpoints.get("spyne", False)


_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "expect",
               "keep-alive", "user-agent", "accept-encoding"}


def _post_to_spyne(known: Known, spyne: Endpoint) -> tuple[int, str, bytes]:
    (message,) = split_http_stream(known.raw)
    target = urllib.parse.urlsplit(spyne.url(str(known.meta["soap_version"])))
    assert target.hostname == "127.0.0.1" and target.port is not None
    headers = {k: v for k, v in message.headers if k.lower() not in _HOP_BY_HOP}
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    try:
        conn.request("POST", target.path, body=message.body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def test_axis_swa_with_xsi_type_through_spyne(spyne: Endpoint) -> None:
    known = _load("axis-request-soap11-swa-xsitype")
    status, ct, body = _post_to_spyne(known, spyne)
    assert status == 200, body[:2000]
    values, fault = scenarios.decode_body(body, ct)
    assert fault is None
    assert [(v.size, v.sha256, v.content_type) for v in values] == _expected(known)


def test_axis_dime_request_through_spyne_is_refused_clearly(spyne: Endpoint) -> None:
    status, _, body = _post_to_spyne(_load("axis-request-soap11-dime"), spyne)
    assert status == 415, body[:2000]
    assert b"DIME" in body

