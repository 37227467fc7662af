"""MtomTransport and AsyncMtomTransport over real HTTP against the echo service."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import (
    ACTION,
    DATA,
    ECHO11,
    ECHO12,
    NS,
    EchoApp,
    Pipe,
    SharedServer,
    echo_service,
    pattern,
)
from _support import fds_under as _open_spool_files
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.proxy import AsyncServiceProxy

import mtom
import zeep_mtom

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
