"""The Zeep hooks and the per-call state: inert for other transports, active for ours."""

from __future__ import annotations

import base64
import binascii
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import DATA, ECHO11, NS, EchoApp, SharedServer, echo_service
from lxml import etree
from zeep.cache import InMemoryCache
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.types.builtins import Base64Binary, String

import mtom
import zeep_mtom
from mtom import MtomOptions
from zeep_mtom import ValueDeliveryError, hooks, read_attachment
from zeep_mtom.hooks import CallContext
from zeep_mtom.response import MtomReply

RAW = bytes(range(256)) * 20  # 5120 bytes


def _plain_client() -> zeep.Client:
    cache = InMemoryCache()
    url = "http://www.w3.org/2005/05/xmlmime"
    cache.add(url, zeep_mtom.schema_for(url))
    return zeep.Client(str(DATA / "echo.wsdl"), transport=zeep.Transport(cache=cache))


def test_install_is_idempotent_and_wraps_zeep() -> None:
    zeep_mtom.install()
    zeep_mtom.install()
    assert hooks.installed()
    for owner, name in ((Base64Binary, "render"), (Base64Binary, "pythonvalue"),
                        (SoapBinding, "send"), (SoapBinding, "send_async"),
                        (String, "render")):
        wrapper = getattr(owner, name)
        assert getattr(wrapper, "__zeep_mtom_original__", None) is not None
        assert getattr(wrapper.__zeep_mtom_original__, "__zeep_mtom_original__", None) is None


def test_other_transports_serialise_exactly_as_before() -> None:
    zeep_mtom.install()
    client = _plain_client()
    svc = client.create_service(ECHO11, "http://127.0.0.1:9/")
    envelope = client.create_message(svc, "Echo", data=[RAW], derived=RAW)
    texts = [e.text for e in envelope.iter(f"{{{NS}}}data", f"{{{NS}}}derived")]
    assert texts == [base64.b64encode(RAW).decode()] * 2
    assert hooks.current_call() is None
    base64_type = client.wsdl.types.get_type("{http://www.w3.org/2001/XMLSchema}base64Binary")
    assert base64_type.pythonvalue(base64.b64encode(RAW).decode()) == RAW
    original = Base64Binary.pythonvalue.__zeep_mtom_original__
    for text in ("cid:looks@like.a.token", "Y2lkOng="):
        try:
            expected: object = original(base64_type, text)
        except binascii.Error as exc:
            expected = type(exc)
        try:
            got: object = base64_type.pythonvalue(text)
        except binascii.Error as exc:
            got = type(exc)
        assert got == expected


def test_outside_a_call_values_are_zeeps_business(tmp_path: Path) -> None:
    # Inert outside our calls: a Path is what Zeep makes of it (a TypeError), even for
    # a client of an MtomTransport when it only builds a message (no call, no context).
    zeep_mtom.install()
    path = tmp_path / "v.bin"
    path.write_bytes(RAW)
    client = zeep.Client(str(DATA / "echo.wsdl"), transport=zeep_mtom.MtomTransport())
    svc = client.create_service(ECHO11, "http://127.0.0.1:9/")
    envelope = client.create_message(svc, "Echo", data=[RAW])
    assert [e.text for e in envelope.iter(f"{{{NS}}}data")] == [base64.b64encode(RAW).decode()]
    assert etree.QName(envelope).localname == "Envelope"
    for value in (path, io.BytesIO(RAW)):
        with pytest.raises(TypeError):
            client.create_message(svc, "Echo", data=[value])


# -- rendering ---------------------------------------------------------------------------------


def _node(tag: str = "{urn:t}data") -> etree._Element:
    return etree.Element(tag)


def test_render_placeholder_for_values_over_the_threshold() -> None:
    ctx = CallContext(MtomOptions(threshold=1024), optimise=True, placeholders=True)
    big, small = _node(), _node()
    ctx.render(big, RAW)
    ctx.render(small, RAW[:1023])
    assert big.text is not None and big.text.startswith("cid:")
    assert small.text == base64.b64encode(RAW[:1023]).decode()
    taken = ctx.pending.pop(big.text, None)
    assert taken is not None and taken.source is RAW  # no copy, no base64
    assert ctx.pending.pop(big.text, None) is None


def test_render_base64_text_values() -> None:
    ctx = CallContext(MtomOptions(threshold=1024), optimise=True, placeholders=True)
    text = base64.b64encode(RAW).decode()
    node = _node()
    with pytest.warns(mtom.UsageWarning, match="field 'data' .*pass bytes"):
        ctx.render(node, text)
    taken = ctx.pending.pop(node.text or "", None)
    assert taken is not None and taken.source == RAW
    bad = _node()
    with pytest.warns(mtom.UsageWarning):
        ctx.render(bad, "!" * 4000)  # not base64: sent as given, like Zeep
    assert bad.text == "!" * 4000


def test_render_when_not_optimising_or_opted_out() -> None:
    expected = base64.b64encode(RAW).decode()
    off = CallContext(MtomOptions(), optimise=False, placeholders=True)
    node = _node()
    off.render(node, RAW)
    assert node.text == expected and not off.pending
    opted_out = CallContext(MtomOptions(inline_elements=["{urn:t}data"]), optimise=True,
                            placeholders=True)
    node = _node()
    opted_out.render(node, RAW)
    assert node.text == expected
    forced = CallContext(MtomOptions(optimize_elements=["{urn:t}data"]), optimise=True,
                         placeholders=True)
    node = _node()
    forced.render(node, b"x")
    assert (node.text or "").startswith("cid:")


def test_render_while_signing_keeps_base64_and_remembers_the_element() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=False)
    node = _node()
    ctx.render(node, RAW)
    assert node.text == base64.b64encode(RAW).decode()
    assert ctx.typed == [node] and not ctx.pending


def test_user_content_ids_are_kept_unless_repeated() -> None:
    ctx = CallContext(MtomOptions(threshold=0), optimise=True, placeholders=True)
    part = mtom.OutgoingPart(RAW, content_id="mine@x")
    first, second = _node(), _node()
    ctx.render(first, part)
    ctx.render(second, part)
    assert first.text == "cid:mine@x"
    assert second.text != first.text and (second.text or "").startswith("cid:")


# -- receiving ---------------------------------------------------------------------------------


def _spooled(data: bytes) -> mtom.Attachment:
    att = mtom.Attachment(content_id="s@x", spool_threshold=16)
    for i in range(0, len(data), 65536):
        att.write(data[i:i + 65536])
    att.finish()
    assert not att.in_memory
    return att


def test_read_attachment_in_memory_and_spooled() -> None:
    memory = mtom.Attachment.from_bytes(RAW)
    assert read_attachment(memory) is memory.read()
    assert read_attachment(_spooled(RAW)) == RAW


def test_read_attachment_holds_one_copy() -> None:
    data = bytes(range(256)) * (32 * 4096)  # 32 MiB
    att = _spooled(data)
    tracemalloc.start()
    try:
        value = read_attachment(att)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert value == data
    assert peak < len(data) + 4 * 1024 * 1024, peak


def test_read_attachment_errors_are_typed_and_not_value_errors() -> None:
    att = _spooled(RAW)
    att.close()
    with pytest.raises(ValueDeliveryError) as info:
        read_attachment(att)
    assert isinstance(info.value, mtom.MtomError)
    assert not isinstance(info.value, ValueError)  # Zeep would turn it into None


def _reply(*atts: mtom.Attachment) -> tuple[MtomReply, dict[str, Any]]:
    reply = MtomReply(200, mtom.parse_content_type("multipart/related; boundary=x"))
    return reply, {f"cid:{a.content_id}": a for a in atts}


def test_resolve_bytes_or_attachment() -> None:
    small = mtom.Attachment.from_bytes(b"small", content_id="m@x")
    big = _spooled(RAW)
    for stream, kinds in ((False, (bytes, bytes)), (True, (bytes, mtom.Attachment))):
        ctx = CallContext(MtomOptions(stream_attachments=stream), optimise=False,
                          placeholders=False)
        reply, values = _reply(small, big)
        ctx.accept_reply(reply, values)
        got = (ctx.resolve("cid:m@x"), ctx.resolve("cid:s@x"))
        assert tuple(type(g) for g in got) == kinds
        assert ctx.resolve("cid:other@x") is None
        if stream:
            assert got[1] is big
            assert reply.handed_out_ids == {id(big)}
    ctx.finish()
    assert not big.closed  # handed to the caller


def test_finish_closes_only_parts_delivered_as_bytes() -> None:
    delivered = _spooled(RAW)
    kept = mtom.Attachment(content_id="k@x", spool_threshold=16)
    kept.write(RAW)
    kept.finish()
    ctx = CallContext(MtomOptions(stream_attachments=False), optimise=False, placeholders=False)
    reply, values = _reply(delivered)
    reply.unreferenced.append(kept)
    ctx.accept_reply(reply, values)
    assert ctx.resolve("cid:s@x") == RAW
    ctx.finish()
    assert delivered.closed and not kept.closed


# -- usage errors over real HTTP: nothing is sent, the message names the field -------------


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


def _refused(served: SharedServer, match: str, **kwargs: Any) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, _):
        with pytest.raises(mtom.UsageError, match=match):
            svc.Echo(**kwargs)
        assert not app.received
        assert svc.Echo(data=[RAW]).data == [RAW]  # the transport is fine afterwards


def test_directory_path_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    _refused(served, r"field 'Echo\.data': .* is a directory, not a file; expected bytes, "
             "a pathlib.Path to a file", data=[tmp_path])


def test_text_mode_file_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x" * 5000)
    with path.open("r") as text:
        _refused(served, r"field 'Echo\.data': the file .* is open in text mode; open it in "
                 "binary mode", data=[text])


def test_closed_file_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(RAW)
    with path.open("rb") as closed:
        pass
    _refused(served, r"field 'Echo\.data': the file .*a\.bin' is closed", data=[closed])
    with path.open("rb") as closed:
        pass
    _refused(served, r"field 'Echo\.derived': the file .* is closed", derived=closed)


def test_path_for_a_string_field_is_a_usage_error_with_mtom(served: SharedServer,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(RAW)
    _refused(served, r"field 'Echo\.name' is an xs:string but was given a path "
             r"\('.*video\.mp4'\); files go into xs:base64Binary fields", name=path)
    app = EchoApp()
    with echo_service(served, app, mtom=False) as (svc, _):  # Zeep's behaviour otherwise
        assert svc.Echo(name=path).name == str(path)


def test_str_for_a_binary_field_warns_but_is_sent_as_base64(served: SharedServer) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, _), pytest.warns(
            mtom.UsageWarning, match=r"field 'Echo\.data' .* given a str.*pass "
                                     r"bytes \(text\.encode\(\)\).*pathlib\.Path"):
        svc.Echo(data=[base64.b64encode(RAW).decode()])
    assert app.last.values[0].data == RAW  # Zeep's convention stays: base64 text
