"""mtom.server: what a server decides about one call (sans-IO; no framework, no socket)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from _support import chunked, envelope, fds_under, pattern, xop
from lxml import etree

import mtom
from mtom.server import (
    MTOM_MEDIA_TYPE,
    REPLY_MODES,
    ServerCall,
    ServerOptions,
    ViewFile,
    is_package,
    reply_mtom,
    status_line,
)

LOG = logging.getLogger("test_server")
XOP_ACCEPT = "text/xml, application/xop+xml"


# -- options and decisions -------------------------------------------------------------

# (mode, mtom option, request was MTOM, Accept) -> MTOM reply?
REPLY_TABLE = [
    ("auto", None, False, None, False),
    ("auto", None, False, "text/xml", False),
    ("auto", None, False, XOP_ACCEPT, True),
    ("auto", None, False, "Application/XOP+XML", True),
    ("auto", None, True, None, True),
    ("always", None, False, None, True),
    ("always", True, False, None, True),
    ("never", None, True, XOP_ACCEPT, False),
    ("always", False, True, XOP_ACCEPT, False),  # mtom=False is "never"
    ("auto", False, True, None, False),
]


@pytest.mark.parametrize(("mode", "option", "request_mtom", "accept", "want"), REPLY_TABLE)
def test_reply_mtom(mode: str, option: bool | None, request_mtom: bool, accept: str | None,
                    want: bool) -> None:
    assert reply_mtom(mode, mtom=option, request_mtom=request_mtom, accept=accept) is want


def test_server_options_validated_once() -> None:
    assert REPLY_MODES == ("auto", "always", "never")
    assert ServerOptions() == ServerOptions("auto", False, None)
    for bad, message in [({"mtom_reply": "sometimes"}, "mtom_reply must be"),
                         ({"mtom_reply": True}, "mtom_reply must be"),
                         ({"require_mtom": "yes"}, "require_mtom must be True or False"),
                         ({"progress": 3}, "progress must be a callable")]:
        with pytest.raises(ValueError, match=message):
            ServerOptions(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("content_type", "package"), [
    (None, False), ("text/xml; charset=utf-8", False), ("application/soap+xml", False),
    (MTOM_MEDIA_TYPE + '; boundary="b"', True), ("multipart/related; boundary=b", True),
    ("application/dime", True),
])
def test_is_package(content_type: str | None, package: bool) -> None:
    ct = mtom.parse_content_type(content_type) if content_type else None
    assert is_package(ct) is package


def test_status_line() -> None:
    assert status_line(400) == "400 Bad Request"
    assert status_line(415) == "415 Unsupported Media Type"
    assert status_line(500) == "500 Internal Server Error"
    assert status_line(599) == "599 Error"


# -- reading a request -------------------------------------------------------------------

def _package(value: bytes, *, swa_type: str | None = None) -> tuple[bytes, str]:
    part = mtom.OutgoingPart(value, content_type="image/png")
    if swa_type is None:
        root = envelope("1.1", f"<t:echo><t:data>{xop(part)}</t:data></t:echo>")
        pkg = mtom.OutgoingPackage(root, [part])
    else:
        root = envelope("1.1", f'<t:echo xmlns:apache="{mtom.soap.XML_SOAP_NS}" xmlns:xsi='
                        '"http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3'
                        f'.org/2001/XMLSchema"><t:data href="cid:{part.content_id}" '
                        f'xsi:type="{swa_type}"/></t:echo>')
        pkg = mtom.OutgoingPackage(root, [part], xop=False)
    return pkg.to_bytes(), pkg.content_type


def test_read_a_package_keeps_package_references_and_stats() -> None:
    value = pattern(5000)
    body, content_type = _package(value)
    call = ServerCall(LOG)
    events: list[mtom.Progress] = []
    root = call.read_request(chunked(body, 1000), mtom.parse_content_type(content_type),
                             mtom.MtomOptions(), progress=events.append,
                             content_length=len(body))
    data = root.find(".//{urn:spyne-mtom:test}data")
    ref = call.reference(data)
    assert ref is not None and ref.attachment.read() == value and len(data) == 0
    assert call.reference(root) is None and call.reference("not an element") is None
    assert call.package is not None and call.received is not None
    assert (call.received.kind, call.received.parts, call.received.wire_bytes) == (
        "mtom", 1, len(body))
    assert events[-1].finished and events[-1].done == len(body) == events[-1].total
    call.finish()
    assert ref.attachment.closed


def test_read_a_plain_request() -> None:
    body = envelope("1.1", "<t:echo><t:data>aGk=</t:data></t:echo>")
    call = ServerCall(LOG)
    root = call.read_request([body], mtom.parse_content_type("text/xml"), mtom.MtomOptions())
    assert root.findtext(".//{urn:spyne-mtom:test}data") == "aGk="
    assert call.package is None and call.references == {}
    assert call.received == mtom.MessageStats.plain(len(body))


def test_read_request_takes_the_header_text() -> None:
    """The Content-Type and Content-Length as a WSGI server gives them (text), parsed once."""
    body, content_type = _package(pattern(3000))
    call = ServerCall(LOG)
    events: list[mtom.Progress] = []
    call.read_request([body], content_type, mtom.MtomOptions(), progress=events.append,
                      content_length=str(len(body)))
    assert call.content_type == mtom.parse_content_type(content_type)
    assert events[-1].total == len(body) and call.package is not None
    call.finish()


@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-8", None, ""])
def test_require_mtom_refuses_a_plain_request_unread(content_type: str | None) -> None:
    body = envelope("1.1", "<t:echo><t:data>aGk=</t:data></t:echo>")
    call = ServerCall(LOG)
    with pytest.raises(mtom.UnsupportedMediaType) as info:
        call.read_request(iter([body]), content_type, mtom.MtomOptions(), require_mtom=True)
    assert info.value.http_status("1.1") == info.value.http_status("1.2") == 415
    assert info.value.fault_role == "Sender"
    assert mtom.server.MTOM_MEDIA_TYPE in str(info.value)
    assert ("text/xml" if content_type else "no Content-Type") in str(info.value)
    assert call.received is None  # refused before the body was read
    package, package_type = _package(pattern(10))
    assert ServerCall(LOG).read_request([package], package_type, mtom.MtomOptions(),
                                        require_mtom=True) is not None


@pytest.mark.parametrize(("body", "error"), [
    (envelope("1.1", f"<t:echo><t:data>{xop('x@y')}</t:data></t:echo>"), mtom.MalformedXop),
    (b"<nope", mtom.RootPartError),
])
def test_a_bad_plain_request_is_refused_after_it_is_counted(body: bytes,
                                                            error: type[Exception]) -> None:
    call = ServerCall(LOG)
    with pytest.raises(error):
        call.read_request([body], None, mtom.MtomOptions())
    assert call.received == mtom.MessageStats.plain(len(body))  # the report still says it


def test_an_error_closes_the_call_and_its_spooled_files(tmp_path: Path) -> None:
    body, content_type = _package(pattern(5000))
    root_end = body.index(b"</e:Envelope>")
    broken = body[:root_end] + body[root_end + 4:]  # the root part is not well-formed
    call = ServerCall(LOG)
    with pytest.raises(mtom.RootPartError):
        call.read_request([broken], mtom.parse_content_type(content_type),
                          mtom.MtomOptions(spool_threshold=0, spool_dir=tmp_path))
    assert call.package is not None and call.package.attachments[0].closed
    assert fds_under(tmp_path) == []


@pytest.mark.parametrize(("swa_type", "dropped"), [
    ("apache:DataHandler", True), ("xsd:base64Binary", False),
])
def test_axis_datahandler_type_is_dropped_from_swa_references(swa_type: str,
                                                              dropped: bool) -> None:
    body, content_type = _package(b"png!", swa_type=swa_type)
    call = ServerCall(LOG)
    root = call.read_request([body], mtom.parse_content_type(content_type), mtom.MtomOptions())
    data = root.find(".//{urn:spyne-mtom:test}data")
    assert call.reference(data) is not None
    xsi_type = data.get("{http://www.w3.org/2001/XMLSchema-instance}type")
    assert (xsi_type is None) is dropped
    call.finish()


# -- the reply and the report -------------------------------------------------------------

def _reply_values(size: int) -> tuple[etree._Element, dict[etree._Element, mtom.OutgoingPart]]:
    root = etree.fromstring(envelope("1.1", "<t:r><t:data/></t:r>"))
    data = root.find(".//{urn:spyne-mtom:test}data")
    assert data is not None
    return root, {data: mtom.OutgoingPart(pattern(size))}


@pytest.mark.parametrize(("mode", "accept", "mtom_reply"), [
    ("auto", None, False), ("auto", XOP_ACCEPT, True), ("always", None, True),
])
def test_reply_package_follows_the_reply_mode(mode: str, accept: str | None,
                                              mtom_reply: bool) -> None:
    call = ServerCall(LOG)
    call.received = mtom.MessageStats.plain(10)
    root, values = _reply_values(4000)
    package = call.reply_package(root, values, mtom.MtomOptions(), mode=mode, accept=accept,
                                 soap_version="1.1")
    assert (package is not None) is mtom_reply
    data = root.find(".//{urn:spyne-mtom:test}data")
    assert data is not None
    assert (len(data) == 1) is mtom_reply  # an xop:Include, else base64 text
    assert (data.text == mtom.base64_text(pattern(4000)).decode()) is not mtom_reply


def test_reply_stream_reports_once_and_finishes_the_call(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger=LOG.name)
    body, content_type = _package(pattern(3000))
    call = ServerCall(LOG)
    call.read_request([body], mtom.parse_content_type(content_type), mtom.MtomOptions())
    root, values = _reply_values(3000)
    package = call.reply_package(root, values, mtom.MtomOptions(), mode="auto", accept=None,
                                 soap_version="1.1")
    assert package is not None
    events: list[mtom.Progress] = []
    stream = call.reply_stream(package, events.append)
    assert call.streaming
    sent = b"".join(iter(stream))
    assert call.sent is not None and call.sent.wire_bytes == len(sent)
    assert events[-1].finished and events[-1].direction == "send"
    stream.close()
    assert call.package is not None and call.package.attachments[0].closed
    lines = [r.getMessage() for r in caplog.records if r.name == LOG.name]
    assert len(lines) == 1 and lines[0].startswith(f"sent MTOM, 1 part, {len(sent)} bytes")
    assert f"received MTOM, 1 part, {len(body)} bytes" in lines[0]
    call.finish()  # idempotent: no second report
    assert len([r for r in caplog.records if r.name == LOG.name]) == 1


def test_reply_stream_closed_early_still_reports() -> None:
    call = ServerCall(LOG)
    root, values = _reply_values(300_000)
    package = call.reply_package(root, values, mtom.MtomOptions(), mode="always", accept=None,
                                 soap_version="1.2")
    assert package is not None
    stream = call.reply_stream(package)
    first = stream.read(1000)
    stream.close()
    assert call.sent is not None and call.sent.wire_bytes == len(first)


def test_handles_close_with_the_call() -> None:
    call = ServerCall(LOG)
    handle = io.BytesIO(b"x")
    call.handles.append(handle)
    call.close()
    call.close()
    assert handle.closed and call.handles == []


def test_view_file_reads_views_of_the_stream() -> None:
    root, values = _reply_values(5000)
    package = ServerCall(LOG).reply_package(root, values, mtom.MtomOptions(), mode="always",
                                            accept=None, soap_version="1.1")
    assert package is not None
    expected = package.to_bytes()
    view = ViewFile(package.stream())
    assert view.seekable() and view.tell() == 0
    out = []
    while chunk := view.read(4096):
        out.append(bytes(chunk))
    assert b"".join(out) == expected and view.tell() == len(expected)
    view.close()
