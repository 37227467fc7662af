"""Smoke tests of the live interop peers (JAX-WS RI, gSOAP): build, start, echo once.

Each peer is skipped with the Debian package to install when its toolchain is missing, unless
``MTOM_INTEROP_REQUIRE=1``, which turns the skip into a failure.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from interop import peerctl

pytestmark = pytest.mark.live

SOAP_ENV = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
SOAP_MEDIA_TYPE = {"1.1": "text/xml", "1.2": "application/soap+xml"}
DATA_NS = "http://example.org/mtom/data"
XMIME_NS = "http://www.w3.org/2005/05/xmlmime"

# Bytes that trip naive MIME/XML handling: CR/LF at both ends, NUL, a boundary look-alike.
PAYLOAD = b"\r\n" + bytes(range(256)) + b"\r\n--uuid:not-a-boundary--\r\n"


def require_peer(name: str) -> None:
    """Skip (or, with MTOM_INTEROP_REQUIRE=1, fail) when a peer's toolchain is missing."""
    reason = peerctl.peer_available(name)
    if reason is None:
        return
    message = f"{name} peer unavailable: {reason}"
    if peerctl.interop_required():
        pytest.fail(message + " [MTOM_INTEROP_REQUIRE=1]")
    pytest.skip(message)


@pytest.fixture(scope="module", params=peerctl.PEER_NAMES)
def server(request: pytest.FixtureRequest) -> Iterator[peerctl.PeerServer]:
    name: str = request.param
    require_peer(name)
    # gSOAP answers MTOM to everything by default; "same" keeps a plain exchange plain.
    with peerctl.serving(name, reply="same" if name == "gsoap" else None) as srv:
        yield srv
    assert not srv.alive()


def _envelope(version: str, payload: bytes, content_type: str) -> bytes:
    value = base64.b64encode(payload).decode("ascii")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV[version]}"><s:Body>'
        f'<x:EchoTest xmlns:x="{DATA_NS}" xmlns:xmime="{XMIME_NS}">'
        f'<x:Data xmime:contentType="{content_type}">{value}</x:Data>'
        f"<x:Data>AAEC</x:Data>"
        f"</x:EchoTest></s:Body></s:Envelope>"
    ).encode()


def _http(
    method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, str, bytes]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_plain_echo(server: peerctl.PeerServer, version: peerctl.SoapVersion) -> None:
    headers = {"Content-Type": f"{SOAP_MEDIA_TYPE[version]}; charset=utf-8"}
    if version == "1.1":
        headers["SOAPAction"] = '""'
    status, content_type, body = _http(
        "POST", server.url(version), _envelope(version, PAYLOAD, "image/png"), headers
    )

    assert status == 200, body[:2000]
    assert content_type.split(";")[0].strip().lower() == SOAP_MEDIA_TYPE[version], content_type
    root = ET.fromstring(body)
    assert root.tag == f"{{{SOAP_ENV[version]}}}Envelope"
    echo = root.find(f"{{{SOAP_ENV[version]}}}Body/{{{DATA_NS}}}EchoTest")
    assert echo is not None, body[:2000]
    data = echo.findall(f"{{{DATA_NS}}}Data")
    assert [base64.b64decode(d.text or "") for d in data] == [PAYLOAD, b"\x00\x01\x02"]
    assert data[0].get(f"{{{XMIME_NS}}}contentType") == "image/png"
    assert data[1].get(f"{{{XMIME_NS}}}contentType") is None
    assert "request Content-Type" in server.log()


def test_wsdl_served(server: peerctl.PeerServer) -> None:
    for version in ("1.1", "1.2"):
        status, _, body = _http("GET", server.wsdl_url(version), None, {})
        assert status == 200
        assert b"definitions" in body and b"EchoTest" in body


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_own_client_mtom_roundtrip(
    server: peerctl.PeerServer, version: peerctl.SoapVersion, tmp_path: Path
) -> None:
    first = tmp_path / "first.bin"
    first.write_bytes(PAYLOAD)
    second = tmp_path / "second.bin"
    second.write_bytes(b"")
    result = peerctl.run_client(
        server.name, server.url(version), version, [(first, "image/png"), second], mtom=True
    )

    assert result["ok"] and result["exit_code"] == 0
    assert [(v["size"], v["sha256"], v["content_type"]) for v in result["values"]] == [
        (len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest(), "image/png"),
        (0, hashlib.sha256(b"").hexdigest(), None),
    ]
    assert result["response_content_type"].startswith("multipart/related")


@pytest.mark.parametrize("name", peerctl.PEER_NAMES)
def test_running_server_is_stopped(name: str) -> None:
    require_peer(name)
    with peerctl.running_server(name, "1.2") as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/echo12")
        status, _, _ = _http("GET", url + "?wsdl", None, {})
        assert status == 200
    with pytest.raises(OSError):
        _http("GET", url + "?wsdl", None, {})


@pytest.mark.parametrize(("binding", "endpoint", "expected_ns"), [
    ("11", "1.2", SOAP_ENV["1.2"]), ("12", "1.1", SOAP_ENV["1.1"])])
def test_zeep_sees_jaxws_version_mismatch_reason(binding: str, endpoint: str, expected_ns: str,
                                                 tmp_path: Path) -> None:
    """issue #11 item 5 (client): a binding of one SOAP version pointed at an endpoint of the
    other gets JAX-WS RI's VersionMismatch fault (in the endpoint's version) as zeep's Fault
    with its reason, not "Unknown fault occured"."""
    require_peer("jaxws")
    from interop import scenarios

    missing = scenarios.adapter_missing(scenarios.Direction("zeep", "jaxws"))
    if missing:
        pytest.skip(missing)
    import zeep
    from zeep.exceptions import Fault

    from zeep_mtom import MtomTransport

    wsdl = tmp_path / "echo.wsdl"
    template = Path(__file__).resolve().parent / "peers" / "gsoap" / "echo.wsdl"
    with peerctl.serving("jaxws") as srv, MtomTransport(mtom=True, threshold=0) as transport:
        wsdl.write_text(template.read_text(encoding="utf-8").replace("@BASE_URL@", srv.base_url),
                        encoding="utf-8")
        client = zeep.Client(str(wsdl), transport=transport)  # type: ignore[no-untyped-call]
        service = client.create_service(  # type: ignore[no-untyped-call]
            "{http://example.org/mtom}EchoBinding" + binding, srv.url(endpoint))
        with pytest.raises(Fault) as info:
            service.EchoTest(Data=[{"_value_1": PAYLOAD}])
        transport.session.close()
    message = str(info.value.message)
    assert f"Expecting Envelope in namespace {expected_ns}" in message
    assert f"use the WSDL's SOAP {endpoint} binding/port" in message
    assert str(info.value.code).endswith("VersionMismatch")
