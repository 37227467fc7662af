"""mtom.exchange: one client exchange — the request body and headers, the reply read into
(envelope, values), the meters and report, what a client keeps per caller."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from _support import TNS, envelope, multipart_body, pattern, xop
from _support import fds_under as _spool_fds
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

import mtom
from mtom import ClientCall, MtomOptions, ReplyReader, prepare_request
from mtom.exchange import (
    ACCEPT,
    SMALL_BODY,
    LastReplies,
    PerCaller,
    convert_request,
    reply_length,
    soap_version_of,
)

# -- out: the request ------------------------------------------------------------------------

NS = "urn:t"
XMIME = "http://www.w3.org/2005/05/xmlmime"
RAW = bytes(range(256)) * 8  # 2048 bytes


def _envelope(version: mtom.SoapVersion = mtom.SoapVersion.SOAP11) -> etree._Element:
    env = version.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"soap-env": env})
    etree.SubElement(root, f"{{{env}}}Body")
    return root


def _child(root: etree._Element, local: str, text: str | None = None,
           **attrs: str) -> etree._Element:
    el = etree.SubElement(root[0], f"{{{NS}}}{local}", attrs)
    el.text = text
    return el


def optimise_envelope(root: etree._Element, ctx: ClientCall | None,
                      options: MtomOptions) -> list[mtom.OutgoingPart]:
    """The parts :func:`prepare_request` moves out of ``root`` (an MTOM call)."""
    if ctx is None:
        options = MtomOptions(mtom=True, optimize_elements=options.optimize_elements)
    request = prepare_request(root, {"Content-Type": "text/xml"}, ctx, options)
    return request.package.parts if request.package is not None else []


def test_placeholders_become_includes_without_base64() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    data = _child(root, "data")
    ctx.render(data, RAW)
    typed = _child(root, "typed", **{f"{{{XMIME}}}contentType": "image/png"})
    ctx.render(typed, mtom.Attachment.from_bytes(RAW, content_type="text/plain"))
    parts = optimise_envelope(root, ctx, ctx.options)
    assert parts[0].source is RAW
    assert [p.content_type for p in parts] == ["application/octet-stream", "image/png"]
    for el, part in zip((data, typed), parts, strict=True):
        include = el[0]
        assert include.tag == mtom.XOP_INCLUDE and el.text is None
        assert include.get("href") == mtom.cid_href(part.content_id)
    assert not ctx.pending


def test_text_values_are_moved_after_signing_and_by_hints() -> None:
    ctx = ClientCall(MtomOptions(optimize_elements=[f"{{{NS}}}forced"]), optimise=True,
                      placeholders=False)
    root = _envelope()
    signed = _child(root, "signed")
    ctx.render(signed, RAW)  # rendered as base64, remembered
    hinted = _child(root, "hinted", base64.b64encode(RAW).decode(),
                    **{f"{{{XMIME}}}contentType": "audio/ogg"})
    small_hint = _child(root, "smallhint", "QUJD", **{f"{{{XMIME}}}contentType": "a/b"})
    forced = _child(root, "forced", "QUJD")
    other = _child(root, "other", base64.b64encode(RAW).decode())
    parts = optimise_envelope(root, ctx, ctx.options)
    assert [p.source for p in parts] == [RAW, RAW, b"ABC"]
    assert parts[1].content_type == "audio/ogg"
    assert len(signed) == len(hinted) == len(forced) == 1
    assert small_hint.text == "QUJD" and other.text == base64.b64encode(RAW).decode()


def test_forced_element_that_is_not_base64_is_an_error() -> None:
    root = _envelope()
    _child(root, "forced", "not base64 at all!")
    with pytest.raises(mtom.InvalidInclude):
        optimise_envelope(root, None, MtomOptions(optimize_elements=[f"{{{NS}}}forced"]))


def test_no_context_follows_the_mtom_option() -> None:
    for option, multipart in ((None, False), (False, False), (True, True)):
        root = _envelope()
        _child(root, "d", base64.b64encode(RAW).decode(),
               **{f"{{{XMIME}}}contentType": "image/png"})
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"a"'}
        request = prepare_request(root, headers, None, MtomOptions(mtom=option))
        assert request.is_mtom is multipart


def test_soap11_headers() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), RAW)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:a"',
               "content-length": "99"}
    request = prepare_request(root, headers, ctx, ctx.options)
    assert request.headers is headers  # updated in place, as Zeep's plugins saw it
    ct = mtom.parse_content_type(headers["Content-Type"])
    assert (ct.media_type, ct.get("type"), ct.get("start-info"), ct.get("action")) == (
        "multipart/related", "application/xop+xml", "text/xml", None)
    assert headers["SOAPAction"] == '"urn:a"'
    assert "content-length" not in headers
    assert request.package is not None
    assert headers["Content-Length"] == str(request.package.content_length)
    body = request.package.to_bytes()
    assert len(body) == int(headers["Content-Length"])
    package = mtom.read_package(body, headers["Content-Type"])
    assert package.attachments[0].read() == RAW
    assert b"xop:Include" in request.envelope


def test_soap12_action_moves_into_the_multipart_content_type() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope(mtom.SoapVersion.SOAP12)
    ctx.render(_child(root, "data"), RAW)
    headers = {"Content-Type": 'application/soap+xml; charset=utf-8; action="urn:op"',
               "SOAPAction": '"urn:op"'}
    prepare_request(root, headers, ctx, ctx.options)
    ct = mtom.parse_content_type(headers["Content-Type"])
    assert ct.get("start-info") == "application/soap+xml"
    assert ct.get("action") == "urn:op"


def test_plain_when_nothing_qualifies() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), b"small")
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    request = prepare_request(root, headers, ctx, ctx.options)
    # Plain on the wire, but the call says it reads XOP (JAX-WS then answers with MTOM).
    assert not request.is_mtom and headers == {"Content-Type": "text/xml; charset=utf-8",
                                                "Accept": ACCEPT}
    assert request.content() == request.envelope
    assert request.envelope.startswith(b"<?xml version='1.0' encoding='utf-8'?>")


@pytest.mark.parametrize(("version", "content_type", "expected"), [
    (mtom.SoapVersion.SOAP11, "application/soap+xml", mtom.SoapVersion.SOAP11),
    (mtom.SoapVersion.SOAP12, "text/xml", mtom.SoapVersion.SOAP12),
])
def test_version_comes_from_the_envelope(version: mtom.SoapVersion, content_type: str,
                                         expected: mtom.SoapVersion) -> None:
    assert soap_version_of(_envelope(version), content_type) is expected
    assert soap_version_of(etree.Element("x"), "application/soap+xml") is (
        mtom.SoapVersion.SOAP12)


def test_accept_names_xop_only_when_mtom_is_on_and_keeps_the_users() -> None:
    for option, expected in ((True, ACCEPT), (False, None), (None, None)):
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        prepare_request(_envelope(), headers, None, MtomOptions(mtom=option))
        assert headers.get("Accept") == expected
    headers = {"Content-Type": "text/xml; charset=utf-8", "accept": "text/xml"}
    prepare_request(_envelope(), headers, None, MtomOptions(mtom=True))
    assert headers == {"Content-Type": "text/xml; charset=utf-8", "accept": "text/xml"}


def test_body_kinds() -> None:
    """Small bodies are one bytes (one send), sized ones a stream with a length, unsized
    ones chunks."""
    small = prepare_request(_envelope(), {}, None, MtomOptions(mtom=True, threshold=0,
                                                                 optimize_elements=[]))
    assert small.content() == small.envelope and small.mode == "plain"
    for size, kind in ((2048, bytes), (SMALL_BODY + 1, mtom.PackageStream)):
        ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
        root = _envelope()
        ctx.render(_child(root, "data"), bytes(size))
        request = prepare_request(root, {"Content-Type": "text/xml"}, ctx, ctx.options)
        assert request.package is not None and request.mode == "mtom"
        body = request.content()
        assert type(body) is kind
        assert len(body) == request.package.content_length
        assert request.describe() == f"MTOM, 1 part(s), {request.package.content_length} bytes"
        assert b"".join(request.chunks()) == request.package.to_bytes()
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), mtom.OutgoingPart(iter([RAW])))
    request = prepare_request(root, {"Content-Type": "text/xml"}, ctx, ctx.options)
    body: Any = request.content()
    assert not isinstance(body, (bytes, mtom.PackageStream))
    assert RAW in b"".join(body)


def test_force_mtom_for_a_server_that_requires_it() -> None:
    ctx = ClientCall(MtomOptions(mtom=False), optimise=False, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), RAW)  # inline: the call is not MTOM
    small = _child(root, "small", "QUJD")
    request = prepare_request(root, {"Content-Type": "text/xml"}, ctx, ctx.options,
                              force_mtom=True)
    assert request.package is not None and [p.source for p in request.package.parts] == [RAW]
    assert small.text == "QUJD"
    bare = prepare_request(_envelope(), {"Content-Type": "text/xml"}, None,
                           MtomOptions(mtom=False), force_mtom=True)
    assert bare.package is not None and bare.package.parts == []  # the root alone


def test_convert_request_both_ways() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    data = _child(root, "data")
    ctx.render(data, RAW)
    given = {"Content-Type": "text/xml; charset=utf-8"}
    headers = dict(given)
    request = prepare_request(root, headers, ctx, ctx.options)
    plain = convert_request("plain", root, given, request, ctx, ctx.options, again=True)
    assert plain.mode == "plain" and plain.headers == given and plain.headers is not given
    assert data.text == base64.b64encode(RAW).decode() and b"Include" not in plain.envelope
    back = convert_request("mtom", root, given, plain, ctx, MtomOptions(mtom=False),
                           again=True)
    assert back.mode == "mtom" and back.package is not None
    assert back.package.parts == []  # a placeholder's value, now inline: not typed, stays
    stream_ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    stream_ctx.render(_child(root, "data"), mtom.OutgoingPart(iter([RAW])))
    request = prepare_request(root, dict(given), stream_ctx, stream_ctx.options)
    with pytest.raises(mtom.UsageError, match="cannot be read a second time"):
        convert_request("plain", root, given, request, stream_ctx, stream_ctx.options,
                        again=True)


# -- in: the reply ---------------------------------------------------------------------------


VALUE = pattern(3000)
ODD = b"\r\n--b0undary\r\n" + VALUE + b"\r\n--b0und-x--\r\n"
XOP_CT = 'multipart/related; type="application/xop+xml"; boundary="b0und"'
SAMPLE = multipart_body(
    [("Content-ID: <a@x>", ODD), ("Content-ID: <b@x>", b"\n")], boundary="b0und",
    root=envelope("1.1", f"<t:EchoResponse><t:data>{xop('a@x')}</t:data>"
                         f"<t:data>{xop('b@x')}</t:data></t:EchoResponse>"))


def _read(body: bytes, content_type: str, chunks: list[int] | None = None,
          **options: Any) -> Any:
    reader = ReplyReader(200, content_type, MtomOptions(**options))
    if chunks is None:
        reader.feed(body)
    else:
        pos = 0
        for n in chunks:
            reader.feed(body[pos:pos + n])
            pos += n
        reader.feed(body[pos:])
    return reader.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=97), max_size=60))
def test_reader_gives_the_same_result_for_any_chunking(chunks: list[int]) -> None:
    result = _read(SAMPLE, XOP_CT, chunks)
    assert [a.read() for a in result.reply.attachments] == [ODD, b"\n"]
    assert sorted(result.values) == ["cid:a@x", "cid:b@x"]
    result.reply.close()


def test_reader_fed_one_byte_at_a_time() -> None:
    result = _read(SAMPLE, XOP_CT, [1] * len(SAMPLE))
    assert result.values["cid:a@x"].read() == ODD


def test_reader_output_is_a_plain_envelope_with_tokens() -> None:
    result = _read(SAMPLE, XOP_CT)
    assert result.content_type == "text/xml; charset=utf-8"
    root = etree.fromstring(result.content)
    assert [e.text for e in root.iter(f"{{{TNS}}}data")] == ["cid:a@x", "cid:b@x"]
    assert next(root.iter(mtom.XOP_INCLUDE), None) is None


def test_values_resolve_through_the_client_call() -> None:
    result = _read(SAMPLE, XOP_CT, spool_threshold=16, stream_attachments=False)
    ctx = ClientCall(MtomOptions(spool_threshold=16, stream_attachments=False), optimise=False,
                      placeholders=False)
    ctx.accept_reply(result.reply, result.values)
    assert ctx.resolve("cid:a@x") == ODD
    assert ctx.resolve("cid:b@x") == b"\n"
    assert ctx.resolve("cid:nope@x") is None
    value = result.values["cid:a@x"]
    # Delivered as bytes: never spooled (it ends in memory anyway), closed after the call.
    assert value.in_memory
    ctx.finish()
    assert value.closed


def test_reader_hands_out_the_parsed_root_without_comments_unless_inlining() -> None:
    body = multipart_body(
        [("Content-ID: <a@x>", VALUE)], boundary="b0und",
        root=envelope("1.1", f"<!-- note --><t:EchoResponse><t:data>{xop('a@x')}</t:data>"
                             "</t:EchoResponse>"))
    result = _read(body, XOP_CT)
    assert result.root is not None and b"<!--" not in result.content
    assert etree.tostring(result.root, xml_declaration=True, encoding="utf-8") == \
        result.content  # the bytes are the tree's
    result.reply.close()
    reader = ReplyReader(200, XOP_CT, MtomOptions(), inline_values=True)
    reader.feed(body)
    signed = reader.close()  # a signature check parses the bytes, comments and all
    assert signed.root is None and b"<!-- note -->" in signed.content
    signed.reply.close()
    plain = _read(envelope("1.1", "<t:x/>"), "text/xml")
    assert plain.root is None


def test_reader_abort_releases_spooled_parts(tmp_path: Path) -> None:
    reader = ReplyReader(200, XOP_CT, MtomOptions(spool_threshold=16, spool_dir=tmp_path,
                                                  stream_attachments=True))
    reader.feed(SAMPLE[:-20])
    assert _spool_fds(tmp_path)
    reader.abort()
    assert _spool_fds(tmp_path) == []
    with pytest.raises(mtom.UsageError):
        reader.feed(b"more")
    with pytest.raises(mtom.UsageError):
        reader.close()


def test_plain_reply_is_passed_through_within_the_limits() -> None:
    body = envelope("1.1", "<t:ok/>")
    result = _read(body, "text/xml; charset=utf-8", [7, 7])
    assert (result.content, result.content_type, result.values) == (
        body, "text/xml; charset=utf-8", {})
    assert not result.reply.is_multipart and result.describe() == "text/xml, 0 part(s)"
    reader = ReplyReader(200, "text/xml", MtomOptions(limits=mtom.Limits(max_root_size=10)))
    with pytest.raises(mtom.LimitExceeded, match="max_root_size=10 bytes") as info:
        reader.feed(body)
    assert info.value.limit == "max_root_size"
    with pytest.raises(mtom.UsageError):
        reader.close()


def test_reader_refuses_dime_at_the_first_chunk() -> None:
    reader = ReplyReader(200, "application/dime", MtomOptions())
    with pytest.raises(mtom.DimeNotSupported):
        reader.feed(b"\x0c\x00")
    reader.abort()  # after the error: nothing left to release, no second error
    with pytest.raises(mtom.DimeNotSupported):
        ReplyReader(200, "application/dime", MtomOptions()).close()


# -- around: the exchange, per-caller slots ---------------------------------------------------


def test_exchange_meters_and_report() -> None:
    events: list[mtom.Progress] = []
    request = prepare_request(_envelope(), {}, None, MtomOptions())
    exchange = mtom.Exchange(request, events.append)
    assert exchange.body() == request.envelope
    exchange.request_sent()
    reader = exchange.reader(200, {"Content-Type": XOP_CT, "Content-Length": str(len(SAMPLE))},
                             MtomOptions(), None)
    reader.feed(SAMPLE)
    result = reader.close()
    ctx = ClientCall(MtomOptions(), optimise=False, placeholders=False)
    report = exchange.finish(reader, result, ctx)
    assert ctx.resolve("cid:a@x") == ODD
    assert [(e.direction, e.done, e.total, e.finished) for e in events] == [
        ("send", len(request.envelope), len(request.envelope), True),
        ("receive", len(SAMPLE), len(SAMPLE), True)]
    assert report.sent == mtom.MessageStats.plain(len(request.envelope))
    assert report.received is not None and report.received.kind == "mtom"
    assert report.received.wire_bytes == len(SAMPLE) and report.received.parts == 2
    ctx.finish()
    result.reply.close()


def test_exchange_without_progress_counts_only_an_unsized_body() -> None:
    assert mtom.Exchange(prepare_request(_envelope(), {}, None, MtomOptions()),
                         None).send_meter is None
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), mtom.OutgoingPart(iter([RAW])))
    exchange = mtom.Exchange(prepare_request(root, {}, ctx, ctx.options), None)
    sent = b"".join(exchange.body())  # type: ignore[arg-type]
    assert exchange.send_meter is not None and exchange.send_meter.done == len(sent)


def test_reply_length() -> None:
    assert reply_length({"Content-Length": "12"}) == 12
    assert reply_length({"Content-Length": "12", "Content-Encoding": "gzip"}) is None
    assert reply_length({}) is None and reply_length({"Content-Length": "x"}) is None


def test_per_caller_values_are_per_thread_and_task() -> None:
    slot: PerCaller[str] = PerCaller()
    slot.set("main")
    seen: list[str | None] = []
    thread = threading.Thread(target=lambda: seen.append(slot.get()))
    thread.start()
    thread.join()

    async def task() -> tuple[str | None, str | None]:
        before = slot.get()
        slot.set("task")
        return before, slot.get()

    assert asyncio.run(task()) == (None, "task")
    assert seen == [None] and slot.get() == "main"
    slot.set(None)
    assert slot.get() is None
    slot.set("again")
    slot.clear()
    assert slot.get() is None


def test_last_replies_close_every_callers_reply(tmp_path: Path) -> None:
    replies = LastReplies()
    results = [_read(SAMPLE, XOP_CT, spool_threshold=16, spool_dir=tmp_path) for _ in range(2)]
    replies.set(results[0].reply)
    thread = threading.Thread(target=lambda: replies.set(results[1].reply))
    thread.start()
    thread.join()
    assert replies.get() is results[0].reply and len(_spool_fds(tmp_path)) == 2
    replies.close()
    assert replies.get() is None and _spool_fds(tmp_path) == []


def test_the_core_stays_sans_io() -> None:
    """Importing mtom (with the client exchange, call and negotiation) loads no HTTP
    library, framework, socket or event loop: the adapters own all I/O."""
    code = ("import sys, mtom, mtom.exchange, mtom.call, mtom.negotiation; print(sorted(m for m "
            "in ('requests', 'httpx', 'urllib3', 'zeep', 'spyne', 'socket', 'asyncio') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"
