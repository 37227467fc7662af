"""Data-driven tests over the captured-message corpus (../shared/corpus).

Expected values live in ``tests/data/corpus_expected.json``; they were worked
out without ``mtom`` (see its ``_about``). Every positive message is decoded
whole, split in two at every position (messages over 4 KiB: at a stride plus
every position within 64 bytes of a delimiter line) and fed byte by byte;
every negative message is handled as the corpus README says, in every
chunking too. The tests skip with a reason when the corpus is absent.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import fds_under

import mtom
from mtom import MultipartReader, PartData, PartEnd, PartStart

EXPECTED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "corpus_expected.json").read_text("utf-8"))
POSITIVE = sorted(EXPECTED["positive"])
NEGATIVE = sorted(EXPECTED["negative"])

#: Messages up to this size are split at every position.
SMALL = 4096
#: Stride of the split positions in larger messages.
STRIDE = 241
#: Every split position within this many bytes of a delimiter line is tried.
WINDOW = 64

Summary = list[tuple[str | None, int, str]]


# -- helpers ---------------------------------------------------------------

def load(corpus: Path, name: str, negative: bool = False) -> tuple[bytes, str]:
    folder = corpus / "negative" if negative else corpus
    return ((folder / f"{name}.msg").read_bytes(),
            (folder / f"{name}.content-type").read_text("latin-1"))


def boundary_of(content_type: str) -> bytes:
    m = (re.search(r'boundary\s*=\s*"([^"]*)"', content_type)
         or re.search(r"boundary\s*=\s*([^;\s]+)", content_type))
    assert m is not None, content_type
    return m.group(1).encode("latin-1")


def delimiter_spans(body: bytes, boundary: bytes) -> list[tuple[int, int]]:
    """(start, end) of every line that begins with ``--boundary``."""
    spans = []
    dash = b"--" + boundary
    for m in re.finditer(re.escape(dash), body):
        s = m.start()
        if s == 0 or body[s - 1:s] == b"\n" or body[:s] == b"\xef\xbb\xbf":
            e = body.find(b"\n", s)
            spans.append((s, len(body) if e < 0 else e + 1))
    return spans


def split_points(body: bytes, boundary: bytes) -> list[int]:
    """Where to split ``body`` in two: everywhere for small messages, else a
    stride plus windows of ±WINDOW around delimiter lines. With many
    delimiters (CXF's 49 attachments) the windows cover the first three, the
    last two and every sixteenth one in between, so the run stays fast."""
    if len(body) <= SMALL:
        return list(range(1, len(body)))
    points = set(range(1, len(body), STRIDE))
    spans = delimiter_spans(body, boundary)
    if len(spans) > 8:
        spans = spans[:3] + spans[3:-2:16] + spans[-2:]
    for s, e in spans:
        points.update(range(max(1, s - WINDOW), min(len(body), e + WINDOW + 1)))
    return sorted(points)


def two_way_splits(body: bytes, boundary: bytes) -> Iterator[tuple[int, list[bytes]]]:
    for i in split_points(body, boundary):
        yield i, [body[:i], body[i:]]


def bytewise(body: bytes) -> list[bytes]:
    return [body[i:i + 1] for i in range(len(body))]


def summarise(pkg: mtom.Package) -> Summary:
    return [(p.content_id, p.size, p.sha256()) for p in pkg.parts]


def expected_summary(entry: dict[str, Any]) -> Summary:
    return [(p["content_id"], p["size"], p["sha256"]) for p in entry["parts"]]


def squash(value: str | None) -> str | None:
    """A header value with runs of white space made one space (unfolding)."""
    return None if value is None else " ".join(value.split())




# -- inventory ---------------------------------------------------------------

def test_every_corpus_message_has_expectations(corpus_path: Path) -> None:
    on_disk = sorted(p.stem for p in corpus_path.glob("*.msg"))
    on_disk_neg = sorted(p.stem for p in (corpus_path / "negative").glob("*.msg"))
    assert on_disk == POSITIVE
    assert on_disk_neg == NEGATIVE


# -- positive messages ------------------------------------------------------------

@pytest.mark.parametrize("name", POSITIVE)
def test_positive_decodes(corpus_path: Path, name: str) -> None:
    exp = EXPECTED["positive"][name]
    body, ct = load(corpus_path, name)
    with mtom.read_package(body, ct) as pkg:
        assert len(pkg.parts) == len(exp["parts"])
        assert summarise(pkg) == expected_summary(exp)
        for part, want in zip(pkg.parts, exp["parts"], strict=True):
            assert squash(part.headers.get("content-type")) == squash(want["content_type"])
            if want["content_type"] is not None:
                assert squash(part.content_type) == squash(want["content_type"])
        assert pkg.parts.index(pkg.root) == exp["root"]
        assert pkg.attachments == [p for i, p in enumerate(pkg.parts) if i != exp["root"]]
        start_warned = any("start" in w for w in pkg.warnings)
        assert start_warned == exp["start_names_no_part"]
        for part in pkg.parts:
            if part.content_id is not None:
                assert pkg.get(part.content_id) is part
                assert pkg.get(f"<{part.content_id}>") is part
                assert pkg[mtom.cid_href(part.content_id)] is part


#: Known core bugs, as (message, reason): the test is a strict xfail for that message.
ROOT_BUGS: dict[str, str] = {}


def _root_params() -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=ROOT_BUGS[n]))
            if n in ROOT_BUGS else n for n in POSITIVE]


@pytest.mark.parametrize("name", _root_params())
def test_positive_root_and_references(corpus_path: Path, name: str) -> None:
    exp = EXPECTED["positive"][name]
    body, ct = load(corpus_path, name)
    with mtom.read_package(body, ct) as pkg:
        if not exp["root_is_xml"]:
            with pytest.raises(mtom.RootPartError):
                pkg.root_element()
            assert pkg.soap_version is None
            return
        root = pkg.root_element()
        version = pkg.soap_version
        assert (version.value if version else None) == exp["soap_version"]
        result = mtom.reconstitute(root, pkg)
        assert len(result.references) == exp["xop_includes"]
        assert len(result.swa) == exp["swa_references"]
        assert len(result.unreferenced) == exp["unreferenced"]
        assert not list(root.iter(mtom.XOP_INCLUDE))
        for ref in result.references:
            assert ref.attachment in pkg.attachments
            assert ref.kind == "xop"
            assert len(ref.element) == 0 and not ref.element.text
        # Every attachment is referenced or listed as unreferenced, none twice.
        seen = [id(r.attachment) for r in result.references + result.swa]
        seen += [id(a) for a in result.unreferenced]
        assert sorted(seen) == sorted(id(a) for a in pkg.attachments)
        mtom.inline_base64(result.references)
        for ref in result.references:
            assert base64.b64decode(ref.element.text or "") == ref.attachment.read()


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_every_two_way_split(corpus_path: Path, name: str) -> None:
    exp = expected_summary(EXPECTED["positive"][name])
    body, ct = load(corpus_path, name)
    for i, chunks in two_way_splits(body, boundary_of(ct)):
        with mtom.read_package(chunks, ct) as pkg:
            assert summarise(pkg) == exp, f"split at {i}"


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_byte_by_byte(corpus_path: Path, name: str) -> None:
    entry = EXPECTED["positive"][name]
    body, ct = load(corpus_path, name)
    with mtom.read_package(bytewise(body), ct) as pkg:
        assert summarise(pkg) == expected_summary(entry)
        assert pkg.parts.index(pkg.root) == entry["root"]


@pytest.mark.parametrize("name", POSITIVE)
@pytest.mark.parametrize("feeding", ["whole", "bytewise"])
def test_positive_reader_events(corpus_path: Path, name: str, feeding: str) -> None:
    """The event stream itself: one PartStart/PartEnd per part, PartEnd.size as transmitted."""
    entry = EXPECTED["positive"][name]
    body, ct = load(corpus_path, name)
    reader = MultipartReader(boundary_of(ct))
    events = []
    for chunk in ([body] if feeding == "whole" else bytewise(body)):
        events += reader.feed(chunk)
    events += reader.feed(b"")
    assert reader.complete
    sizes: dict[int, int] = {}
    starts = [e for e in events if isinstance(e, PartStart)]
    ends = [e for e in events if isinstance(e, PartEnd)]
    for e in events:
        if isinstance(e, PartData):
            sizes[e.index] = sizes.get(e.index, 0) + e.data.nbytes
    assert [s.index for s in starts] == list(range(len(entry["parts"])))
    assert [e.size for e in ends] == [p["raw_size"] for p in entry["parts"]]
    assert [sizes.get(i, 0) for i in range(len(ends))] == [e.size for e in ends]
    assert [s.content_id for s in starts] == [p["content_id"] for p in entry["parts"]]
    assert isinstance(events[-1], mtom.MessageEnd)
    assert events[-1].parts == len(entry["parts"])


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_spooled(corpus_path: Path, name: str, tmp_path: Path) -> None:
    """With every attachment spooled to disk the result is identical and close() frees it."""
    entry = EXPECTED["positive"][name]
    body, ct = load(corpus_path, name)
    pkg = mtom.read_package(body, ct, spool_threshold=0, spool_dir=tmp_path)
    try:
        assert summarise(pkg) == expected_summary(entry)
        # Every non-empty attachment spools; the root always lives in memory (a part 0
        # spooled before a start naming no part made it the root is read back).
        spooled = [a for a in pkg.attachments if a.size > 0]
        assert all(not a.in_memory for a in spooled)
        assert pkg.root.in_memory
        assert len(fds_under(tmp_path)) == len(spooled)
    finally:
        pkg.close()
    assert fds_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


# -- negative messages ------------------------------------------------------------

def _feeds(body: bytes, ct: str) -> Iterator[tuple[str, list[bytes]]]:
    yield "whole", [body]
    for i, chunks in two_way_splits(body, boundary_of(ct) if "boundary" in ct else b"-"):
        yield f"split at {i}", chunks
    yield "bytewise", bytewise(body)


def _check_parts(pkg: mtom.Package, entry: dict[str, Any]) -> None:
    assert summarise(pkg) == expected_summary(entry)
    assert pkg.parts.index(pkg.root) == entry["root"]


@pytest.mark.parametrize("name", NEGATIVE)
def test_negative(corpus_path: Path, name: str, tmp_path: Path) -> None:
    entry = EXPECTED["negative"][name]
    body, ct = load(corpus_path, name, negative=True)
    expect = entry["expect"]
    for how, chunks in _feeds(body, ct):
        if expect == "error":
            err_type = getattr(mtom, entry["error"])
            with pytest.raises(mtom.MtomError) as info:
                mtom.read_package(chunks, ct, spool_dir=tmp_path)
            assert type(info.value) is err_type, f"{how}: {info.value!r}"
            if "part" in entry:
                assert info.value.part == entry["part"], how
        elif expect == "dangling_include":
            with mtom.read_package(chunks, ct) as pkg:
                assert summarise(pkg) == expected_summary(entry), how
                with pytest.raises(mtom.DanglingInclude) as dangling:
                    mtom.reconstitute(pkg.root_element(), pkg)
                assert dangling.value.href == entry["href"]
                assert entry["href"] in str(dangling.value)
        elif expect == "success":
            with mtom.read_package(chunks, ct) as pkg:
                _check_parts(pkg, entry)
                if "type" in entry:
                    assert pkg.content_type.get("type") == entry["type"]
        elif expect == "no_boundary_or_success":
            try:
                pkg = mtom.read_package(chunks, ct, spool_dir=tmp_path)
            except mtom.MtomError as exc:
                assert type(exc) is mtom.NoBoundary, f"{how}: {exc!r}"
            else:  # a reader that sniffs the boundary: filename is metadata only
                with pkg:
                    assert [a.filename for a in pkg.attachments] == [entry["filename"]]
        elif expect == "root_found_or_error":
            start = mtom.parse_content_type(ct).get("start") or ""
            try:
                pkg = mtom.read_package(chunks, ct)
            except mtom.MtomError as exc:
                assert isinstance(exc, mtom.MalformedMime), f"{how}: {exc!r}"
            else:
                with pkg:
                    assert pkg.root.content_id == mtom.normalize_content_id(start), how
                    _check_parts(pkg, entry)
        else:  # pragma: no cover - a typo in the JSON
            pytest.fail(f"unknown expectation {expect!r}")
        assert list(tmp_path.iterdir()) == []


def test_negative_truncated_spools_nothing(corpus_path: Path, tmp_path: Path) -> None:
    """A truncated message whose parts were spooled leaves no open temp file behind."""
    for name in ("cxf_systest-no-close-delimiter", "mimepull_websphere51-no-close-delimiter"):
        body, ct = load(corpus_path, name, negative=True)
        reader = mtom.PackageReader(ct, spool_threshold=0, spool_dir=tmp_path)
        reader.feed(body)
        assert fds_under(tmp_path), "the parts should have been spooled"
        with pytest.raises(mtom.TruncatedMessage):
            reader.close()
        assert fds_under(tmp_path) == []
        assert list(tmp_path.iterdir()) == []


def test_negative_path_traversal_filename_is_metadata(corpus_path: Path, tmp_path: Path) -> None:
    """With the boundary supplied, the message decodes; the filename is only reported."""
    body, _ = load(corpus_path, "cxf_content-disposition-path-traversal", negative=True)
    ct = 'multipart/related; boundary="----=_Part_34950_1098328613.1263781527359"'
    with mtom.read_package(body, ct, spool_threshold=0, spool_dir=tmp_path) as pkg:
        assert [p.size for p in pkg.parts] == [len(b"<envelope/>"), len(b"<message>")]
        att = pkg.attachments[0]
        assert att.filename == "../../../../../../../../etc/passwd"
        assert list(tmp_path.iterdir()) == []
        saved = att.save(tmp_path / "out.bin")
        assert saved == tmp_path / "out.bin"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
        assert saved.read_bytes() == b"<message>"


# -- mutated corpus messages ---------------------------------------------------------------

_INSERTS = [b"\r\n", b"\n", b"--", b"<", b"&", b"cid:", b"=", b":", b"\x00", b"\xef\xbb\xbf",
            b"<!DOCTYPE x>", b"=\r\n", b"Content-Transfer-Encoding: base64\r\n"]


def test_mutated_corpus_messages_fail_cleanly(corpus_path: Path) -> None:
    """Seeded byte flips, cuts and insertions: the codec succeeds or raises an MtomError."""
    import random

    small = [load(corpus_path, n) for n in POSITIVE if (corpus_path / f"{n}.msg").stat().st_size
             < SMALL]
    rnd = random.Random(2024)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(600):
        body, ct = rnd.choice(small)
        b = bytearray(body)
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(len(b))
            op = rnd.random()
            if op < 0.4:
                b[i] = rnd.randrange(256)
            elif op < 0.7:
                del b[i:i + rnd.randint(1, 20)]
            else:
                b[i:i] = rnd.choice(_INSERTS)
        chunks = [bytes(b[i:i + 7]) for i in range(0, len(b), 7)] if rnd.random() < 0.5 \
            else [bytes(b)]
        try:
            with mtom.read_package(chunks, ct) as pkg:
                root = pkg.root_element()
                _ = pkg.soap_version
                result = mtom.reconstitute(root, pkg)
                mtom.inline_base64(result.references)
            outcomes["ok"] += 1
        except mtom.MtomError:
            outcomes["error"] += 1
    assert outcomes["ok"] > 50 and outcomes["error"] > 50, outcomes
