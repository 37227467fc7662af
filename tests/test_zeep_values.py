"""Binary values: what each source kind is, how a value is rendered, how a part comes back."""

from __future__ import annotations

import base64
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import mtom
from zeep_mtom import ValueDeliveryError, read_attachment
from zeep_mtom.options import MtomOptions
from zeep_mtom.response import MtomReply
from zeep_mtom.values import CallContext, coerce_value, inline_base64_text, is_binary_source

RAW = bytes(range(256)) * 20  # 5120 bytes


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "v.bin"
    p.write_bytes(RAW)
    return p


def test_coerce_every_kind(path: Path) -> None:
    assert coerce_value(RAW).size == len(RAW)  # type: ignore[union-attr]
    assert coerce_value(bytearray(RAW)).size == len(RAW)  # type: ignore[union-attr]
    assert coerce_value(memoryview(RAW)[10:]).size == len(RAW) - 10  # type: ignore[union-attr]
    assert coerce_value(path).size == len(RAW)  # type: ignore[union-attr]
    with path.open("rb") as f:
        f.seek(120)
        described = coerce_value(f)
        assert described is not None and described.size == len(RAW) - 120
        assert f.tell() == 120  # sizing leaves the position alone
    att = mtom.Attachment.from_bytes(RAW, content_type="image/png")
    assert coerce_value(att).content_type == "image/png"  # type: ignore[union-attr]
    part = mtom.OutgoingPart(RAW, content_type="text/csv", content_id="mine@x",
                             headers=[("Content-Disposition", "attachment")])
    described = coerce_value(part)
    assert described is not None
    assert (described.content_type, described.content_id, described.headers) == (
        "text/csv", "mine@x", [("Content-Disposition", "attachment")])
    assert coerce_value("QUJD") is None and coerce_value(42) is None
    assert not is_binary_source("a/path/as/str")
    assert is_binary_source(path) and is_binary_source(io.BytesIO(b""))


def test_missing_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        coerce_value(tmp_path / "nope")


def test_inline_text_reads_any_source(path: Path) -> None:
    expected = base64.b64encode(RAW)
    for value in (RAW, path, io.BytesIO(RAW), mtom.Attachment.from_bytes(RAW),
                  mtom.OutgoingPart(path)):
        assert inline_base64_text(value) == expected
    with pytest.raises(TypeError):
        inline_base64_text(object())


def test_part_content_type_precedence() -> None:
    described = coerce_value(mtom.Attachment.from_bytes(RAW, content_type="image/png"))
    assert described is not None
    assert described.to_part("c@x", "image/jpeg").content_type == "image/jpeg"
    assert described.to_part("c@x", None).content_type == "image/png"
    bare = coerce_value(RAW)
    assert bare is not None and bare.to_part("c@x", None).content_type == (
        "application/octet-stream")


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
    taken = ctx.take(big.text)
    assert taken is not None and taken[1].source is RAW  # no copy, no base64
    assert ctx.take(big.text) is None


def test_render_base64_text_values() -> None:
    ctx = CallContext(MtomOptions(threshold=1024), optimise=True, placeholders=True)
    text = base64.b64encode(RAW).decode()
    node = _node()
    ctx.render(node, text)
    taken = ctx.take(node.text or "")
    assert taken is not None and taken[1].source == RAW
    bad = _node()
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
    ctx = CallContext(MtomOptions(), optimise=False, placeholders=False)
    reply, values = _reply(delivered)
    reply.unreferenced.append(kept)
    ctx.accept_reply(reply, values)
    assert ctx.resolve("cid:s@x") == RAW
    ctx.finish()
    assert delivered.closed and not kept.closed
