"""mtom.call: one client call's values — part or inline on the way out, token → value in."""

from __future__ import annotations

import base64
import io
import logging
import tracemalloc
from typing import Any

import pytest
from lxml import etree

import mtom
from mtom import ClientCall, MtomOptions, MtomReply, ValueDeliveryError, read_attachment
from mtom.call import is_token, warn_inlined_by_policy
from mtom.negotiation import EndpointMemory

RAW = bytes(range(256)) * 20  # 5120 bytes
# -- rendering ---------------------------------------------------------------------------------


def _node(tag: str = "{urn:t}data") -> etree._Element:
    return etree.Element(tag)


def test_render_placeholder_for_values_over_the_threshold() -> None:
    ctx = ClientCall(MtomOptions(threshold=1024), optimise=True, placeholders=True)
    big, small = _node(), _node()
    ctx.render(big, RAW)
    ctx.render(small, RAW[:1023])
    assert big.text is not None and big.text.startswith("cid:")
    assert small.text == base64.b64encode(RAW[:1023]).decode()
    taken = ctx.pending.pop(big.text, None)
    assert taken is not None and taken.source is RAW  # no copy, no base64
    assert ctx.pending.pop(big.text, None) is None


def test_render_base64_text_values() -> None:
    ctx = ClientCall(MtomOptions(threshold=1024), optimise=True, placeholders=True)
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
    padded = _node()  # base64 a lenient decoder would shorten (b"A"): sent as given too
    with pytest.warns(mtom.UsageWarning):
        ctx.render(padded, "QQ==QQ==" * 500)
    assert padded.text == "QQ==QQ==" * 500 and not ctx.pending


def test_render_when_not_optimising_or_opted_out() -> None:
    expected = base64.b64encode(RAW).decode()
    off = ClientCall(MtomOptions(), optimise=False, placeholders=True)
    node = _node()
    off.render(node, RAW)
    assert node.text == expected and not off.pending
    opted_out = ClientCall(MtomOptions(inline_elements=["{urn:t}data"]), optimise=True,
                            placeholders=True)
    node = _node()
    opted_out.render(node, RAW)
    assert node.text == expected
    forced = ClientCall(MtomOptions(optimize_elements=["{urn:t}data"]), optimise=True,
                         placeholders=True)
    node = _node()
    forced.render(node, b"x")
    assert (node.text or "").startswith("cid:")


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "file", "path"])
@pytest.mark.parametrize("optimise, placeholders", [(True, True), (True, False),
                                                    (False, True), (False, False)])
@pytest.mark.parametrize("threshold", [0, len(RAW) + 1])
def test_every_binary_value_kind_is_rendered_by_the_same_rules(
        kind: str, optimise: bool, placeholders: bool, threshold: int, tmp_path: Any) -> None:
    # bytes and bytearray take a shorter path (no part object unless one is sent): the
    # decisions are the same as for every other kind.
    path = tmp_path / "v.bin"
    path.write_bytes(RAW)
    value: Any = {"bytes": RAW, "bytearray": bytearray(RAW), "memoryview": memoryview(RAW),
                  "file": io.BytesIO(RAW), "path": path}[kind]
    ctx = ClientCall(MtomOptions(threshold=threshold), optimise=optimise,
                     placeholders=placeholders)
    node = _node()
    ctx.render(node, value)
    wants = threshold == 0
    if optimise and wants and placeholders:
        assert (node.text or "").startswith("cid:") and list(ctx.pending) == [node.text]
        assert ctx.pending[node.text].size == len(RAW)
        assert ctx.typed == [] and ctx.inlined == 0
        return
    assert node.text == base64.b64encode(RAW).decode() and not ctx.pending
    assert ctx.typed == ([node] if wants else [])
    assert ctx.inlined == (1 if wants and not optimise else 0)


def test_render_while_signing_keeps_base64_and_remembers_the_element() -> None:
    ctx = ClientCall(MtomOptions(), optimise=True, placeholders=False)
    node = _node()
    ctx.render(node, RAW)
    assert node.text == base64.b64encode(RAW).decode()
    assert ctx.typed == [node] and not ctx.pending


def test_user_content_ids_are_kept_unless_repeated() -> None:
    ctx = ClientCall(MtomOptions(threshold=0), optimise=True, placeholders=True)
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
        ctx = ClientCall(MtomOptions(stream_attachments=stream), optimise=False,
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
    ctx = ClientCall(MtomOptions(stream_attachments=False), optimise=False, placeholders=False)
    reply, values = _reply(delivered)
    reply.unreferenced.append(kept)
    ctx.accept_reply(reply, values)
    assert ctx.resolve("cid:s@x") == RAW
    ctx.finish()
    assert delivered.closed and not kept.closed


# -- text fields, tokens, the policy warning ---------------------------------------------------


def test_a_path_for_a_text_field_is_refused_only_while_mtom() -> None:
    from pathlib import Path

    with pytest.raises(mtom.UsageError, match=r"field 'Echo\.name' is an xs:string"):
        ClientCall(MtomOptions(), optimise=True, placeholders=True).check_text(
            Path("a.bin"), "Echo.name")
    ClientCall(MtomOptions(), optimise=False, placeholders=True).check_text(Path("a"), "x")
    ClientCall(MtomOptions(), optimise=True, placeholders=True).check_text("a.bin", "x")


@pytest.mark.parametrize(("value", "token"), [
    ("cid:a@x", True), ("  CID:a@x", True), ("QUJD", False), (b"cid:a", False), (None, False),
    (" " * 100 + "cid:a", False)])
def test_is_token(value: object, token: bool) -> None:
    assert is_token(value) is token


def test_policy_warning_memory_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """A client that calls many addresses keeps only the most recent as warned."""
    log = logging.getLogger("mtom.test")
    caplog.set_level(logging.WARNING, logger="mtom.test")
    ctx = ClientCall(MtomOptions(mtom=None), optimise=False, placeholders=False)
    ctx.inlined = 1
    warned: EndpointMemory[bool] = EndpointMemory(size=2)
    for i in range(5):
        warn_inlined_by_policy(ctx, f"http://127.0.0.1/{i}", warned, log)
    warn_inlined_by_policy(ctx, "http://127.0.0.1/4", warned, log)  # still remembered
    assert len(warned) == 2 and len(caplog.records) == 5
    warn_inlined_by_policy(ctx, "http://127.0.0.1/0", warned, log)  # forgotten: warns again
    assert len(caplog.records) == 6
    for explicit in (MtomOptions(mtom=False), MtomOptions(mtom=True)):
        other = ClientCall(explicit, optimise=False, placeholders=False)
        other.inlined = 1
        warn_inlined_by_policy(other, "http://127.0.0.1/new", warned, log)
    warn_inlined_by_policy(None, "http://127.0.0.1/new", warned, log)
    assert len(caplog.records) == 6


def test_parsed_reply_is_handed_out_once_and_only_for_the_same_bytes_object() -> None:
    call = ClientCall(MtomOptions(), optimise=True, placeholders=True)
    content = b"<e:Envelope xmlns:e='urn:e'/>"
    root = etree.fromstring(content)
    call.accept_reply(MtomReply(200, mtom.parse_content_type("text/xml")), {}, (content, root))
    assert call.parsed_reply(bytes(bytearray(content))) is None  # equal bytes, another object
    assert call.parsed_reply(content) is root
    assert call.parsed_reply(content) is None  # once
    call.accept_reply(MtomReply(200, mtom.parse_content_type("text/xml")), {}, (content, root))
    call.finish()
    assert call.parsed_reply(content) is None
