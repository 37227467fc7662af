"""Incremental Content-Transfer-Encoding decoders, across every chunk split."""

from __future__ import annotations

import base64
import quopri

import pytest
from _support import split_feeds
from hypothesis import given, settings
from hypothesis import strategies as st

from mtom import MalformedMime
from mtom.encodings import (
    Base64Decoder,
    Decoder,
    IdentityDecoder,
    QuotedPrintableDecoder,
    decoder_for,
)


def run(decoder: Decoder, chunks: list[bytes]) -> bytes:
    out = [bytes(decoder.decode(memoryview(c))) for c in chunks]
    return b"".join(out) + decoder.finish()


def b64_all_ways(text: bytes) -> bytes:
    """Decode ``text`` in every feeding; all must agree. Returns the result."""
    whole = run(Base64Decoder(), [text])
    for chunks in split_feeds(text):
        assert run(Base64Decoder(), chunks) == whole, [len(c) for c in chunks][:2]
    return whole


def qp_all_ways(text: bytes) -> bytes:
    whole = run(QuotedPrintableDecoder(), [text])
    for chunks in split_feeds(text):
        assert run(QuotedPrintableDecoder(), chunks) == whole, [len(c) for c in chunks][:2]
    return whole


# -- base64 ---------------------------------------------------------------------

def test_base64_with_line_breaks_and_whitespace() -> None:
    data = bytes(range(256)) * 2
    text = base64.encodebytes(data)  # 76-character lines, LF
    assert b64_all_ways(text) == data
    assert b64_all_ways(text.replace(b"\n", b"\r\n")) == data
    spaced = b" \t".join(text[i:i + 7] for i in range(0, len(text), 7))
    assert b64_all_ways(b"\r\n" + spaced + b"\r\n\r\n") == data


@pytest.mark.parametrize(("text", "data"), [
    (b"QQ", b"A"), (b"QUI", b"AB"), (b"QQ=", b"A"), (b"QQ==", b"A"), (b"QUJD", b"ABC"),
    (b"QUJDRA", b"ABCD"), (b"QU\r\nJD\r\nRA", b"ABCD"), (b"", b""), (b"\r\n", b""),
])
def test_base64_missing_padding_is_added(text: bytes, data: bytes) -> None:
    assert b64_all_ways(text) == data


@pytest.mark.parametrize("text", [b"Q", b"QUJDR", b"QUJD\r\nR\r\n", b"Q===", b"QUJD=QUJD"])
def test_base64_invalid_input(text: bytes) -> None:
    for chunks in split_feeds(text):
        with pytest.raises(MalformedMime):
            run(Base64Decoder(part=2), chunks)


def test_base64_error_names_the_part() -> None:
    decoder = Base64Decoder(part=4)
    decoder.decode(b"QUJDR")
    with pytest.raises(MalformedMime) as info:
        decoder.finish()
    assert info.value.part == 4
    assert "base64" in str(info.value)


def test_base64_data_after_padding_is_not_lost() -> None:
    text = b"QUJDRA==RUZH"
    results = set()
    for chunks in split_feeds(text):
        try:
            results.add(run(Base64Decoder(), chunks))
        except MalformedMime:
            results.add(b"<error>")
    assert results in ({b"ABCDEFG"}, {b"<error>"})


def test_base64_result_does_not_depend_on_chunking_with_junk() -> None:
    text = b"QU!!!!JD"
    results = set()
    for chunks in split_feeds(text):
        try:
            results.add(run(Base64Decoder(), chunks))
        except MalformedMime:
            results.add(b"<error>")
    assert len(results) == 1


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), line=st.integers(1, 100),
       sep=st.sampled_from([b"\r\n", b"\n", b" ", b"\t", b"\r\n "]),
       cuts=st.lists(st.integers(0, 500), max_size=8))
def test_base64_random_chunking(data: bytes, line: int, sep: bytes, cuts: list[int]) -> None:
    text = base64.b64encode(data)
    wrapped = sep.join(text[i:i + line] for i in range(0, len(text), line)) + sep
    points = sorted({min(c, len(wrapped)) for c in cuts})
    chunks = [wrapped[a:b] for a, b in zip([0, *points], [*points, len(wrapped)], strict=True)]
    assert run(Base64Decoder(), chunks) == data


# -- quoted-printable -----------------------------------------------------------------

QP_TEXT = (b"caf=E9 cr=C3=A8me =3D equals\r\n"
           b"a very long line that was wrapped with a soft break here=\r\n"
           b" and continues; LF soft break=\n"
           b"joined\r\n"
           b"trailing escape at the end=3D")


def test_quoted_printable_soft_breaks_across_splits() -> None:
    assert qp_all_ways(QP_TEXT) == (
        b"caf\xe9 cr\xc3\xa8me = equals\r\n"
        b"a very long line that was wrapped with a soft break here"
        b" and continues; LF soft breakjoined\r\n"
        b"trailing escape at the end=")


def test_quoted_printable_matches_quopri() -> None:
    text = quopri.encodestring(bytes(range(256)) * 3)
    assert qp_all_ways(text) == quopri.decodestring(text) == bytes(range(256)) * 3


def test_quoted_printable_without_final_newline() -> None:
    assert qp_all_ways(b"abc=\r\ndef") == b"abcdef"
    assert qp_all_ways(b"no newline =41") == b"no newline A"


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_quoted_printable_random_chunking(data: bytes, cuts: list[int]) -> None:
    text = quopri.encodestring(data)
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert run(QuotedPrintableDecoder(), chunks) == quopri.decodestring(text)


# -- identity and selection ---------------------------------------------------------------

def test_identity_passes_bytes_through_untouched() -> None:
    decoder = IdentityDecoder()
    chunk = memoryview(b"\r\n\x00binary\r\n")
    assert decoder.decode(chunk) is chunk
    assert decoder.finish() == b""


@pytest.mark.parametrize(("te", "kind"), [
    ("base64", Base64Decoder), ("BASE64", Base64Decoder), (" Base64 \t", Base64Decoder),
    ("quoted-printable", QuotedPrintableDecoder), ("Quoted-Printable", QuotedPrintableDecoder),
    ("binary", IdentityDecoder), ("8bit", IdentityDecoder), ("7BIT", IdentityDecoder),
    ("undefined", IdentityDecoder), ("x-uuencode", IdentityDecoder), ("", IdentityDecoder),
])
def test_decoder_for(te: str, kind: type) -> None:
    assert isinstance(decoder_for(te), kind)
