"""The value contract (``mtom.values``): what each value kind is, base64 text, package both ways."""

from __future__ import annotations

import base64
import io
import mmap
import os
import tempfile
from pathlib import Path

import pytest
from _support import Pipe
from lxml import etree

import mtom
from mtom import as_part as coerce_value
from mtom import base64_text as inline_base64_text
from mtom import is_binary_value as is_binary_source

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
    assert coerce_value(att).source is att  # type: ignore[union-attr]
    part = mtom.OutgoingPart(RAW, content_type="text/csv", content_id="mine@x",
                             headers=[("Content-Disposition", "attachment")])
    described = coerce_value(part)
    assert described is part
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


def _content_type(value: object, hint: str | None) -> str:
    root = etree.Element("r")
    el = etree.SubElement(root, "v")
    if hint:
        el.set(f"{{{mtom.XMIME_NS}}}contentType", hint)
    part = coerce_value(value)
    assert part is not None
    package = mtom.build_package(root, {el: part}, mtom.MtomOptions(threshold=0))
    assert package is not None and package.parts == [part]
    return part.content_type


def test_part_content_type_precedence() -> None:
    png = mtom.Attachment.from_bytes(RAW, content_type="image/png")
    assert _content_type(png, "image/jpeg") == "image/jpeg"  # xmime:contentType wins
    assert _content_type(png, None) == "image/png"
    assert _content_type(RAW, None) == "application/octet-stream"


def test_build_package_inlines_small_values_and_unpack_reads_them_back() -> None:
    root = etree.Element("{urn:t}r")
    big, small = etree.SubElement(root, "{urn:t}big"), etree.SubElement(root, "{urn:t}small")
    values = {big: mtom.OutgoingPart(RAW), small: mtom.OutgoingPart(RAW[:10])}
    package = mtom.build_package(root, values, mtom.MtomOptions())
    assert package is not None and len(package.parts) == 1
    assert small.text == base64.b64encode(RAW[:10]).decode()
    received = mtom.read_package(package.to_bytes(), package.content_type)
    envelope, xop = mtom.unpack(received, mtom.MtomOptions())
    assert [r.attachment.read() for r in xop.references] == [RAW]
    assert xop.references[0].element.tag == "{urn:t}big" and envelope.tag == "{urn:t}r"
    off = etree.Element("r")
    el = etree.SubElement(off, "v")
    assert mtom.build_package(off, {el: mtom.OutgoingPart(RAW)},
                              mtom.MtomOptions(mtom=False)) is None
    assert el.text == base64.b64encode(RAW).decode()




@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 100, 786_433])
def test_base64_text_all_sources(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    path = tmp_path / "d"
    path.write_bytes(data)
    expected = base64.b64encode(data)
    for source in (data, memoryview(data), path, mtom.OutgoingPart(str(path)), io.BytesIO(data),
                   mtom.Attachment.from_bytes(data), [data[:7], data[7:]]):
        assert inline_base64_text(source) == expected


# -- usage errors that say what to do ------------------------------------------------------


def test_directory_path_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(mtom.UsageError, match=r"field 'photo': .* is a directory") as info:
        mtom.as_part(tmp_path, field="photo")
    assert isinstance(info.value, ValueError) and "pathlib.Path to a file" in str(info.value)
    with pytest.raises(mtom.UsageError, match="is a directory"):
        mtom.check_source(mtom.OutgoingPart(tmp_path))
    with pytest.raises(mtom.UsageError, match="is a directory"):
        mtom.check_source(mtom.OutgoingPart(str(tmp_path)))  # a str source is a path


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open("r") as text, pytest.raises(
            mtom.UsageError, match=r"field 'doc': the file .*notes\.txt' is open in text mode; "
                                   "open it in binary mode"):
        mtom.as_part(text, field="doc")
    with pytest.raises(mtom.UsageError, match="binary mode"):
        mtom.as_part(io.StringIO("hello"))
    with path.open("rb") as binary:
        assert mtom.as_part(binary, field="doc") is not None


def test_closed_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    with path.open("rb") as f:
        pass
    with pytest.raises(mtom.UsageError, match=r"field 'blob': the file .*a\.bin' is closed"):
        mtom.as_part(f, field="blob")
    closed = io.BytesIO(b"abc")
    closed.close()
    with pytest.raises(mtom.UsageError, match="a binary value: the file object is closed"):
        mtom.as_part(closed)


def test_inline_parts_undoes_build_package(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x00\r\n" * 1000)
    root = etree.fromstring(b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
                            b"<e:Body><a/><b/><c>keep</c></e:Body></e:Envelope>")
    a, b, _ = root[0]
    parts = {a: mtom.OutgoingPart(path), b: mtom.OutgoingPart(b"\x01" * 3000)}
    package = mtom.build_package(root, parts, mtom.MtomOptions())
    assert package is not None and len(root.findall(f".//{mtom.XOP_INCLUDE}")) == 2
    mtom.inline_parts(root, package.parts)
    assert not root.findall(f".//{mtom.XOP_INCLUDE}")
    assert base64.b64decode(a.text or "") == path.read_bytes()
    assert base64.b64decode(b.text or "") == b"\x01" * 3000
    assert root[0][2].text == "keep"


def test_inline_parts_refuses_a_stream_already_sent() -> None:
    root = etree.fromstring(b"<r><data/></r>")
    part = mtom.OutgoingPart(Pipe(), size=0)
    mtom.include(root[0], part)
    with pytest.raises(mtom.UsageError, match=r"'data' \(part <.*>\) came from a Pipe that "
                       r"cannot be read a second time"):
        mtom.inline_parts(root, [part])
    mtom.inline_parts(root, [part], again=False)  # not sent yet: read once, here
    assert root[0].text == "" and not len(root[0])


@pytest.mark.parametrize("name, expected", [
    ("a.txt", "a.txt"), ("../x", None), ("/etc/passwd", None), ("a\\b", None), ("..", None),
    ("", None), (None, None), ("nul\0", None),
])
def test_safe_filename(name: str | None, expected: str | None) -> None:
    assert mtom.values.safe_filename(name) == expected


class _Invalid(Exception):
    pass


def _hinted() -> etree._Element:
    return etree.fromstring(f'<r xmlns:x="{mtom.XMIME_NS}"><d x:contentType="image/png"/></r>'
                            .encode())


def _has_hint(root: etree._Element) -> bool:
    return root[0].get(f"{{{mtom.XMIME_NS}}}contentType") is not None


@pytest.mark.parametrize("accepts, raised", [
    ({False}, None),  # a schema without the hint: valid once it is detached
    ({True}, None),  # a schema that requires it: valid on the retry, as received
    (set(), "first"),  # invalid both ways: the first error (hint detached) is raised
])
def test_validate_received(accepts: set[bool], raised: str | None) -> None:
    root = _hinted()
    seen: list[bool] = []

    def validate() -> None:
        seen.append(_has_hint(root))
        if seen[-1] not in accepts:
            raise _Invalid("first" if len(seen) == 1 else "second")

    if raised is None:
        mtom.values.validate_received(validate, root, (), _Invalid)
    else:
        with pytest.raises(_Invalid, match=raised):
            mtom.values.validate_received(validate, root, (), _Invalid)
    assert seen == ([False] if accepts == {False} else [False, True])
    assert _has_hint(root)  # restored in every case


def test_validate_received_without_hints_runs_once() -> None:
    root = etree.fromstring(b"<r><d/></r>")
    calls: list[int] = []

    def validate() -> None:
        calls.append(1)
        raise _Invalid("no")

    with pytest.raises(_Invalid):
        mtom.values.validate_received(validate, root, (), _Invalid)
    assert calls == [1]
    def broken() -> None:
        raise KeyError("x")

    hinted = _hinted()
    with pytest.raises(KeyError):  # other errors pass through, the tree is restored
        mtom.values.validate_received(broken, hinted, (), _Invalid)
    assert _has_hint(hinted)


def _drain(source: object) -> bytes:
    part = mtom.OutgoingPart(source)  # type: ignore[arg-type]
    return b"".join(bytes(c) for c in part.iter_content())


@pytest.mark.parametrize("value, expected", [
    (b"abc", b"abc"),
    (bytearray(b"abc"), b"abc"),
    (memoryview(b"abc"), b"abc"),
    ((b"abc",), b"abc"),
    ([b"ab", b"c"], b"abc"),
    ([b"ab", memoryview(b"c")], b"abc"),
    (iter([b"a", b"bc"]), b"abc"),
    ((), b""),
])
def test_chunks_source(value: object, expected: bytes) -> None:
    found = mtom.values.chunks_source(value)
    assert found is not None
    source, size = found
    assert size == len(expected)
    assert _drain(source) == expected


def test_chunks_source_keeps_a_single_bytes_object() -> None:
    data = b"x" * 100
    assert mtom.values.chunks_source((data,)) == (data, 100)
    assert mtom.values.chunks_source(data)[0] is data  # type: ignore[index]


def test_chunks_source_mmap() -> None:
    with tempfile.TemporaryFile() as f:
        f.write(b"mapped!")
        f.flush()
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        for value in (m, (m,)):
            found = mtom.values.chunks_source(value)
            assert found is not None and found[1] == 7 and _drain(found[0]) == b"mapped!"
            found = None


@pytest.mark.parametrize("value", ["text", ["a", "b"], 42, None, [b"a", 1]])
def test_chunks_source_rejects_non_binary(value: object) -> None:
    assert mtom.values.chunks_source(value) is None
