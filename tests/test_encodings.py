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
    decode_base64,
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


def outcome(decoder_type: type[Base64Decoder] | type[QuotedPrintableDecoder],
            chunks: list[bytes]) -> bytes | str:
    """The decoded bytes, or the error's message: what must not depend on chunking."""
    try:
        return run(decoder_type(), chunks)
    except MalformedMime as exc:
        return f"<{exc.message}>"


@pytest.mark.parametrize(("text", "data"), [
    (b"QQ==QkI=", b"ABB"), (b"QQ====QkI=", b"ABB"), (b"QQ==\r\n=\r\nQkI=", b"ABB"),
    (b"QUI=QUJD", b"ABABC"), (b"QQ==QQ==QQ==", b"AAA"), (b"QQ==", b"A"),
])
def test_base64_padding_groups_between_blocks(text: bytes, data: bytes) -> None:
    """A run of '=' between two padded blocks is one separator (issue 8: the result
    used to depend on the chunking)."""
    assert b64_all_ways(text) == data


@pytest.mark.parametrize("text", [b"=QQ==", b"QUJD==", b"QUJD=\r\n", b"QQ==QUJD=QQ"])
def test_base64_misplaced_padding_is_refused_in_every_chunking(text: bytes) -> None:
    errors = {outcome(Base64Decoder, chunks) for chunks in split_feeds(text)}
    assert len(errors) == 1 and next(iter(errors)).startswith("<invalid base64")


def test_base64_issue_8_equal_run_between_padded_blocks_in_a_large_part() -> None:
    """The reported case: a large part with '=' runs inside, in several chunk sizes."""
    block = base64.encodebytes(bytes(range(256)) * 40)  # ends in '=' padding? 10240 % 3 = 1
    text = block + b"====\r\n" + block
    expected = (bytes(range(256)) * 40) * 2
    for size in (len(text), 65536, 8192, 1000, 7, 1):
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        assert run(Base64Decoder(), chunks) == expected, size


_B64_SOUP = st.lists(st.sampled_from([b"Q", b"U", b"J", b"D", b"k", b"I", b"=", b"==", b"\r\n",
                                      b" ", b"!", b"QUJD"]), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(text=_B64_SOUP, cuts=st.lists(st.integers(0, 200), max_size=6))
def test_base64_any_text_same_outcome_in_any_chunking(text: bytes, cuts: list[int]) -> None:
    """Malformed or not, a text decodes to the same bytes or the same error."""
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    whole = outcome(Base64Decoder, [text])
    assert outcome(Base64Decoder, chunks) == whole
    assert outcome(Base64Decoder, [text[i:i + 1] for i in range(len(text))]) == whole
    if not isinstance(whole, str) and b"=" not in text:
        padded = text.translate(None, b"\r\n !")
        assert whole == base64.b64decode(padded + b"=" * (-len(padded) % 4))


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


_QP_SOUP = st.lists(st.sampled_from([b"=", b"==", b"=4", b"1", b"a", b"F", b"\r", b"\n",
                                     b"\r\n", b" ", b"\t", b"x", b"=\r\n", b"=3D"]),
                    max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(text=_QP_SOUP, cuts=st.lists(st.integers(0, 200), max_size=6))
def test_quoted_printable_any_text_same_result_in_any_chunking(text: bytes,
                                                               cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    whole = run(QuotedPrintableDecoder(), [text])
    assert run(QuotedPrintableDecoder(), chunks) == whole
    assert run(QuotedPrintableDecoder(), [text[i:i + 1] for i in range(len(text))]) == whole


@pytest.mark.parametrize(("text", "data"), [
    (b"a==41", b"a=A"), (b"=\rx", b"=\rx"), (b"a=\r", b"a"), (b"a=", b"a"), (b"=4", b"=4"),
    (b"=4g", b"=4g"), (b"=ZZ", b"=ZZ"), (b"x =  \r\ny", b"x =  \r\ny"), (b"=61=\n=62", b"ab"),
])
def test_quoted_printable_malformed_escapes_are_literal(text: bytes, data: bytes) -> None:
    assert qp_all_ways(text) == data


def test_quoted_printable_holds_back_at_most_one_escape() -> None:
    """A long line without a line break is decoded as it arrives (issue 8: it was
    held back and re-scanned per chunk, quadratic in the line length)."""
    decoder = QuotedPrintableDecoder()
    text = (b"=41" * 300 + b"x") * 1000  # one 901,000-byte line
    out = []
    for i in range(0, len(text), 997):  # cuts fall inside escapes
        out.append(decoder.decode(text[i:i + 997]))
        assert len(decoder._rest) <= 2
    assert b"".join(out) + decoder.finish() == (b"A" * 300 + b"x") * 1000


# -- decode_base64: one inline xs:base64Binary value -------------------------------------


def test_decode_base64_drops_xml_white_space() -> None:
    assert decode_base64("aGVs\n bG8=\r\n") == b"hello" == decode_base64(b"aGVs\tbG8=")
    assert decode_base64(None) == decode_base64("") == b""


@pytest.mark.parametrize("bad", [
    "not*base64",  # a character outside the alphabet (a lenient decoder skips it)
    "aGVsbG8",  # a quantum short, no padding
    "QQ==QQ==",  # data after the padding: a lenient decoder returns b"A"
    "aGVs\u00e9bG8=",  # not ASCII
    "aGVs\x0bbG8=",  # not XML white space
])
def test_decode_base64_refuses_what_a_lenient_decoder_would_alter(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_base64(bad)


@given(st.binary(max_size=300), st.integers(1, 80))
@settings(max_examples=200, deadline=None)
def test_decode_base64_inverts_any_line_length(data: bytes, line: int) -> None:
    text = base64.b64encode(data).decode()
    wrapped = "\n".join(text[i:i + line] for i in range(0, len(text), line))
    assert decode_base64(wrapped) == data
