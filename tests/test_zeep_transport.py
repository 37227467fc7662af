"""MtomTransport and AsyncMtomTransport over real HTTP against the echo service (and, for
replies no server of ours writes, requests-mock): round trips, options, value sources,
receiving, Zeep features, async, the issue 9 regressions, negotiation, progress and
reports, captured replies, request bodies."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import requests.utils
import requests_mock
import zeep
from _support import (
    ACTION,
    DATA,
    ECHO11,
    ECHO12,
    INTEROP,
    NS,
    CannedApp,
    EchoApp,
    Pipe,
    SharedServer,
    echo_service,
    gsoap_echo_client,
    pattern,
)
from _support import VERSION_MISMATCH_11 as VM11
from _support import VERSION_MISMATCH_12 as VM12
from _support import fds_under as _open_spool_files
from lxml import etree
from zeep.exceptions import Fault, TransportError
from zeep.plugins import HistoryPlugin
from zeep.proxy import AsyncServiceProxy

import mtom
import zeep_mtom
from interop.corpus import load_messages
from mtom import MtomOptions

VERSIONS = [pytest.param(ECHO11, mtom.SoapVersion.SOAP11, id="soap11"),
            pytest.param(ECHO12, mtom.SoapVersion.SOAP12, id="soap12")]


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


def _multipart(received: Any) -> mtom.Package:
    assert received.multipart, received.headers
    return mtom.read_package(received.body, received.header("content-type"))


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(("binding", "version"), VERSIONS)
def test_round_trip_is_byte_exact_with_crlf_edges_and_boundary_text(
        served: SharedServer, binding: str, version: mtom.SoapVersion) -> None:
    values = [pattern(5000), pattern(70_000, seed=3), b"\r\n" * 1200,
              b"\n--MIMEBoundary_x\r\n" * 120]
    app = EchoApp()
    with echo_service(served, app, binding=binding, mtom=True) as (svc, transport):
        result = svc.Echo(name="n", data=values, derived=values[1],
                          typed={"_value_1": values[0], "contentType": "image/png"},
                          image={"_value_1": values[2]})
    assert result.data == values
    assert all(type(v) is bytes for v in result.data)
    assert result.derived == values[1]
    assert result.typed._value_1 == values[0] and result.typed.contentType == "image/png"
    assert result.image._value_1 == values[2]
    got = app.last
    assert [v.data for v in got.values] == [*values, values[1], values[0], values[2]]
    assert all(v.via_include for v in got.values)
    assert len(_multipart(got).attachments) == 7
    assert transport.last_reply is not None and transport.last_reply.is_xop
    assert len(transport.last_reply.references) == 7


@pytest.mark.parametrize(("binding", "version"), VERSIONS)
def test_wire_headers(served: SharedServer, binding: str, version: mtom.SoapVersion) -> None:
    app = EchoApp()
    with echo_service(served, app, binding=binding, mtom=True) as (svc, _):
        svc.Echo(data=[pattern(4096)])
    got = app.last
    ct = mtom.parse_content_type(got.header("content-type") or "")
    assert ct.media_type == "multipart/related"
    assert ct.get("type") == "application/xop+xml"
    assert ct.get("start-info") == version.media_type
    assert got.header("soapaction") == f'"{ACTION}"'
    if version is mtom.SoapVersion.SOAP12:
        assert ct.get("action") == ACTION
    else:
        assert ct.get("action") is None
    assert got.header("content-length") == str(got.body_size)
    assert got.header("transfer-encoding") is None
    package = _multipart(got)
    assert package.root.content_id == mtom.normalize_content_id(ct.get("start") or "")
    root_ct = package.root.parsed_content_type
    assert root_ct.media_type == "application/xop+xml"
    assert root_ct.get("type") == version.media_type
    assert etree.QName(package.root_element()).namespace == version.envelope_ns
    include = next(package.root_element().iter(mtom.XOP_INCLUDE))
    assert package.get(include.get("href", "")) is package.attachments[0]
    assert package.attachments[0].headers["content-transfer-encoding"] == "binary"


def test_nothing_optimised_stays_plain_soap(served: SharedServer) -> None:
    app = EchoApp(reply="plain")
    with echo_service(served, app, mtom=True) as (svc, transport):
        result = svc.Echo(name="small", data=[b"tiny", b""])
    assert result.data == [b"tiny", None]  # an empty element parses as None, as in Zeep
    got = app.last
    assert not got.multipart
    assert got.header("content-type") == "text/xml; charset=utf-8"
    assert b"xop" not in (got.body or b"")
    assert transport.last_reply is not None and not transport.last_reply.is_multipart


def test_plain_reply_to_mtom_request(served: SharedServer) -> None:
    value = pattern(10_000)
    app = EchoApp(reply="plain")
    with echo_service(served, app, mtom=True) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    assert app.last.multipart


# -- threshold and element choices ---------------------------------------------------------


@pytest.mark.parametrize(("threshold", "size", "as_part"), [
    (1024, 1023, False), (1024, 1024, True), (0, 1, True), (10_000, 9_999, False),
    (10_000, 10_000, True)])
def test_threshold(served: SharedServer, threshold: int, size: int, as_part: bool) -> None:
    value = pattern(size)
    app = EchoApp()
    with echo_service(served, app, mtom=True, threshold=threshold) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    assert app.last.values[0].via_include is as_part
    assert app.last.multipart is as_part


def test_default_threshold_is_2048() -> None:
    assert zeep_mtom.MtomTransport().mtom_options.threshold == 2048 == zeep_mtom.DEFAULT_THRESHOLD


def test_inline_elements_opt_out(served: SharedServer) -> None:
    value = pattern(5000)
    app = EchoApp()
    with echo_service(served, app, mtom=True,
                      inline_elements=[f"{{{NS}}}data"]) as (svc, _):
        result = svc.Echo(data=[value], derived=value)
    assert result.data == [value] and result.derived == value
    assert [(v.field, v.via_include) for v in app.last.values] == [("data", False),
                                                                   ("derived", True)]


def test_optimize_elements_opt_in_small_and_untyped(served: SharedServer) -> None:
    # 'text' is xs:string: only an explicit opt-in makes its (base64) text a part.
    import base64

    app = EchoApp()
    encoded = base64.b64encode(pattern(300)).decode()
    with echo_service(served, app, mtom=True,
                      optimize_elements=[etree.QName(NS, "data"), f"{{{NS}}}text"]) as (svc, _):
        svc.Echo(data=[b"abc"], text=encoded)
    package = _multipart(app.last)
    assert [a.read() for a in package.attachments] == [b"abc", pattern(300)]
    assert app.last.values[0].via_include


def test_xmime_content_type_becomes_part_content_type(served: SharedServer) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, _):
        result = svc.Echo(typed={"_value_1": pattern(3000), "contentType": "image/jpeg"},
                          data=[mtom.OutgoingPart(pattern(2500), content_type="text/plain")])
    types = {v.field: v.content_type for v in app.last.values}
    assert types == {"typed": "image/jpeg", "data": "text/plain"}
    assert result.typed.contentType == "image/jpeg"


# -- value sources -------------------------------------------------------------------------


def test_every_source_kind(served: SharedServer, tmp_path: Path) -> None:
    raw = pattern(6000, seed=9)
    path = tmp_path / "value.bin"
    path.write_bytes(raw)
    with path.open("rb") as opened:
        opened.seek(1000)
        sources: list[Any] = [raw, bytearray(raw), memoryview(raw), path, opened,
                              mtom.Attachment.from_bytes(raw, content_type="image/gif"),
                              mtom.OutgoingPart(path, content_type="video/mp4"),
                              io.BytesIO(raw), __import__("base64").b64encode(raw).decode()]
        app = EchoApp()
        with echo_service(served, app, mtom=True) as (svc, _), pytest.warns(
                mtom.UsageWarning, match="Echo.data"):  # the base64 str
            result = svc.Echo(data=sources)
    expected = [raw, raw, raw, raw, raw[1000:], raw, raw, raw, raw]
    assert result.data == expected
    assert [v.data for v in app.last.values] == expected
    assert all(v.via_include for v in app.last.values)
    assert app.last.values[5].content_type == "image/gif"
    assert app.last.values[6].content_type == "video/mp4"


def test_unsized_stream_is_sent_chunked(served: SharedServer) -> None:
    raw = pattern(20_000)
    app = EchoApp()
    history = HistoryPlugin()
    with echo_service(served, app, mtom=True, plugins=[history]) as (svc, _):
        assert svc.Echo(data=[Pipe(raw)]).data == [raw]
    # waitress de-chunks the body, so look at what the client sent
    assert "Content-Length" not in history.last_sent["http_headers"]
    assert app.last.values[0].via_include


_UPLOAD_SCRIPT = textwrap.dedent("""
    import json, pathlib, sys
    import zeep
    from zeep_mtom import MtomTransport

    path, url, wsdl, binding = sys.argv[1:5]
    svc = zeep.Client(wsdl, transport=MtomTransport(mtom=True)).create_service(binding, url)
    svc.Echo(name="warm-up", data=[b"x" * 4096])

    def status(key):  # kB
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS") / 1024
    svc.Echo(name="big", data=[pathlib.Path(path)])
    print(json.dumps({"before": before, "peak": status("VmHWM") / 1024}))
""")


@pytest.mark.slow
def test_file_upload_streams_from_disk_in_bounded_memory(served: SharedServer,
                                                         tmp_path: Path) -> None:
    size = 256 * 1024 * 1024
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with path.open("wb") as f:
        block = pattern(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
            digest.update(block)
    app = EchoApp(reply="plain", keep=0, echo=False)
    root = Path(__file__).resolve().parent.parent
    with served(app) as url:
        out = subprocess.run([sys.executable, "-c", _UPLOAD_SCRIPT, str(path), url,
                              str(DATA / "echo.wsdl"), ECHO11],
                             capture_output=True, text=True, cwd=root, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    mem = json.loads(out.stdout.strip().splitlines()[-1])
    got = app.last
    assert got.values[0].size == size and got.values[0].sha256 == digest.hexdigest()
    assert got.header("content-length") == str(got.body_size)
    assert mem["peak"] - mem["before"] < 32, mem  # the file is 256 MiB


# -- receiving -----------------------------------------------------------------------------


def test_stream_attachments_returns_file_backed_attachments(served: SharedServer) -> None:
    big, small = pattern(200_000), pattern(2000)
    app = EchoApp()
    with echo_service(served, app, mtom=True, stream_attachments=True,
                      spool_threshold=64 * 1024) as (svc, transport):
        result = svc.Echo(data=[big, small])
        again = svc.Echo(data=[result.data[0]])  # a received Attachment can be sent on
    att = result.data[0]
    assert isinstance(att, mtom.Attachment) and not att.in_memory
    assert att.read() == big and att.size == len(big)
    assert result.data[1] == small and type(result.data[1]) is bytes
    assert again.data[0].read() == big
    assert transport.last_reply is not None
    transport.last_reply.close()
    assert att.read() == big  # values belong to the caller, not to last_reply
    att.close()
    assert att.closed




def test_spooled_parts_are_released_after_the_call(served: SharedServer, tmp_path: Path) -> None:
    value = pattern(300_000)
    app = EchoApp()
    with echo_service(served, app, mtom=True, spool_threshold=1024, stream_attachments=False,
                      spool_dir=tmp_path) as (svc, transport):
        assert svc.Echo(data=[value, value]).data == [value, value]
        assert _open_spool_files(tmp_path) == []
        svc2_result = svc.Echo(data=[value])
        assert svc2_result.data == [value]
    assert _open_spool_files(tmp_path) == []
    assert transport.last_reply is not None


def test_unreferenced_parts_are_reachable_from_last_reply(served: SharedServer) -> None:
    extra = mtom.OutgoingPart(pattern(3000), content_type="application/pdf",
                              content_id="extra@test")
    app = EchoApp(reply_parts=[extra])
    with echo_service(served, app, mtom=True) as (svc, transport):
        svc.Echo(data=[pattern(2000)])
    reply = transport.last_reply
    assert reply is not None
    assert [a.content_id for a in reply.unreferenced] == ["extra@test"]
    assert reply.get("cid:extra@test") is reply.unreferenced[0]
    assert reply.get("<extra@test>").read() == pattern(3000)  # type: ignore[union-attr]
    assert reply.unreferenced[0].media_type == "application/pdf"
    reply.close()


@pytest.mark.parametrize(("binding", "version"), VERSIONS)
def test_fault_inside_mtom_reply_raises_zeep_fault(served: SharedServer, binding: str,
                                                    version: mtom.SoapVersion) -> None:
    app = EchoApp(reply="fault")
    with echo_service(served, app, binding=binding, mtom=True) as (svc, transport), \
            pytest.raises(zeep.exceptions.Fault) as info:
        svc.Echo(data=[pattern(2000)])
    assert info.value.message == "echo refused"
    assert transport.last_reply is not None and transport.last_reply.is_xop
    assert transport.last_reply.status_code == 500


# -- Zeep features -------------------------------------------------------------------------


def test_history_plugin_shows_the_xop_envelope(served: SharedServer) -> None:
    history = HistoryPlugin()
    app = EchoApp()
    with echo_service(served, app, mtom=True, plugins=[history]) as (svc, _):
        svc.Echo(data=[pattern(4000)])
    sent = history.last_sent
    assert sent["envelope"].find(f".//{{{NS}}}data/{mtom.XOP_INCLUDE}") is not None
    assert sent["http_headers"]["Content-Type"].startswith("multipart/related")
    received = history.last_received["envelope"]
    assert received.findtext(f".//{{{NS}}}data", "").startswith("cid:")


def test_client_service_and_raw_response(served: SharedServer, tmp_path: Path) -> None:
    app = EchoApp()
    value = pattern(3000)
    with served(app) as url:
        for name in ("echo.wsdl", "echo-types.xsd"):
            text = (DATA / name).read_text()
            (tmp_path / name).write_text(text.replace("http://127.0.0.1:9/echo", url))
        transport = zeep_mtom.MtomTransport(mtom=True)
        client = zeep.Client(str(tmp_path / "echo.wsdl"), transport=transport)
        assert client.service.Echo(data=[value]).data == [value]
        with client.settings(raw_response=True):
            raw = client.service.Echo(data=[value])
        transport.session.close()
    assert isinstance(raw, zeep_mtom.MtomResponse)
    assert raw.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert raw.mtom_reply is not None and raw.mtom_reply.references[0].attachment.read() == value


def test_settings_xml_huge_tree_not_needed_for_large_parts(served: SharedServer) -> None:
    value = pattern(12 * 1024 * 1024)  # inline base64 of this needs xml_huge_tree in Zeep
    app = EchoApp(keep=0)
    with echo_service(served, app, mtom=True, stream_attachments=False,
                      settings=zeep.Settings(strict=True, xml_huge_tree=False)) as (svc, _):
        assert svc.Echo(data=[value]).data[0] == value


def test_threads_share_one_transport(served: SharedServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, transport):
        def call(i: int) -> bool:
            value = pattern(3000 + i, seed=i)
            ok = svc.Echo(name=str(i), data=[value]).data == [value]
            reply = transport.last_reply
            return ok and reply is not None and reply.references[0].attachment.size == len(
                value)

        with ThreadPoolExecutor(4) as pool:
            assert all(pool.map(call, range(16)))


# -- async ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("binding", "version"), VERSIONS)
def test_async_transport_round_trip_headers_and_fault(served: SharedServer, binding: str,
                                                      version: mtom.SoapVersion) -> None:
    values = [pattern(5000), pattern(40_000, seed=2)]
    app = EchoApp()

    async def main(url: str) -> None:
        transport = zeep_mtom.AsyncMtomTransport(mtom=True, stream_attachments=True,
                                                 spool_threshold=10_000)
        client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
        svc = AsyncServiceProxy(client, client.wsdl.bindings[binding], address=url)
        try:
            result = await svc.Echo(name="a", data=values)
            assert result.data[0] == values[0]
            assert isinstance(result.data[1], mtom.Attachment)
            assert result.data[1].read() == values[1]
            result.data[1].close()
            ct = mtom.parse_content_type(app.last.header("content-type") or "")
            assert ct.get("start-info") == version.media_type
            assert app.last.header("content-length") == str(app.last.body_size)
            assert transport.last_reply is not None and transport.last_reply.is_xop
            app.reply = "fault"
            with pytest.raises(zeep.exceptions.Fault):
                await svc.Echo(data=values[:1])
        finally:
            await transport.aclose()

    with served(app) as url:
        asyncio.run(main(url))
    assert [v.data for v in app.received[0].values] == values


def test_async_transport_plain_when_nothing_qualifies(served: SharedServer) -> None:
    app = EchoApp(reply="plain")

    async def main(url: str) -> Any:
        transport = zeep_mtom.AsyncMtomTransport(mtom=True)
        client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
        svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
        try:
            return await svc.Echo(data=[b"small"])
        finally:
            await transport.aclose()

    with served(app) as url:
        assert asyncio.run(main(url)).data == [b"small"]
    assert not app.last.multipart


def test_ws_addressing_and_plugins_run_before_optimisation(served: SharedServer) -> None:
    from zeep.wsa import WsAddressingPlugin

    class Stamp(zeep.Plugin):  # type: ignore[misc]
        seen: list[str] = []

        def egress(self, envelope: Any, http_headers: Any, operation: Any,
                   binding_options: Any) -> Any:
            data = envelope.find(f".//{{{NS}}}data")
            self.seen.append(data.text if data is not None else "")
            return envelope, http_headers

    value = pattern(4000)
    app = EchoApp()
    stamp = Stamp()
    with echo_service(served, app, mtom=True, plugins=[WsAddressingPlugin(), stamp]) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    root = etree.fromstring(app.last.envelope)
    assert root.find(".//{http://www.w3.org/2005/08/addressing}Action") is not None
    assert app.last.values[0].via_include
    assert stamp.seen[0].startswith("cid:")  # plugins see a placeholder, never the bytes


def test_debug_log_shows_the_envelope_not_the_parts(served: SharedServer,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    import logging

    value = pattern(50_000)
    app = EchoApp()
    with caplog.at_level(logging.DEBUG, logger="zeep.transports"), \
            echo_service(served, app, mtom=True) as (svc, _):
        svc.Echo(data=[value])
    text = caplog.text
    assert "MTOM, 1 part(s)" in text and "xop:Include" in text
    assert len(text) < 10_000


def test_core_errors_say_which_reply(served: SharedServer) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", 'multipart/related; boundary="b"')])
        return [b"--b\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n--b\r\n"]  # no close delimiter

    with served(broken) as url:
        client = zeep.Client(str(DATA / "echo.wsdl"), transport=zeep_mtom.MtomTransport())
        with pytest.raises(mtom.TruncatedMessage) as info:
            client.create_service(ECHO11, url).Echo()
        notes = getattr(info.value, "__notes__", [])
        # The core reader keeps the error it raised (to raise it again), so the error's
        # traceback -> frames -> reader -> error is a cycle: the frames' HTTP response and
        # its pooled keep-alive socket live until the cyclic GC runs.
        del info, client
        gc.collect()
    if sys.version_info >= (3, 11):
        assert url in "".join(notes)


def test_render_placeholders_off_lets_plugins_see_base64(served: SharedServer) -> None:
    import base64

    seen: list[str] = []

    class Peek(zeep.Plugin):  # type: ignore[misc]
        def egress(self, envelope: Any, http_headers: Any, operation: Any,
                   binding_options: Any) -> Any:
            seen.append(envelope.findtext(f".//{{{NS}}}data"))
            return envelope, http_headers

    value = pattern(4000)
    app = EchoApp()
    with echo_service(served, app, mtom=True, render_placeholders=False,
                      plugins=[Peek()]) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    assert seen == [base64.b64encode(value).decode()]
    assert app.last.values[0].via_include  # still sent as a part


def test_reply_of_999_small_parts_is_read_in_bounded_memory(served: SharedServer) -> None:
    """Issue 8: a ~1 MiB reply of 999 parts of 1 KiB, read with 1 MiB reads, grew the
    client by 445-539 MiB (the core re-sliced its buffer per part and each event pinned
    a copy). Measured with tracemalloc around the call: no timing involved."""
    from _support import peak_traced_bytes
    env = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
           f'<e:EchoResponse xmlns:e="{NS}"><e:data><xop:Include '
           'xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:p0@x"/></e:data>'
           '</e:EchoResponse></s:Body></s:Envelope>').encode()
    parts = [mtom.OutgoingPart(bytes([i % 256]) * 1024, content_id=f"p{i}@x")
             for i in range(998)]
    package = mtom.OutgoingPackage(env, parts, soap_version="1.1")
    body = package.to_bytes()

    def reply(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", package.content_type)])
        return [body]

    with served(reply) as url:
        client = zeep.Client(str(DATA / "echo.wsdl"), transport=zeep_mtom.MtomTransport())
        svc = client.create_service(ECHO11, url)
        result: list[Any] = []
        peak = peak_traced_bytes(lambda: result.append(svc.Echo(data=[b"x"])))
    assert result[0].data == [b"\x00" * 1024]
    assert peak < 16 * len(body), (peak, len(body))


# -- what users hit (issue 9): memory, limits, deadline, connections, last_reply, hooks ------


def test_default_transport_keeps_big_reply_values_spooled(served: SharedServer,
                                                          tmp_path: Path) -> None:
    # The documented bound: a default client holds at most spool_threshold bytes of a
    # reply value in memory; bigger values come back as file-backed Attachments.
    value = pattern(mtom.DEFAULT_SPOOL_THRESHOLD + 512 * 1024)
    with echo_service(served, EchoApp(keep=0), mtom=True, spool_dir=tmp_path) as (svc, _):
        got = svc.Echo(data=[value, pattern(2000)]).data
    assert isinstance(got[0], mtom.Attachment) and not got[0].in_memory
    assert got[0].read() == value and got[1] == pattern(2000)
    got[0].close()
    assert _open_spool_files(tmp_path) == []


def _plain_reply(chunks: Any, headers: list[tuple[str, str]] = ()) -> Any:  # type: ignore[assignment]
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), *headers])
        return chunks()
    return app


def test_endless_plain_reply_obeys_limits(served: SharedServer) -> None:
    def endless() -> Iterator[bytes]:
        yield b"<soap-env:Envelope xmlns:soap-env='http://schemas.xmlsoap.org/soap/envelope/'>"
        for _ in range(512):  # 32 MiB at most: bounded even when the client never stops
            yield b" " * 65536

    with echo_service(lambda app: served(_plain_reply(endless)), EchoApp(), mtom=True,
                      limits=mtom.Limits(max_root_size=1 << 20)) as (svc, _), \
            pytest.raises(mtom.LimitExceeded) as info:
        svc.Echo(data=[b"x"])
    assert info.value.limit == "max_root_size"


def test_gzip_plain_reply_counts_decoded_bytes(served: SharedServer) -> None:
    import gzip

    ns = "http://schemas.xmlsoap.org/soap/envelope/"
    body = (f"<e:Envelope xmlns:e='{ns}'><e:Body><EchoResponse xmlns='{NS}'>"
            f"{' ' * (8 << 20)}</EchoResponse></e:Body></e:Envelope>").encode()
    packed = gzip.compress(body)
    assert len(packed) < 64 * 1024
    app = _plain_reply(lambda: [packed], [("Content-Encoding", "gzip")])
    with echo_service(lambda _: served(app), EchoApp(), mtom=True,
                      limits=mtom.Limits(max_root_size=1 << 20)) as (svc, _), \
            pytest.raises(mtom.LimitExceeded):
        svc.Echo(data=[b"x"])


def _dripping(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
    yield b"<soap-env:Envelope xmlns:soap-env='http://schemas.xmlsoap.org/soap/envelope/'>"
    for _ in range(300):  # 30 s at most, then the reply ends (malformed)
        import time
        time.sleep(0.1)
        yield b" "


def test_deadline_bounds_the_whole_call(served: SharedServer) -> None:
    with echo_service(lambda _: served(_dripping), EchoApp(), mtom=True, deadline=1.0,
                      operation_timeout=5) as (svc, _), pytest.raises(zeep_mtom.CallTimeout):
        svc.Echo(data=[b"x"])
    with pytest.raises(ValueError, match="deadline"):
        zeep_mtom.MtomTransport(deadline=0)


def test_async_deadline_bounds_the_whole_call(served: SharedServer) -> None:
    async def main(url: str) -> None:
        async with zeep_mtom.AsyncMtomTransport(mtom=True, deadline=1.0) as transport:
            client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
            svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
            with pytest.raises(zeep_mtom.CallTimeout):
                await svc.Echo(data=[b"x"])

    with served(_dripping) as url:
        asyncio.run(main(url))


class _BadThenGood:
    """First reply: a dangling xop:Include (read to its end); then the echo. Logs ports."""

    def __init__(self) -> None:
        self.ports: list[str] = []
        self.echo = EchoApp()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.ports.append(environ.get("REMOTE_PORT", "?"))
        if len(self.ports) > 1:
            return self.echo(environ, start_response)
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        root = (b"<e:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/'><e:Body>"
                b"<x><i:Include xmlns:i='http://www.w3.org/2004/08/xop/include' "
                b"href='cid:nope'/></x></e:Body></e:Envelope>")
        package = mtom.OutgoingPackage(root)
        start_response("200 OK", list(package.headers.items()))
        return [package.to_bytes()]


def test_connection_closed_after_a_reply_error(served: SharedServer) -> None:
    app = _BadThenGood()
    with echo_service(lambda _: served(app), EchoApp(), mtom=True) as (svc, _):
        with pytest.raises(mtom.DanglingInclude):
            svc.Echo(data=[b"x"])
        assert svc.Echo(data=[b"y"]).data == [b"y"]
    assert len(app.ports) == 2 and app.ports[0] != app.ports[1]


def test_async_connection_closed_after_a_reply_error(served: SharedServer) -> None:
    app = _BadThenGood()

    async def main(url: str) -> None:
        async with zeep_mtom.AsyncMtomTransport(mtom=True) as transport:
            client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
            svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
            with pytest.raises(mtom.DanglingInclude):
                await svc.Echo(data=[b"x"])
            assert (await svc.Echo(data=[b"y"])).data == [b"y"]

    with served(app) as url:
        asyncio.run(main(url))
    assert len(app.ports) == 2 and app.ports[0] != app.ports[1]


def test_last_reply_is_released_with_the_transport(served: SharedServer, tmp_path: Path) -> None:
    extra = mtom.OutgoingPart(pattern(300_000), content_id="extra@test")
    app = EchoApp(reply_parts=[extra])
    with served(app) as url:
        for _ in range(3):  # each transport gone: its last reply's spooled part is closed
            transport = zeep_mtom.MtomTransport(mtom=True, spool_threshold=1024,
                                                spool_dir=tmp_path)
            client = zeep.Client(str(DATA / "echo.wsdl"), transport=transport)
            client.create_service(ECHO11, url).Echo(data=[b"x"])
            assert transport.last_reply is not None and transport.last_reply.unreferenced
            transport.session.close()
            del client, transport
            gc.collect()
            assert _open_spool_files(tmp_path) == []
        with zeep_mtom.MtomTransport(mtom=True, spool_threshold=1024,
                                     spool_dir=tmp_path) as transport:
            client = zeep.Client(str(DATA / "echo.wsdl"), transport=transport)
            client.create_service(ECHO11, url).Echo(data=[b"x"])
            assert _open_spool_files(tmp_path)
        assert transport.last_reply is None and _open_spool_files(tmp_path) == []


_PLAIN_CLIENT = textwrap.dedent("""
    import json, pathlib, sys
    sys.path[:0] = {paths!r}
    import zeep
    from zeep.cache import InMemoryCache
    from zeep_mtom.schemas import schema_for  # data only: installs no hook
    {setup}
    cache = InMemoryCache()
    cache.add("http://www.w3.org/2005/05/xmlmime", schema_for("http://www.w3.org/2005/05/xmlmime"))
    client = zeep.Client({wsdl!r}, transport=zeep.Transport(cache=cache))
    svc = client.create_service({binding!r}, {url!r})
    out = {{}}
    try:
        svc.Echo(data=[pathlib.Path({path!r})])
        out["path"] = "sent"
    except Exception as exc:
        out["path"] = type(exc).__name__
    out["bytes"] = repr(svc.Echo(data=[b"plain bytes"]).data)
    print(json.dumps(out))
""")


def test_plain_zeep_client_in_the_same_process_is_unaffected(served: SharedServer,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"value on disk")
    app = EchoApp(reply="plain")
    paths = [str(Path(__file__).parent.parent), str(Path(__file__).parent)]
    with served(app) as url:
        runs = []
        for setup in ("", "import zeep_mtom; zeep_mtom.MtomTransport()"):
            script = _PLAIN_CLIENT.format(paths=paths, setup=setup, wsdl=str(DATA / "echo.wsdl"),
                                          binding=ECHO11, url=url, path=str(path))
            done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                                  text=True, timeout=120, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    without, with_mtom = runs
    assert without == with_mtom
    assert without["path"] == "TypeError"
    bodies = [r.body for r in app.received]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the wire is the same too


def test_last_reply_is_per_thread_and_goes_with_the_thread(served: SharedServer,
                                                          tmp_path: Path) -> None:
    import threading

    extra = mtom.OutgoingPart(pattern(300_000), content_id="extra@test")
    with echo_service(served, EchoApp(reply_parts=[extra]), mtom=True, spool_threshold=1024,
                      spool_dir=tmp_path) as (svc, transport):
        seen: list[object] = []

        def call() -> None:
            svc.Echo(data=[b"x"])
            seen.append(transport.last_reply)

        worker = threading.Thread(target=call)
        worker.start()
        worker.join(60)
        assert seen and seen[0] is not None and transport.last_reply is None
        del seen[:], worker
        gc.collect()
        assert _open_spool_files(tmp_path) == []  # the thread is gone, and its reply


def test_deadline_bounds_sending_the_request(tmp_path: Path) -> None:
    # A peer that reads the headers and then never the body: the upload blocks on a
    # full socket buffer; the deadline still ends the call, as CallTimeout.
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)
    stop = threading.Event()

    def peer() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            stop.wait(30)  # bounded: never reads the rest

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(64 << 20)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with zeep_mtom.MtomTransport(mtom=True, deadline=1.0) as transport:
            client = zeep.Client(str(DATA / "echo.wsdl"), transport=transport)
            with pytest.raises(zeep_mtom.CallTimeout):
                client.create_service(ECHO11, url).Echo(data=[big])
    finally:
        stop.set()
        listener.close()
        thread.join(30)


class _Overlap:
    """The echo app, holding each request ``hold`` seconds; records the most at once."""

    def __init__(self, hold: float) -> None:
        import threading
        self.hold, self.now, self.peak = hold, 0, 0
        self.lock = threading.Lock()
        self.echo = EchoApp()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        import time
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.hold)
            return self.echo(environ, start_response)
        finally:
            with self.lock:
                self.now -= 1


def _async_calls(url: str, n: int, **options: Any) -> list[Any]:
    async def main() -> list[Any]:
        async with zeep_mtom.AsyncMtomTransport(mtom=True, **options) as transport:
            client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
            svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
            return list(await asyncio.gather(
                *(svc.Echo(data=[bytes([i]) * 3000]) for i in range(n)),
                return_exceptions=True))
    return asyncio.run(main())


@pytest.mark.parametrize("limit", [None, 1, 2])
def test_async_max_in_flight_bounds_concurrent_exchanges(served: SharedServer,
                                                         limit: int | None) -> None:
    app = _Overlap(0.15)
    with served(app) as url:
        results = _async_calls(url, 4, max_in_flight=limit)
    assert [r.data for r in results] == [[bytes([i]) * 3000] for i in range(4)]
    if limit is None:  # the shared server has 4 threads: the calls overlap
        assert app.peak > 2
    else:
        assert app.peak == limit


def test_async_max_in_flight_wait_counts_towards_the_deadline(served: SharedServer) -> None:
    app = _Overlap(0.4)
    with served(app) as url:
        results = _async_calls(url, 2, max_in_flight=1, deadline=0.6)
    # One call gets through; the other waits 0.4 s for its turn, then needs 0.4 s more.
    late = [r for r in results if isinstance(r, zeep_mtom.CallTimeout)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(late) == 1 and len(done) == 1 and done[0].data and app.peak == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_async_max_in_flight_is_validated(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_in_flight must be a positive int"):
        zeep_mtom.AsyncMtomTransport(max_in_flight=bad)


# == negotiation: a refused format is resent once (mtom.negotiation) =======================


VALUE = pattern(5000)
REFUSE_MTOM = ("415 Unsupported Media Type", [("Content-Type", "text/plain")],
               b"Cannot process the message because the content type 'multipart/related' was "
               b"not the expected type 'text/xml; charset=utf-8'.")
REQUIRE_MTOM = ("415 Unsupported Media Type", [("Content-Type", "text/plain")],
                b"Cannot process the message because the content type 'text/xml; charset=utf-8'"
                b" was not the expected type 'multipart/related; type=\"application/xop+xml\"'.")


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


# == progress, last_report, the INFO line, the policy WARNING ==============================


def _check_events(events: list[mtom.Progress], direction: str, total: int | None,
                  done: int) -> list[mtom.Progress]:
    mine = [e for e in events if e.direction == direction]
    assert mine, f"no {direction} event"
    assert [e.done for e in mine] == sorted(e.done for e in mine)
    assert all(e.total == total for e in mine)
    assert mine[-1].finished and mine[-1].done == done
    assert sum(e.finished for e in mine) == 1
    return mine


# -- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", [None, 600], ids=["no-deadline", "deadline"])
def test_progress_both_directions(served: SharedServer, tmp_path: Path,
                                  deadline: float | None) -> None:
    size = 3 * 1024 * 1024
    path = tmp_path / "big.bin"
    path.write_bytes(pattern(size))
    events: list[mtom.Progress] = []
    app = EchoApp()
    with echo_service(served, app, mtom=True, progress=events.append,
                      deadline=deadline) as (svc, transport):
        result = svc.Echo(data=[path])
        report = transport.last_report
    assert result.data == [path.read_bytes()]
    sent_total = int(app.last.header("content-length") or 0)
    assert sent_total == app.last.body_size
    sent = _check_events(events, "send", sent_total, sent_total)
    assert report is not None and report.received is not None
    received_total = report.received.wire_bytes
    got = _check_events(events, "receive", received_total, received_total)
    # about a hundred reports per transfer, never one per chunk
    assert 2 <= len(sent) <= 102 and 2 <= len(got) <= 102
    assert app.last.package is not None
    assert app.last.package.attachments[0].content_id in {e.content_id for e in sent}
    assert any(e.content_id for e in got)
    assert all(isinstance(e, mtom.Progress) for e in events)


def test_progress_of_a_plain_request_and_an_unsized_stream(served: SharedServer) -> None:
    events: list[mtom.Progress] = []
    app = EchoApp(reply="plain")
    with echo_service(served, app, mtom=True, progress=events.append) as (svc, transport):
        svc.Echo(data=[b"small"])
        sent = _check_events(events, "send", app.last.body_size, app.last.body_size)
        assert len(sent) == 1 and transport.last_report.sent.kind == "plain"
        events.clear()

        svc.Echo(data=[Pipe(pattern(20_000))])
        report = transport.last_report
    _check_events(events, "send", None, app.last.body_size)
    assert report is not None and report.received is not None
    assert report.sent.wire_bytes == app.last.body_size  # counted while sent chunked
    assert report.sent.inline_bytes > report.sent.wire_bytes
    _check_events(events, "receive", report.received.wire_bytes, report.received.wire_bytes)


def test_async_progress_and_report(served: SharedServer) -> None:
    raw = pattern(2 * 1024 * 1024, seed=5)
    events: list[mtom.Progress] = []
    app = EchoApp()

    async def main(url: str) -> mtom.WireReport | None:
        transport = zeep_mtom.AsyncMtomTransport(mtom=True, progress=events.append)
        client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
        svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
        try:
            assert (await svc.Echo(data=[raw])).data == [raw]
            return transport.last_report
        finally:
            await transport.aclose()

    with served(app) as url:
        report = asyncio.run(main(url))
    assert report is not None and report.received is not None
    assert report.sent.mtom and report.sent.parts == 1
    assert report.sent.wire_bytes == app.last.body_size
    _check_events(events, "send", app.last.body_size, app.last.body_size)
    _check_events(events, "receive", report.received.wire_bytes, report.received.wire_bytes)


class _Cancel(Exception):
    pass


@pytest.mark.parametrize("direction", ["send", "receive"])
def test_an_exception_from_the_callback_cancels_the_call(served: SharedServer, tmp_path: Path,
                                                          direction: str) -> None:
    def cancel(event: mtom.Progress) -> None:
        if event.direction == direction and event.done >= 1024 * 1024:
            raise _Cancel(direction)

    app = EchoApp()
    with echo_service(served, app, mtom=True, progress=cancel,
                      spool_dir=str(tmp_path)) as (svc, transport):
        with pytest.raises(_Cancel):
            svc.Echo(data=[pattern(4 * 1024 * 1024)])
        assert transport.last_report is None
        assert not _open_spool_files(tmp_path)  # nothing of the reply left open
        transport.progress = None
        assert svc.Echo(data=[b"again"]).data == [b"again"]  # the transport goes on


def test_progress_must_be_callable() -> None:
    with pytest.raises(TypeError, match="progress must be a callable"):
        zeep_mtom.MtomTransport(progress=42)  # type: ignore[arg-type]


# -- the wire report and its log line ------------------------------------------------------


def test_last_report_and_one_info_line_per_call(served: SharedServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    marker = b"CONTENT-MARKER-" * 400
    app = EchoApp(reply_threshold=1024)
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, app, mtom=True) as (svc, transport):
        assert transport.last_report is None
        svc.Echo(name="n", data=[marker, pattern(5000), b"tiny"])
        report = transport.last_report
        lines = [r for r in caplog.records if r.name == "zeep_mtom"]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO
        svc.Echo(data=[b"tiny"])
        second = transport.last_report
    assert report is not None and report.received is not None
    assert report.sent == mtom.MessageStats(
        "mtom", 2, app.received[0].body_size, report.sent.inline_bytes)
    assert report.sent.inline_bytes > report.sent.wire_bytes  # base64 would have cost more
    assert report.received.kind == "mtom" and report.received.parts == 2
    assert report.seconds >= 0
    message = lines[0].getMessage()
    assert message.startswith(f"POST {served.url} -> HTTP 200: sent MTOM, 2 parts, "
                              f"{report.sent.wire_bytes} bytes")
    assert report.summary() in message
    assert "MARKER" not in caplog.text and "Q09OVEVOVC1NQVJLRVIt" not in caplog.text
    assert second is not None and second.sent.kind == "plain"
    assert second.sent.wire_bytes == app.received[1].body_size
    # the echo service answers with an XOP package even when no value became a part
    assert second.received == mtom.MessageStats("mtom", 0, second.received.wire_bytes,
                                                second.received.inline_bytes)
    assert len([r for r in caplog.records if r.name == "zeep_mtom"]) == 2


def test_report_of_a_fault_reply(served: SharedServer) -> None:
    app = EchoApp(reply="fault")
    with echo_service(served, app, mtom=True) as (svc, transport):
        with pytest.raises(zeep.exceptions.Fault):
            svc.Echo(data=[pattern(4000)])
        report = transport.last_report
    assert report is not None and report.received is not None
    assert report.received.kind == "mtom" and report.received.parts == 0


def test_last_report_keeps_no_content_or_file_alive(served: SharedServer) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True, spool_threshold=1024) as (svc, transport):
        result = svc.Echo(data=[pattern(100_000)])
        value = result.data[0]
        assert isinstance(value, mtom.Attachment) and not value.in_memory
        gone = weakref.ref(value)
        report = transport.last_report
        value.close()
        del value, result
        transport.close()  # releases last_reply
        gc.collect()
        assert gone() is None
        assert transport.last_report is report  # the report outlives the reply
    assert report is not None
    for obj in (report, report.sent, report.received):
        assert all(isinstance(r, (mtom.MessageStats, int, float, str, type))
                   for r in gc.get_referents(obj))


def test_last_report_is_cleared_when_a_call_fails(served: SharedServer) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "multipart/related; boundary=x")])
        return [b"--x\r\nContent-Type: text/xml\r\n\r\n<a/>"]  # truncated

    with echo_service(served, EchoApp(), mtom=True) as (svc, transport):
        svc.Echo(data=[b"x"])
        assert transport.last_report is not None
        served.app = broken
        with pytest.raises(mtom.TruncatedMessage):
            svc.Echo(data=[b"x"])
        assert transport.last_report is None


# -- the policy warning --------------------------------------------------------------------


def test_policy_mode_warns_once_per_endpoint_when_big_values_go_inline(
        served: SharedServer, caplog: pytest.LogCaptureFixture) -> None:
    app = EchoApp(reply="plain")
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, app) as (svc, transport):  # echo.wsdl has no MTOM policy
        svc.Echo(data=[b"small"])
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        svc.Echo(data=[pattern(5000)])
        svc.Echo(data=[pattern(6000)])
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert transport.last_report is not None
        assert transport.last_report.sent.kind == "plain"
    assert not app.last.multipart
    assert len(warnings) == 1 and warnings[0].name == "zeep_mtom"
    text = warnings[0].getMessage()
    assert f"1 binary value(s) of {mtom.DEFAULT_THRESHOLD} bytes or more" in text
    assert served.url in text
    assert "mtom=True" in text and "Echo11Binding" in text


@pytest.mark.parametrize("options", [{"mtom": False}, {"mtom": True}, {"wsdl": "echo-policy.wsdl"}],
                         ids=["mtom-false", "mtom-true", "policy-on"])
def test_no_policy_warning_when_the_choice_is_explicit_or_mtom(
        served: SharedServer, caplog: pytest.LogCaptureFixture, options: dict[str, Any]) -> None:
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, EchoApp(reply="plain"), **options) as (svc, _):
        svc.Echo(data=[pattern(5000)])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# == replies: hand-made and captured replies (requests-mock) ===============================


URL = "mock://echo/service"


def envelope(version: mtom.SoapVersion, children: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="'
            f'{version.envelope_ns}"><env:Body><e:EchoResponse xmlns:e="{NS}">{children}'
            f"</e:EchoResponse></env:Body></env:Envelope>").encode()


def multipart(parts: list[tuple[list[str], bytes]], *, boundary: str = "b0und",
              nl: bytes = b"\r\n", preamble: bytes = b"") -> bytes:
    out = bytearray(preamble)
    for headers, body in parts:
        out += b"--" + boundary.encode() + nl
        out += b"".join(h.encode() + nl for h in headers) + nl + body + nl
    return bytes(out + b"--" + boundary.encode() + b"--" + nl)


ROOT11 = 'Content-Type: application/xop+xml; charset=UTF-8; type="text/xml"'
ROOT12 = 'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"'
XOP_CT = 'multipart/related; type="application/xop+xml"; boundary="b0und"'


def include(href: str) -> str:
    return f'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="{href}"/>'


@pytest.fixture
def mocked() -> Iterator[tuple[Any, zeep_mtom.MtomTransport, requests_mock.Adapter]]:
    transport = zeep_mtom.MtomTransport(mtom=True)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    client = zeep.Client(str(DATA / "echo.wsdl"), transport=transport)
    yield client.create_service(ECHO11, URL), transport, adapter
    transport.session.close()


def serve(adapter: requests_mock.Adapter, body: bytes, content_type: str,
          status: int = 200) -> None:
    adapter.register_uri("POST", URL, content=body, status_code=status,
                         headers={"Content-Type": content_type})


# -- how references are found ------------------------------------------------------------


PART_VALUE = pattern(3000)
# Lines that start like the delimiter but are not one (a sender never puts the real
# delimiter inside a part; text that merely begins with it is content).
ODD = b"\r\n--b0undary\r\n" + PART_VALUE + b"\r\n--b0und-x--\r\n"


@pytest.mark.parametrize(("name", "content_type", "parts", "children"), [
    ("content-ids without brackets", 'multipart/related; type="application/xop+xml"; '
     'boundary="b0und"; start="root@x"',
     [([ROOT11, "Content-ID: root@x"], b""), (["Content-ID: a@x"], PART_VALUE)],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("root is not the first part", 'multipart/related; type="application/xop+xml"; '
     'boundary="b0und"; start="<root@x>"',
     [(["Content-ID: <a@x>"], PART_VALUE), ([ROOT11, "Content-ID: <root@x>"], b"")],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("upper-case CID scheme", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>"], PART_VALUE)],
     f"<e:data>{include('CID:a@x')}</e:data>"),
    ("%-encoded href", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a b%$}@x/1>"], PART_VALUE)],
     f"<e:data>{include('cid:a%20b%25%24%7D%40x%2F1')}</e:data>"),
    ("base64 transfer encoding", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>", "Content-Transfer-Encoding: base64"],
                        base64.encodebytes(PART_VALUE))],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("value with CR/LF edges and delimiter text", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>"], ODD)],
     f"<e:data>{include('cid:a@x')}</e:data>"),
])
def test_reference_styles(mocked: Any, name: str, content_type: str,
                          parts: list[tuple[list[str], bytes]], children: str) -> None:
    svc, transport, adapter = mocked
    root_index = next(i for i, (h, _) in enumerate(parts) if h[0].startswith("Content-Type: app"))
    parts[root_index] = (parts[root_index][0], envelope(mtom.SoapVersion.SOAP11, children))
    serve(adapter, multipart(parts), content_type)
    expected = ODD if "edges" in name else PART_VALUE
    assert svc.Echo(name="x").data == [expected]
    assert transport.last_reply is not None and len(transport.last_reply.references) == 1


def test_lf_only_framing(mocked: Any) -> None:
    svc, _, adapter = mocked
    body = multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                          f"<e:data>{include('cid:a@x')}</e:data>")),
                      (["Content-ID: <a@x>"], PART_VALUE)], nl=b"\n", preamble=b"\n")
    serve(adapter, body, XOP_CT)
    assert svc.Echo().data == [PART_VALUE]


def test_soap12_reply_and_several_values(mocked: Any) -> None:
    transport = zeep_mtom.MtomTransport()
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO12, URL)
    values = [pattern(100 * i + 1, seed=i) for i in range(1, 6)]
    children = "".join(f"<e:data>{include(f'cid:{i}@x')}</e:data>" for i in range(5))
    parts = [([ROOT12], envelope(mtom.SoapVersion.SOAP12, children))]
    parts += [([f"Content-ID: <{i}@x>"], v) for i, v in enumerate(values)]
    serve(adapter, multipart(parts), XOP_CT + '; start-info="application/soap+xml"')
    assert svc.Echo().data == values


def test_inline_and_included_values_mix(mocked: Any) -> None:
    svc, _, adapter = mocked
    children = (f"<e:data>{base64.b64encode(b'inline').decode()}</e:data>"
                f"<e:data>{include('cid:a@x')}</e:data>"
                f'<e:typed xmlns:xm="http://www.w3.org/2005/05/xmlmime" '
                f'xm:contentType="image/png">{include("cid:b@x")}</e:typed>')
    serve(adapter, multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11, children)),
                              (["Content-ID: <a@x>"], PART_VALUE),
                              (["Content-ID: <b@x>", "Content-Type: image/png"], b"\x89PNG")]),
          XOP_CT)
    result = svc.Echo()
    assert result.data == [b"inline", PART_VALUE]
    assert result.typed._value_1 == b"\x89PNG" and result.typed.contentType == "image/png"


def test_swa_reply_attachments_are_reachable(mocked: Any) -> None:
    svc, transport, adapter = mocked
    children = ('<e:name href="cid:pic@x">picture</e:name><e:data>cid:doc@x</e:data>'
                "<e:data>\n  CID:pic@x </e:data><e:ref>cid:doc@x</e:ref>")
    body = multipart([(["Content-Type: text/xml; charset=utf-8"],
                       envelope(mtom.SoapVersion.SOAP11, children)),
                      (["Content-ID: <pic@x>", "Content-Type: image/jpeg"], PART_VALUE),
                      (["Content-ID: <doc@x>"], b"document"),
                      (["Content-ID: <spare@x>"], b"nobody refers to me")])
    serve(adapter, body, 'multipart/related; type="text/xml"; boundary="b0und"')
    result = svc.Echo()
    assert result.ref == "cid:doc@x"
    # base64Binary elements holding a cid: URL (SwA, as rpc/encoded services send)
    assert result.data == [b"document", PART_VALUE]
    reply = transport.last_reply
    assert reply is not None and reply.is_multipart and not reply.is_xop
    assert {(r.kind, r.attachment.content_id) for r in reply.swa} == {
        ("swa-href", "pic@x"), ("swa-ref", "doc@x"), ("swa-ref", "pic@x")}
    assert reply.get(result.ref).read() == b"document"  # type: ignore[union-attr]
    assert reply.get("pic@x").read() == PART_VALUE  # type: ignore[union-attr]
    assert [a.content_id for a in reply.unreferenced] == ["spare@x"]
    assert len(reply.attachments) == 3


def test_plain_reply_passes_through(mocked: Any) -> None:
    svc, transport, adapter = mocked
    body = envelope(mtom.SoapVersion.SOAP11,
                    f"<e:data>{base64.b64encode(PART_VALUE).decode()}</e:data>")
    serve(adapter, body, "text/xml; charset=utf-8")
    assert svc.Echo().data == [PART_VALUE]
    assert transport.last_reply is not None and transport.last_reply.package is None


def test_one_way_202_without_body(mocked: Any) -> None:
    svc, _, adapter = mocked
    adapter.register_uri("POST", URL, content=b"", status_code=202)
    assert svc.Echo() is None


# -- errors ----------------------------------------------------------------------------------




BIG = pattern(50_000)


@pytest.mark.parametrize(("body", "content_type", "error"), [
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('cid:missing@x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)]), XOP_CT, mtom.DanglingInclude),
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('cid:a@x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)])[:-40], XOP_CT, mtom.TruncatedMessage),
    (b"--b0und\r\n\r\nno envelope\r\n--b0und--\r\n", XOP_CT, mtom.RootPartError),
    (b"whatever", "multipart/related; type=\"application/xop+xml\"", mtom.NoBoundary),
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('http://evil/x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)]), XOP_CT, mtom.InvalidInclude),
])
def test_malformed_replies_raise_typed_errors_and_leave_no_files(
        tmp_path: Path, body: bytes, content_type: str, error: type[Exception]) -> None:
    transport = zeep_mtom.MtomTransport(spool_threshold=1024, spool_dir=tmp_path)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO11, URL)
    serve(adapter, body, content_type)
    with pytest.raises(error) as info:
        svc.Echo()
    assert isinstance(info.value, mtom.MtomError)
    assert _open_spool_files(tmp_path) == []


def test_limits_apply_to_replies(mocked: Any) -> None:
    transport = zeep_mtom.MtomTransport(limits=mtom.Limits(max_attachment_size=1000))
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO11, URL)
    serve(adapter, multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                                  f"<e:data>{include('cid:a@x')}</e:data>")),
                              (["Content-ID: <a@x>"], PART_VALUE)]), XOP_CT)
    with pytest.raises(mtom.LimitExceeded) as info:
        svc.Echo()
    assert info.value.limit == "max_attachment_size"


# -- the captured replies of the corpus ------------------------------------------------------


def _response_names(corpus: Path) -> list[str]:
    names = []
    for line in (corpus / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("| `") and len(cells) > 5 and cells[5] == "response":
            names.append(cells[1].strip("`"))
    return names


def _oracle(body: bytes, content_type: str) -> Any:
    try:
        package = mtom.read_package(body, content_type)
        root = package.root_element()
        return package, mtom.reconstitute(root, package)
    except mtom.MtomError as exc:
        return exc


def test_corpus_replies_decode_like_the_core(corpus_path: Path) -> None:
    names = _response_names(corpus_path)
    assert len(names) >= 6
    messages = {("negative/" if m.negative else "") + m.name: m
                for m in load_messages() + load_messages(negative=True)}
    envelope_el = etree.fromstring(envelope(mtom.SoapVersion.SOAP11, ""))
    for name in names:
        msg = messages[name]
        expected = _oracle(msg.body, msg.content_type)
        transport = zeep_mtom.MtomTransport()
        adapter = requests_mock.Adapter()
        transport.session.mount("mock://", adapter)
        serve(adapter, msg.body, msg.content_type)
        if isinstance(expected, mtom.MtomError):
            with pytest.raises(type(expected)):
                transport.post_xml(URL, envelope_el, {"Content-Type": "text/xml"})
            continue
        response = transport.post_xml(URL, envelope_el, {"Content-Type": "text/xml"})
        reply = response.mtom_reply
        assert reply is transport.last_reply and reply is not None, name
        package, xop = expected
        assert [p.read() for p in reply.package.parts[1:]] == [  # type: ignore[union-attr]
            p.read() for p in package.parts[1:]], name
        assert len(reply.references) == len(xop.references), name
        assert len(reply.swa) == len(xop.swa), name
        doc = etree.fromstring(response.content)
        assert next(doc.iter(mtom.XOP_INCLUDE), None) is None, name
        assert response.headers["Content-Type"].split(";")[0] in ("text/xml",
                                                                   "application/soap+xml")
        # every value resolves to the part's exact bytes
        reader = mtom.ReplyReader(200, msg.content_type, MtomOptions())
        reader.feed(msg.body)
        result = reader.close()
        ctx = mtom.ClientCall(MtomOptions(), optimise=False, placeholders=False)
        ctx.accept_reply(result.reply, result.values)
        for token, att in result.values.items():
            assert ctx.resolve(token) == att.read(), name
        transport.session.close()


def test_wcf_pdf_reply_through_zeep(corpus_path: Path) -> None:
    name = "gever_wcf-mtom-soap12-wsa10-pdf-response"
    body = (corpus_path / f"{name}.msg").read_bytes()
    content_type = (corpus_path / f"{name}.content-type").read_text("latin-1")
    transport = zeep_mtom.MtomTransport()
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    client = zeep.Client(str(DATA / "gever.wsdl"), transport=transport)
    adapter.register_uri("POST", "mock://gever/service", content=body,
                         headers={"Content-Type": content_type})
    result = client.service.GetContent(Id="1")
    pdf = mtom.read_package(body, content_type).attachments[0].read()
    assert len(pdf) == 42608 and result.Content == pdf
    assert result.Content.startswith(b"%PDF-1.4") and result.MimeType == "application/pdf"


def _capture_values(stem: str) -> list[tuple[int, str]]:
    import json

    meta = json.loads((INTEROP / "captures" / f"{stem}.json").read_text(encoding="utf-8"))
    return [(v["size"], v["sha256"]) for v in meta["values"]]


def test_axis_swa_href_reply_values_are_the_parts(wsgi_server: Any, tmp_path: Path) -> None:
    """Axis answers with empty elements carrying href="cid:…": each value is its part."""
    import hashlib

    stem = "axis-reply-soap11-swa-reply"
    app = CannedApp.from_capture((INTEROP / "captures" / f"{stem}.http").read_bytes())
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=False) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        result = client.service.EchoTest(Data=[{"_value_1": b"x"}])
        got = [(len(d._value_1), hashlib.sha256(d._value_1).hexdigest()) for d in result]
        assert got == _capture_values(stem)
        assert result[0].contentType == "image/png"
        reply = transport.last_reply
        assert reply is not None and [r.kind for r in reply.swa] == ["swa-href", "swa-href"]
        transport.session.close()


@pytest.mark.parametrize("version", ["11", "12"])
def test_nodesoap_fault_labelled_multipart_reaches_zeep_as_fault(
        wsgi_server: Any, tmp_path: Path, version: str, caplog: pytest.LogCaptureFixture) -> None:
    """node-soap copies the MTOM request's Content-Type onto its plain Fault."""
    from zeep.exceptions import Fault

    raw = (INTEROP / "captures" / "known" / f"nodesoap-reply-soap{version}-mtom-fault.http")
    app = CannedApp.from_capture(raw.read_bytes())
    caplog.set_level("WARNING", logger="zeep_mtom")
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=True, threshold=0) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        service = client.bind("EchoService", f"EchoPort{version}")
        with pytest.raises(Fault) as info:
            service.EchoTest(Data=[{"_value_1": b"payload"}])
        assert "Invalid XML" in str(info.value.message)
        assert app.received[0][0]["content-type"].startswith("multipart/related")
        reply = transport.last_reply
        assert reply is not None and reply.status_code == 500
        assert len(reply.warnings) == 1 and "holds no" in reply.warnings[0]
        transport.session.close()
    assert [r.getMessage() for r in caplog.records if r.name == "zeep_mtom"] == [
        f"the HTTP 500 reply from {url}/echo{version}: {reply.warnings[0]}"]


def test_dime_reply_is_refused_with_a_typed_error(wsgi_server: Any, tmp_path: Path) -> None:
    raw = (INTEROP / "captures" / "known" / "axis-reply-soap11-dime.http").read_bytes()
    app = CannedApp.from_capture(raw)
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=False) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        with pytest.raises(mtom.DimeNotSupported) as info:
            client.service.EchoTest(Data=[{"_value_1": b"payload"}])
        transport.session.close()
    message = str(info.value)
    assert "DIME (application/dime) is not supported; MTOM and SwA are" in message
    assert "ATTACHMENT_ENCAPSULATION_FORMAT_MIME" in message
    if sys.version_info >= (3, 11):  # BaseException.add_note is new in 3.11
        assert f"while reading the HTTP 200 reply from {url}/echo11" in info.value.__notes__
    assert transport.last_reply is None


# == bodies requests can stream ============================================================


def test_package_stream_gives_requests_the_content_length() -> None:
    raw = pattern(2048)
    package = mtom.OutgoingPackage(b"<r/>", [mtom.OutgoingPart(raw)])
    body = package.stream()
    assert requests.utils.super_len(body) == package.content_length
    prepared = requests.Request("POST", "http://h/", data=package.stream()).prepare()
    assert prepared.headers["Content-Length"] == str(package.content_length)
    assert "Transfer-Encoding" not in prepared.headers
    assert b"".join(iter(lambda: body.read(1000), b"")) == package.to_bytes()
    assert b"".join(package.stream()) == package.to_bytes()


def test_unknown_length_goes_chunked() -> None:
    ctx = mtom.ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = etree.Element(f"{{{mtom.SOAP11_ENV_NS}}}Envelope")
    data = etree.SubElement(etree.SubElement(root, f"{{{mtom.SOAP11_ENV_NS}}}Body"),
                            f"{{{NS}}}data")
    ctx.render(data, mtom.OutgoingPart(iter([pattern(2048)])))
    request = mtom.prepare_request(root, {"Content-Type": "text/xml"}, ctx, ctx.options)
    assert request.package is not None and request.package.content_length is None
    body: Any = request.content()
    assert not isinstance(body, (bytes, mtom.PackageStream))
    prepared = requests.Request("POST", "http://h/", data=body,
                                headers=dict(request.headers)).prepare()
    assert prepared.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in prepared.headers


@pytest.mark.parametrize("headers, size", [
    ({"Content-Length": "17000"}, None),  # known and small: one read of the whole body
    ({"Content-Length": str(1024 * 1024)}, None),
    ({"Content-Length": str(1024 * 1024 + 1)}, 1024 * 1024),
    ({}, 1024 * 1024),  # chunked: read as it comes, in bounded pieces
    ({"Content-Length": "17000", "Content-Encoding": "gzip"}, 1024 * 1024),
    ({"Content-Length": "-1"}, 1024 * 1024),
])
def test_a_small_reply_of_known_length_is_read_in_one_piece(headers: dict[str, str],
                                                               size: int | None) -> None:
    assert zeep_mtom.transport._read_size(requests.structures.CaseInsensitiveDict(headers)) == size
