"""Client negotiation and faults Zeep would misread, over real HTTP (zeep_mtom.negotiate)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import zeep
from _support import (
    DATA,
    ECHO11,
    ECHO12,
    CannedApp,
    EchoApp,
    Pipe,
    SharedServer,
    echo_service,
    pattern,
)
from _support import VERSION_MISMATCH_11 as VM11
from _support import VERSION_MISMATCH_12 as VM12
from zeep.exceptions import Fault, TransportError
from zeep.proxy import AsyncServiceProxy

import mtom
import zeep_mtom

VALUE = pattern(5000)
REFUSE_MTOM = ("415 Unsupported Media Type", [("Content-Type", "text/plain")],
               b"Cannot process the message because the content type 'multipart/related' was "
               b"not the expected type 'text/xml; charset=utf-8'.")
REQUIRE_MTOM = ("415 Unsupported Media Type", [("Content-Type", "text/plain")],
                b"Cannot process the message because the content type 'text/xml; charset=utf-8'"
                b" was not the expected type 'multipart/related; type=\"application/xop+xml\"'.")


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


class Refusing:
    """Answers with ``refusal`` while the request's format is ``refused``, else the echo."""

    def __init__(self, refused: str, refusal: tuple[str, list[tuple[str, str]], bytes]):
        self.refused, self.refusal = refused, refusal
        self.echo = EchoApp(reply="plain")
        self.formats: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        kind = "mtom" if environ.get("CONTENT_TYPE", "").startswith("multipart/") else "plain"
        self.formats.append(kind)
        if kind == self.refused:
            environ["wsgi.input"].read()
            status, headers, body = self.refusal
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        return self.echo(environ, start_response)


def _info(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The negotiation decisions logged (not the per-call wire report lines)."""
    return [r.getMessage() for r in caplog.records
            if r.name == "zeep_mtom" and r.levelno == logging.INFO
            and r.module == "negotiation"]


def test_mtom_refused_with_415_is_resent_plain_and_remembered(
        served: SharedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    app = Refusing("mtom", REFUSE_MTOM)
    with echo_service(served, app, mtom=True) as (svc, transport):
        assert svc.Echo(data=[VALUE]).data == [VALUE]
        assert svc.Echo(data=[VALUE[:2000]]).data == [VALUE[:2000]]
        assert app.formats == ["mtom", "plain", "plain"]  # the second call goes out plain
        assert [v.via_include for r in app.echo.received for v in r.values] == [False, False]
        assert transport.negotiated.get(served.url) == "plain"
    assert _info(caplog) == [
        f"{served.url} answered HTTP 415 refusing the mtom request's media type: resending it "
        "once as plain",
        f"{served.url} accepted the request resent as plain (HTTP 200): requests to it go out "
        "as plain from now on"]


def test_a_fault_saying_the_media_type_is_unsupported_also_falls_back(
        served: SharedServer) -> None:
    fault = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
             b"<s:Fault><faultcode>s:Client</faultcode><faultstring>Unsupported Content-Type: "
             b"multipart/related</faultstring></s:Fault></s:Body></s:Envelope>")
    app = Refusing("mtom", ("500 Internal Server Error", [("Content-Type", "text/xml")], fault))
    with echo_service(served, app, mtom=True) as (svc, _):
        assert svc.Echo(data=[VALUE]).data == [VALUE]
    assert app.formats == ["mtom", "plain"]


def test_an_ordinary_fault_is_not_a_refusal(served: SharedServer) -> None:
    app = EchoApp(reply="fault")
    with echo_service(served, app, mtom=True) as (svc, transport):
        with pytest.raises(Fault, match="echo refused"):
            svc.Echo(data=[VALUE])
        assert len(app.received) == 1 and len(transport.negotiated) == 0


def test_plain_refused_with_415_naming_multipart_is_resent_as_mtom(
        served: SharedServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    app = Refusing("plain", REQUIRE_MTOM)
    with echo_service(served, app, mtom=False) as (svc, transport):
        assert svc.Echo(name="n", data=[VALUE]).data == [VALUE]
        assert svc.Echo(name="no binary value").name == "no binary value"
        assert app.formats == ["plain", "mtom", "mtom"]
        first, second = app.echo.received
        assert [v.via_include for v in first.values] == [True]
        assert second.multipart and second.package is not None
        assert len(second.package.parts) == 1  # the root alone: MTOM framing, no value
        assert transport.negotiated.get(served.url) == "mtom"
    assert len(_info(caplog)) == 2


@pytest.mark.parametrize(("binding", "start_info"), [(ECHO11, "text/xml"),
                                                     (ECHO12, "application/soap+xml")])
def test_mtom_resend_keeps_the_soap_version(served: SharedServer, binding: str,
                                            start_info: str) -> None:
    app = Refusing("plain", REQUIRE_MTOM)
    with echo_service(served, app, binding=binding, mtom=False) as (svc, _):
        assert svc.Echo(data=[VALUE]).data == [VALUE]
    ct = mtom.parse_content_type(app.echo.last.header("content-type") or "")
    assert ct.get("start-info") == start_info


def test_415_without_negotiation_is_a_typed_transport_error(served: SharedServer) -> None:
    app = Refusing("mtom", REFUSE_MTOM)
    with echo_service(served, app, mtom=True, negotiate=False) as (svc, transport), \
            pytest.raises(TransportError) as info:
        svc.Echo(data=[VALUE])
    err = info.value
    assert isinstance(err, zeep_mtom.UnsupportedMediaType)
    assert err.status_code == 415 and err.sent == "mtom" and err.address == served.url
    assert "mtom=False" in str(err) and "HTTP 415" in str(err)
    assert b"not the expected type" in err.content
    assert app.formats == ["mtom"] and len(transport.negotiated) == 0


def test_415_to_both_formats_says_so(served: SharedServer) -> None:
    app = CannedApp(REFUSE_MTOM)
    with echo_service(served, app, mtom=True) as (svc, transport), \
            pytest.raises(zeep_mtom.UnsupportedMediaType) as info:
        svc.Echo(data=[VALUE])
    assert len(app.received) == 2 and info.value.sent == "plain"
    assert "after a resend in the other format was refused as well" in str(info.value)
    assert len(transport.negotiated) == 0


def test_a_non_seekable_value_is_not_resent(served: SharedServer) -> None:
    app = Refusing("mtom", REFUSE_MTOM)
    with echo_service(served, app, mtom=True) as (svc, _), \
            pytest.raises(zeep_mtom.UnsupportedMediaType) as info:
        svc.Echo(data=[Pipe(VALUE)])
    message = str(info.value)
    assert "it was not resent as plain SOAP" in message
    assert "'data'" in message and "Pipe that cannot be read a second time" in message
    assert app.formats == ["mtom"]


def test_a_seekable_file_is_resent_from_where_it_stood(served: SharedServer) -> None:
    source = io.BytesIO(b"head" + VALUE)
    source.seek(4)
    app = Refusing("mtom", REFUSE_MTOM)
    with echo_service(served, app, mtom=True) as (svc, _):
        assert svc.Echo(data=[source]).data == [VALUE]


def test_async_transport_negotiates_too(served: SharedServer) -> None:
    app = Refusing("mtom", REFUSE_MTOM)

    async def main() -> list[bytes]:
        async with zeep_mtom.AsyncMtomTransport(mtom=True) as transport:
            client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
            svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=served.url)
            out = [(await svc.Echo(data=[VALUE])).data, (await svc.Echo(data=[VALUE])).data]
            assert transport.negotiated.get(served.url) == "plain"
            return [v for d in out for v in d]

    with served(app):
        assert asyncio.run(main()) == [VALUE, VALUE]
    assert app.formats == ["mtom", "plain", "plain"]


@pytest.mark.parametrize(("binding", "reply", "content_type", "reason", "hint"), [
    (ECHO11, VM12, "application/soap+xml; charset=utf-8", "Couldn't create SOAP message",
     "SOAP 1.1 request with a SOAP 1.2 fault (Upgrade: ns1:Envelope); if it speaks SOAP 1.2, "
     "use the WSDL's SOAP 1.2 binding/port"),
    (ECHO12, VM11, "text/xml; charset=utf-8", "Wrong SOAP version",
     "SOAP 1.2 request with a SOAP 1.1 fault; if it speaks SOAP 1.1"),
])
def test_version_mismatch_shows_the_peers_reason(
        served: SharedServer, binding: str, reply: bytes, content_type: str, reason: str,
        hint: str) -> None:
    app = CannedApp(("500 Internal Server Error", [("Content-Type", content_type)], reply))
    with echo_service(served, app, binding=binding, mtom=False) as (svc, _), \
            pytest.raises(Fault) as info:
        svc.Echo(data=[b"x"])
    assert reason in info.value.message and hint in info.value.message
    assert info.value.message != "Unknown fault occured"
    assert info.value.code is not None and info.value.code.endswith("VersionMismatch")


def test_a_415_fault_is_quoted_in_the_error(served: SharedServer) -> None:
    fault = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
             b"<s:Fault><faultcode>s:Client</faultcode><faultstring>Expected Content-Type "
             b"text/xml</faultstring></s:Fault></s:Body></s:Envelope>")
    app = CannedApp(("415 Unsupported Media Type", [("Content-Type", "text/xml")], fault))
    with echo_service(served, app, mtom=True, negotiate=False) as (svc, _), \
            pytest.raises(zeep_mtom.UnsupportedMediaType) as info:
        svc.Echo(data=[VALUE])
    assert "the server said 'Expected Content-Type text/xml'" in str(info.value)
