"""The streaming writer: exact wire format, Content-Length, streaming, write -> read."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mtom
from mtom import (
    Attachment,
    MtomError,
    OutgoingPackage,
    OutgoingPart,
    SoapVersion,
    UsageError,
    read_package,
)

ROOT = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
BLOB = bytes(range(256)) * 4


class TrackingFile(io.BytesIO):
    """A binary file that records the size of every read() call."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads: list[int | None] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(size)
        return super().read(size)


# -- exact wire format -----------------------------------------------------------------------

def test_soap11_wire_format_is_exact() -> None:
    part = OutgoingPart(b"\x00\r\nbin\r\n", content_id="att@x", content_type="image/png")
    pkg = OutgoingPackage(ROOT, [part], boundary="MIMEBoundary_t", root_content_id="root@x")
    assert pkg.content_type == (
        'multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_t"; '
        'start="<root@x>"; start-info="text/xml"')
    assert pkg.to_bytes() == (
        b"--MIMEBoundary_t\r\n"
        b'Content-Type: application/xop+xml; charset=UTF-8; type="text/xml"\r\n'
        b"Content-Transfer-Encoding: binary\r\n"
        b"Content-ID: <root@x>\r\n"
        b"\r\n" + ROOT + b"\r\n"
        b"--MIMEBoundary_t\r\n"
        b"Content-Type: image/png\r\n"
        b"Content-Transfer-Encoding: binary\r\n"
        b"Content-ID: <att@x>\r\n"
        b"\r\n"
        b"\x00\r\nbin\r\n\r\n"
        b"--MIMEBoundary_t--\r\n")


def test_soap12_wire_format_with_action() -> None:
    pkg = OutgoingPackage(ROOT, soap_version="1.2", action="urn:example:echo",
                          boundary="bnd", root_content_id="<root@x>")
    assert pkg.content_type == (
        'multipart/related; type="application/xop+xml"; boundary="bnd"; start="<root@x>"; '
        'start-info="application/soap+xml"; action="urn:example:echo"')
    assert pkg.to_bytes() == (
        b"--bnd\r\n"
        b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
        b"Content-Transfer-Encoding: binary\r\nContent-ID: <root@x>\r\n\r\n"
        + ROOT + b"\r\n--bnd--\r\n")


def test_soap11_never_carries_the_action_parameter() -> None:
    pkg = OutgoingPackage(ROOT, soap_version=SoapVersion.SOAP11, action="urn:a", boundary="b")
    assert "action" not in pkg.content_type


def test_action_with_quotes_is_escaped() -> None:
    pkg = OutgoingPackage(ROOT, soap_version="12", action='urn:"q"\\x', boundary="b")
    assert pkg.content_type.endswith(r'action="urn:\"q\"\\x"')


def test_swa_package_headers() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(b"x", content_id="a")], xop=False,
                          boundary="b", root_content_id="r")
    assert pkg.content_type == 'multipart/related; type="text/xml"; boundary="b"; start="<r>"'
    assert pkg.root_content_type == "text/xml; charset=UTF-8"
    assert b"Content-Type: text/xml; charset=UTF-8\r\n" in pkg.to_bytes()
    pkg12 = OutgoingPackage(ROOT, xop=False, soap_version="1.2", boundary="b")
    assert pkg12.root_content_type == "application/soap+xml; charset=UTF-8"


def test_extra_part_headers_and_defaults() -> None:
    part = OutgoingPart(b"x", headers=[("Content-Disposition", 'attachment; filename="a.txt"')])
    assert re.fullmatch(r"[0-9a-f]{32}@soap-mtom\.invalid", part.content_id)
    assert part.content_type == "application/octet-stream"
    assert part.header_block().endswith(
        b'\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\n')


@pytest.mark.parametrize("headers", [[("X-Evil", "a\r\nContent-ID: <x>")], [("X\nY", "v")]])
def test_header_injection_is_refused(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(ROOT, [OutgoingPart(b"x", headers=headers)])


def test_content_type_with_line_break_is_refused() -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(ROOT, [OutgoingPart(b"x", content_type="text/plain\r\nX: y")])


def test_non_latin1_content_id() -> None:
    try:
        pkg = OutgoingPackage(ROOT, [OutgoingPart(b"x", content_id="\u4e2d@\u4f8b")])
        body = pkg.to_bytes()
    except MtomError:
        return
    with read_package(body, pkg.content_type) as back:
        assert back.attachments[0].content_id == "\u4e2d@\u4f8b"


# -- boundaries --------------------------------------------------------------------------------

def test_default_boundary_is_legal_and_random() -> None:
    seen = set()
    for _ in range(20):
        b = OutgoingPackage(ROOT).boundary
        assert 1 <= len(b) <= 70 and re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=?]+", b)
        seen.add(b)
    assert len(seen) == 20


@pytest.mark.parametrize("boundary", ["x" * 71, "bad\"quote", "semi;colon", "trailing ", "é"])
def test_illegal_boundary_is_refused(boundary: str) -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(ROOT, boundary=boundary)


def test_seventy_character_boundary() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(BLOB)], boundary="b" * 70)
    with read_package(pkg.to_bytes(), pkg.content_type) as back:
        assert back.attachments[0].read() == BLOB


@pytest.mark.parametrize("source", [b"x\r\n--bnd\r\ny", bytearray(b"--bnd--"), b"--bnd"])
def test_bytes_part_containing_the_boundary_is_refused(source: bytes | bytearray) -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(ROOT, [OutgoingPart(source)], boundary="bnd")


def test_root_containing_the_boundary_is_refused() -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(b"<r>--bnd</r>", boundary="bnd")


def test_memoryview_part_containing_the_boundary_is_refused() -> None:
    with pytest.raises(UsageError):
        OutgoingPackage(ROOT, [OutgoingPart(memoryview(b"x\r\n--bnd--\r\ny"))], boundary="bnd")


def test_boundary_minus_one_byte_is_fine() -> None:
    data = b"\r\n--bn\r\n--bn\r\n--b"
    pkg = OutgoingPackage(ROOT, [OutgoingPart(data)], boundary="bnd")
    with read_package(pkg.to_bytes(), pkg.content_type) as back:
        assert back.attachments[0].read() == data


# -- sources and Content-Length -------------------------------------------------------------

def test_content_length_for_bytes_path_file_and_attachment(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(BLOB)
    parts = [OutgoingPart(BLOB), OutgoingPart(path), OutgoingPart(str(path)),
             OutgoingPart(io.BytesIO(BLOB)), OutgoingPart(Attachment.from_bytes(BLOB)),
             OutgoingPart(bytearray(b"ba")), OutgoingPart(memoryview(b"mv")), OutgoingPart(b"")]
    pkg = OutgoingPackage(ROOT, parts)
    body = pkg.to_bytes()
    assert pkg.content_length == len(body)
    assert pkg.headers["Content-Length"] == str(len(body))
    assert pkg.headers["Content-Type"] == pkg.content_type
    assert pkg.to_bytes() == body  # a second pass gives the same bytes (files re-read)
    with read_package(body, pkg.content_type) as back:
        assert [a.read() for a in back.attachments] == [BLOB] * 5 + [b"ba", b"mv", b""]


def test_content_length_unknown_for_iterable_without_size() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(iter([b"a", b"b"]))])
    assert pkg.content_length is None
    assert "Content-Length" not in pkg.headers
    with pytest.raises(TypeError):
        len(pkg.stream())
    with read_package(pkg.to_bytes(), pkg.content_type) as back:
        assert back.attachments[0].read() == b"ab"


def test_iterable_with_declared_size() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(iter([b"ab", b"", b"c"]), size=3)])
    assert pkg.content_length == len(pkg.to_bytes())


def test_iterable_producing_a_different_size_is_an_error() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(iter([b"abcd"]), size=3)])
    with pytest.raises(UsageError):
        pkg.to_bytes()


def test_file_source_read_from_its_current_position() -> None:
    f = io.BytesIO(BLOB)
    f.seek(100)
    part = OutgoingPart(f)
    assert part.size == len(BLOB) - 100
    pkg = OutgoingPackage(ROOT, [part])
    for _ in range(2):
        with read_package(pkg.to_bytes(), pkg.content_type) as back:
            assert back.attachments[0].read() == BLOB[100:]


def test_non_seekable_file_has_unknown_size() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(BLOB)

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
            return self._data.readinto(b)

    pkg = OutgoingPackage(ROOT, [OutgoingPart(io.BufferedReader(Pipe()))])
    assert pkg.content_length is None
    with read_package(pkg.to_bytes(), pkg.content_type) as back:
        assert back.attachments[0].read() == BLOB


def test_file_source_is_read_in_chunks() -> None:
    data = bytes(range(256)) * (10 * 1024)  # 2.5 MiB
    f = TrackingFile(data)
    pkg = OutgoingPackage(ROOT, [OutgoingPart(f)])
    total = 0
    biggest = 0
    for chunk in pkg:
        total += len(chunk)
        biggest = max(biggest, len(chunk))
    assert total == pkg.content_length
    sizes = f.reads
    assert len(sizes) >= 3  # 2.5 MiB takes several reads
    assert all(s is not None and 0 < s <= 1024 * 1024 for s in sizes)
    assert biggest <= 1024 * 1024


def test_iteration_yields_views_and_iter_bytes_yields_bytes() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(BLOB), OutgoingPart(iter([b"a"]))])
    assert all(isinstance(c, bytes) for c in pkg.iter_bytes())
    assert b"".join(pkg.iter_bytes()) == pkg.to_bytes()


# -- stream() ----------------------------------------------------------------------------------

def _package(tmp_path: Path) -> OutgoingPackage:
    path = tmp_path / "p.bin"
    path.write_bytes(BLOB * 3)
    return OutgoingPackage(ROOT, [OutgoingPart(BLOB), OutgoingPart(path),
                                  OutgoingPart(io.BytesIO(b"file")), OutgoingPart(b"tail")])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 100, 1000, 4096, 10**6])
def test_stream_read_n(n: int, tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    expected = pkg.to_bytes()
    stream = pkg.stream()
    assert stream.readable()
    assert len(stream) == stream.len == len(expected)
    got = bytearray()
    while chunk := stream.read(n):
        assert 0 < len(chunk) <= n
        got += chunk
        assert len(stream) == len(expected) - len(got)
    assert bytes(got) == expected
    assert stream.read(n) == b""


def test_stream_readinto_and_read_all(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    expected = pkg.to_bytes()
    stream = pkg.stream()
    buf = bytearray(33)
    got = bytearray()
    while n := stream.readinto(buf):
        got += buf[:n]
    assert bytes(got) == expected
    assert pkg.stream().read() == expected
    assert pkg.stream().read(-1) == expected
    assert pkg.stream().read(None) == expected


def test_stream_read_mixed_sizes(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    expected = pkg.to_bytes()
    stream = pkg.stream()
    head = stream.read(10)
    rest = stream.read()
    assert head + rest == expected


@pytest.mark.parametrize("n", [1, 64, 4096])
def test_stream_read_n_with_an_empty_part(n: int) -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(b"abc"), OutgoingPart(b""), OutgoingPart(b"z")])
    stream = pkg.stream()
    got = bytearray()
    while chunk := stream.read(n):
        got += chunk
    assert bytes(got) == pkg.to_bytes()


def test_stream_readinto_with_an_empty_part() -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(b"abc"), OutgoingPart(b""), OutgoingPart(b"z")])
    stream = pkg.stream()
    buf = bytearray(64)
    got = bytearray()
    while n := stream.readinto(buf):
        got += buf[:n]
    assert bytes(got) == pkg.to_bytes()


def test_stream_is_exhausted_after_read_all(tmp_path: Path) -> None:
    stream = _package(tmp_path).stream()
    stream.read(10)
    stream.read()
    assert stream.read() == b""
    assert stream.read(5) == b""
    assert len(stream) == 0


# -- write -> read properties ---------------------------------------------------------------

BOUNDARY = "bnd"
_PIECES = [b"\r", b"\n", b"\r\n", b"-", b"--", b"--bn", b"\r\n--bn", b"\n--bn", b"bnd", b"--b",
           b"\r\n--bn\r\n", b"\x00", b"\xff", b" ", b"\t"]
content = st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=40)),
                   max_size=12).map(b"".join).filter(lambda b: b"--" + BOUNDARY.encode() not in b)


def _chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def _check(pkg: OutgoingPackage, root: bytes, datas: list[bytes],
           feeds: list[list[bytes]]) -> None:
    """Every feeding of ``pkg``'s body reads back as the same root and parts."""
    body = pkg.to_bytes()
    assert len(body) == pkg.content_length
    for chunks in feeds:
        assert b"".join(chunks) == body
        with read_package(chunks, pkg.content_type) as back:
            assert back.root.read() == root
            assert back.root.content_id == pkg.root_content_id
            assert [a.content_id for a in back.attachments] == [p.content_id for p in pkg.parts]
            assert [a.read() for a in back.attachments] == datas


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=content, datas=st.lists(content, max_size=6),
       cuts=st.lists(st.integers(0, 10**6), max_size=6))
def test_write_read_round_trip_near_boundary(root: bytes, datas: list[bytes],
                                             cuts: list[int]) -> None:
    """Parts full of CR/LF and boundary text minus one byte survive, in random chunkings."""
    pkg = OutgoingPackage(root, [OutgoingPart(d) for d in datas], boundary=BOUNDARY)
    body = pkg.to_bytes()
    _check(pkg, root, datas, [[body], _chunks(body, cuts)])


@settings(max_examples=50, deadline=None)
@given(datas=st.lists(st.binary(max_size=64), min_size=20, max_size=60),
       cuts=st.lists(st.integers(0, 10**6), max_size=20))
def test_write_read_round_trip_many_parts(datas: list[bytes], cuts: list[int]) -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(d) for d in datas])
    _check(pkg, ROOT, datas, [_chunks(pkg.to_bytes(), cuts)])


@settings(max_examples=100, deadline=None)
@given(datas=st.lists(st.binary(max_size=300), max_size=4), version=st.sampled_from(["1.1", "1.2"]),
       xop=st.booleans())
def test_write_read_round_trip_byte_by_byte(datas: list[bytes], version: str, xop: bool) -> None:
    pkg = OutgoingPackage(ROOT, [OutgoingPart(d) for d in datas], soap_version=version, xop=xop,
                          action="urn:a")
    body = pkg.to_bytes()
    _check(pkg, ROOT, datas, [[body[i:i + 1] for i in range(len(body))]])


@pytest.mark.parametrize("data", [b"", b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\n\r", b"--",
                                  b"\r\n--bn", b"--bn\r\n", b"\r\nx\r\n"])
def test_edge_bytes_survive_in_every_split(data: bytes) -> None:
    pkg = OutgoingPackage(data, [OutgoingPart(data), OutgoingPart(data)], boundary=BOUNDARY)
    body = pkg.to_bytes()
    splits = [[body]] + [[body[:i], body[i:]] for i in range(1, len(body))]
    splits.append([body[i:i + 1] for i in range(len(body))])
    _check(pkg, data, [data, data], splits)


# -- PackageStream: the one outgoing stream (WSGI iteration, on_close) ------------------------


def _pkg(*sources: Any) -> mtom.OutgoingPackage:
    return mtom.OutgoingPackage(b"<root/>", [mtom.OutgoingPart(s) for s in sources])


def test_stream_iterates_bytes_without_copying_bytes_parts() -> None:
    data = os.urandom(5000)
    package = _pkg(data, bytearray(b"ba"), memoryview(b"xyz")[1:])
    chunks = list(package.stream())
    assert all(type(c) is bytes for c in chunks)
    assert any(c is data for c in chunks)
    assert b"".join(chunks) == package.to_bytes()


def test_stream_on_close_runs_once_after_the_last_chunk() -> None:
    calls: list[int] = []
    body = _pkg(b"a" * 10).stream(on_close=lambda: calls.append(1))
    it = iter(body)
    next(it)
    assert calls == []
    list(it)
    assert calls == [1]
    list(body)
    assert calls == [1]


def test_stream_on_close_runs_when_the_server_stops_early() -> None:
    calls: list[int] = []
    it = iter(_pkg(b"a" * 10).stream(on_close=lambda: calls.append(1)))
    next(it)
    it.close()  # type: ignore[attr-defined]
    assert calls == [1]


# -- PackageStream for waitress's wsgi.file_wrapper (peek, then consume) ---------------------


def _file(data: bytes, calls: list[int] | None = None) -> tuple[mtom.PackageStream, bytes]:
    pkg = _pkg(data, data[::-1])
    assert pkg.content_length is not None
    stream = pkg.stream(on_close=(lambda: calls.append(1)) if calls is not None else None)
    return stream, pkg.to_bytes()


@pytest.mark.parametrize("peek, take", [(16384, 16384), (16384, 1000), (3_000_000, 777_777),
                                        (1, 1), (10_000_000, 10_000_000)])
def test_package_stream_serves_the_peek_then_consume_pattern(peek: int, take: int) -> None:
    f, expected = _file(os.urandom(min(2_500_000, peek * 3000)))
    # What waitress does: measure the length first...
    start = f.tell()
    f.seek(0, 2)
    assert f.tell() == len(expected)
    f.seek(start)
    out = []
    while True:
        pos = f.tell()
        data = f.read(peek)
        if not data:
            break
        f.seek(pos)
        out.append(f.read(min(take, len(data))))
    assert b"".join(out) == expected


def test_package_stream_refuses_to_seek_back_past_released_data() -> None:
    f, expected = _file(os.urandom(3000))
    assert f.read(100) == expected[:100]
    f.read(100)  # releases the first 100 bytes
    with pytest.raises(OSError):
        f.seek(0)
    buf = bytearray(50)
    assert f.readinto(buf) == 50 and bytes(buf) == expected[200:250]
    assert f.read() == expected[250:]
    assert f.read(10) == b""


def test_package_stream_close_runs_the_clean_up() -> None:
    calls: list[int] = []
    f, _ = _file(b"x" * 5000, calls)
    f.read(10)
    f.close()
    f.close()
    assert calls == [1] and f.closed




# -- progress ------------------------------------------------------------------------------


def _progress_package() -> tuple[mtom.OutgoingPackage, list[mtom.OutgoingPart]]:
    parts = [mtom.OutgoingPart(bytes(3 * 1024 * 1024)), mtom.OutgoingPart(b"x" * 2_000_000)]
    return mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:e'/>", parts), parts


@pytest.mark.parametrize("how", ["read-8k", "iterate"])
def test_package_stream_reports_progress_at_a_bounded_rate(how: str) -> None:
    package, parts = _progress_package()
    events: list[mtom.Progress] = []
    stream = package.stream(progress=mtom.ProgressMeter(events.append, "send",
                                                        package.content_length))
    chunks = iter(lambda: stream.read(8192), b"") if how == "read-8k" else stream
    body = b"".join(chunks)
    assert body == package.to_bytes()
    total = package.content_length
    assert total is not None
    # ~100 steps of 1% (at least 256 KiB) plus the last one, not one per 8 KiB read (640)
    assert 2 <= len(events) <= 102
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert all(e.total == total and e.direction == "send" for e in events)
    assert events[-1].finished and events[-1].done == total
    assert sum(e.finished for e in events) == 1
    seen = [e.content_id for e in events if e.content_id]
    assert seen[0] == parts[0].content_id and parts[1].content_id in seen


def test_package_stream_without_progress_is_unchanged() -> None:
    package, _ = _progress_package()
    assert b"".join(package.stream()) == package.to_bytes()


class _Pipe(io.RawIOBase):
    """A readable, non-seekable stream (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def test_outgoing_part_rereadable(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"abc")
    seekable = io.BytesIO(b"xxabc")
    seekable.seek(2)
    assert OutgoingPart(b"abc").rereadable and OutgoingPart(path).rereadable
    assert OutgoingPart(str(path)).rereadable and OutgoingPart(seekable).rereadable
    assert not OutgoingPart(_Pipe(b"abc")).rereadable
    assert not OutgoingPart(iter([b"a", b"bc"]), size=3).rereadable
    part = OutgoingPart(seekable)
    assert b"".join(part.iter_content()) == b"abc" == b"".join(part.iter_content())


def test_package_stream_reports_send_progress_once_per_byte() -> None:
    """Read, look-back re-read (waitress's file_wrapper peek) and iterate: each byte counts once."""
    data = bytes(range(256)) * 8192  # 2 MiB
    for how in ("read", "iterate"):
        events: list[mtom.Progress] = []
        pkg = mtom.OutgoingPackage(b"<r/>", [mtom.OutgoingPart(data)])
        meter = mtom.ProgressMeter(events.append, "send", pkg.content_length)
        stream = pkg.stream(progress=meter)
        if how == "read":
            first = stream.read(1000)
            stream.seek(0, io.SEEK_SET)  # look back to the start of the latest read
            assert stream.read(1000) == first
            body = first + stream.read()
        else:
            body = b"".join(stream)
        stream.close()
        assert body == pkg.to_bytes()
        assert 2 <= len(events) <= 110
        assert events[-1].finished and events[-1].done == len(body) == events[-1].total
        assert {e.direction for e in events} == {"send"}

