"""Between Spyne's binary values and MIME parts (``spyne_mtom.values``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from spyne.model.binary import ByteArray, File

import mtom
from spyne_mtom import values


def _att(data: bytes, **kw: object) -> mtom.Attachment:
    att = mtom.Attachment(**kw)  # type: ignore[arg-type]
    att.write(data)
    att.finish()
    return att


def _drain(source: object) -> bytes:
    part = mtom.OutgoingPart(source)  # type: ignore[arg-type]
    return b"".join(bytes(c) for c in part.iter_content())


def test_binary_source_by_type(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"file")
    assert values.binary_source(File, str(path)) == (str(path), 4, None)
    assert values.binary_source(File, File.Value(data=[b"ab"], type="a/b")) == (b"ab", 2, "a/b")
    assert values.binary_source(ByteArray, [b"a", b"bc"]) == ([b"a", b"bc"], 3, None)
    assert values.binary_source(ByteArray, "text") is None  # a str is never ByteArray data


def test_file_source_kinds(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    att = _att(b"attached", content_type="image/png")
    assert values.file_source(att) == (att, 8, "image/png")
    src, size, ctype = values.file_source(File.Value(data=[b"ab", b"cd"], type="x/y"))  # type: ignore[misc]
    assert (size, ctype, _drain(src)) == (4, "x/y", b"abcd")
    handle = io.BytesIO(b"handle data")
    handle.seek(5)
    src, size, ctype = values.file_source(File.Value(handle=handle))  # type: ignore[misc]
    assert size == 11 and _drain(src) == b"handle data"  # read from the start, as Spyne does
    src, size, _ = values.file_source(File.Value(path=str(path)))  # type: ignore[misc]
    assert src == str(path) and size == 10
    assert values.file_source(str(path))[:2] == (str(path), 10)  # type: ignore[index]
    assert values.file_source(path)[:2] == (str(path), 10)  # type: ignore[index]
    assert values.file_source(b"raw")[:2] == (b"raw", 3)  # type: ignore[index]
    assert values.file_source(File.Value()) is None
    assert values.file_source(object()) is None


def test_file_source_unseekable_handle_has_no_size() -> None:
    r, w = os.pipe()
    os.write(w, b"piped")
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as pipe:
        src, size, _ = values.file_source(File.Value(handle=pipe))  # type: ignore[misc]
        assert size is None and _drain(src) == b"piped"


def test_file_value_from_attachment() -> None:
    att = _att(b"payload", headers=mtom.Headers(
        [("Content-Disposition", 'attachment; filename="report.pdf"')]))
    value = values.file_value(att, "application/pdf")
    assert value.type == "application/pdf" and value.name == "report.pdf"
    assert value.path is None and value.handle.read() == b"payload"
    assert value.attachment is att
    # An echo sends the attachment itself, not the handle's position.
    assert values.file_source(value) == (att, 7, "application/pdf")
