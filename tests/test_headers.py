"""MIME header facts: Content-Type parameters, header blocks, Content-IDs, boundaries."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtom import (
    ContentType,
    Headers,
    MalformedMime,
    UsageError,
    cid_href,
    href_to_content_id,
    make_boundary,
    make_content_id,
    normalize_content_id,
    parse_content_type,
)
from mtom.headers import (
    format_content_type,
    parse_content_length,
    parse_header_block,
    validate_boundary,
)

# RFC 3986 path characters (pchar): unreserved, sub-delims, ':' and '@', or %XX.
_URI_CID = re.compile(r"cid:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-F]{2})*")


# -- Content-Type ---------------------------------------------------------------

def test_simple_content_type() -> None:
    ct = parse_content_type('multipart/related; type="application/xop+xml"; boundary="abc"; '
                            'start="<root@x>"; start-info="text/xml"')
    assert ct.media_type == "multipart/related"
    assert ct.is_multipart
    assert ct.boundary == "abc"
    assert ct.get("type") == "application/xop+xml"
    assert ct.get("start") == "<root@x>"
    assert ct.get("start-info") == "text/xml"
    assert ct.get("missing") is None and ct.get("missing", "d") == "d"


def test_quoted_string_with_escapes_and_semicolon() -> None:
    ct = parse_content_type(r'multipart/related; boundary="a\"b;c\\d"; type="x;y=z"; start=s')
    assert ct.boundary == 'a"b;c\\d'
    assert ct.get("type") == "x;y=z"
    assert ct.get("start") == "s"


def test_quoted_start_info_with_parameters() -> None:
    ct = parse_content_type('multipart/related; start-info="text/xml; charset=utf-8"; '
                            'action="urn:a;b"')
    assert ct.get("start-info") == "text/xml; charset=utf-8"
    assert ct.get("action") == "urn:a;b"


def test_unquoted_value_with_tspecials() -> None:
    ct = parse_content_type("multipart/related; boundary=MIME_boundary; type=text/xml; "
                            "start=<http://x/y.xml>")
    assert ct.get("type") == "text/xml"
    assert ct.get("start") == "<http://x/y.xml>"


def test_trailing_semicolon_and_empty_params() -> None:
    ct = parse_content_type("Multipart/Related; boundary=MIME_boundary; type=text/xml;")
    assert ct.media_type == "multipart/related"
    assert dict(ct.params) == {"boundary": "MIME_boundary", "type": "text/xml"}
    assert dict(parse_content_type("text/xml;;; charset=utf-8 ;").params) == {"charset": "utf-8"}


def test_parameter_without_value_is_skipped() -> None:
    ct = parse_content_type('multipart/related; foo; boundary="x"; =bar; c=""')
    assert dict(ct.params) == {"boundary": "x", "c": ""}


def test_tabs_spaces_and_folding() -> None:
    ct = parse_content_type('multipart/related; type="text/xml";\r\n\tboundary="b1";\n  start = '
                            '"<a>" ;\tcharset=UTF-8')
    assert ct.boundary == "b1"
    assert ct.get("start") == "<a>"
    assert ct.charset == "UTF-8"
    tab = parse_content_type('multipart/related; type="text/xml"; \tboundary="----=_Part_0_1"')
    assert tab.boundary == "----=_Part_0_1"


def test_mixed_case_names_lower_cased_values_kept() -> None:
    ct = parse_content_type('MulTipart/RelaTed; BOUNDARY="MiXeD"; Start-Info="Text/XML"')
    assert ct.media_type == "multipart/related"
    assert ct.boundary == "MiXeD"
    assert ct.get("START-INFO") == "Text/XML"


def test_no_space_between_params() -> None:
    ct = parse_content_type('multipart/related;type="application/xop+xml";start="<http://'
                            'tempuri.org/0>";boundary="uuid:0ca0+id=7";start-info="a/b"')
    assert ct.boundary == "uuid:0ca0+id=7"
    assert ct.get("start") == "<http://tempuri.org/0>"
    assert ct.get("start-info") == "a/b"


def test_garbage_after_closing_quote_is_ignored() -> None:
    ct = parse_content_type('text/xml; charset="utf-8" garbage ; x=1')
    assert ct.charset == "utf-8" and ct.get("x") == "1"


def test_bytes_input_and_empty_value() -> None:
    assert parse_content_type(b'text/xml; charset="caf\xe9"').charset == "caf\xe9"
    empty = parse_content_type("")
    assert empty.media_type == "" and not empty.is_multipart and empty.boundary is None


def test_unterminated_quoted_string() -> None:
    with pytest.raises(MalformedMime) as info:
        parse_content_type('multipart/related; boundary="abc')
    assert "boundary" in str(info.value)


def test_str_round_trips() -> None:
    ct = parse_content_type('multipart/related; boundary="a b;\\"c"; type=text/xml; x=""')
    again = parse_content_type(str(ct))
    assert again == ct
    assert format_content_type("a/b", [("p", "plain"), ("q", "needs quoting")]) == \
        'a/b; p=plain; q="needs quoting"'


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(
    st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=10),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=20),
    max_size=5))
def test_format_then_parse_gives_the_same_parameters(params: dict[str, str]) -> None:
    """Values with quotes, backslashes, ';', '=' and spaces survive a round trip."""
    ct = parse_content_type(format_content_type("multipart/related", params))
    expected = {k: v.strip(" \t") if not _quoted(v) else v for k, v in params.items()}
    assert dict(ct.params) == expected


def _quoted(value: str) -> bool:
    return value == "" or any(c in '()<>@,;:\\"/[]?= \t' or c >= "\x7f" for c in value)


# -- header blocks -----------------------------------------------------------------

def test_header_block_crlf_and_lf() -> None:
    h = parse_header_block(b"Content-Type: text/xml\r\ncontent-id:<a>\nX-Empty:\r\n")
    assert h.raw == (("Content-Type", "text/xml"), ("content-id", "<a>"), ("X-Empty", ""))


def test_header_block_unfolding() -> None:
    h = parse_header_block(b"Content-Type: application/xop+xml;\r\n    charset=UTF-8;\n"
                           b"\ttype=\"text/xml\"\r\nContent-ID: <x>")
    assert h["content-type"] == 'application/xop+xml; charset=UTF-8; type="text/xml"'
    assert h["Content-ID"] == "<x>"


def test_header_name_with_space_before_colon_and_latin1_value() -> None:
    h = parse_header_block(b"Content-Id : <a>\r\nContent-Description:  caf\xe9 \\n\\t\r\n")
    assert h["content-id"] == "<a>"
    assert h["content-description"] == "caf\xe9 \\n\\t"


@pytest.mark.parametrize("block", [b"no colon here", b": no name", b"Bad Name: x",
                                   b"A: 1\r\nnot a header"])
def test_malformed_header_line(block: bytes) -> None:
    with pytest.raises(MalformedMime) as info:
        parse_header_block(block, part=3, offset=120)
    assert info.value.part == 3 and info.value.offset == 120


def test_continuation_without_header() -> None:
    with pytest.raises(MalformedMime):
        parse_header_block(b"  folded: value\r\nA: b")


def test_headers_mapping() -> None:
    h = Headers([("Content-ID", "<a>"), ("X-Dup", "1"), ("x-dup", "2")])
    assert h["content-id"] == h["CONTENT-ID"] == "<a>"
    assert "Content-Id" in h and "nope" not in h
    assert 42 not in h  # type: ignore[comparison-overlap]
    assert h.get("x-dup") == "1"
    assert h.get_all("X-DUP") == ["1", "2"]
    assert len(h) == 2 and sorted(h) == ["content-id", "x-dup"]
    assert h == Headers(h.raw) and hash(h) == hash(Headers(h.raw))
    assert h != Headers([("Content-ID", "<b>")])
    with pytest.raises(KeyError):
        h["missing"]


# -- Content-IDs and cid: URLs ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "normal"), [
    ("<a@b>", "a@b"), ("a@b", "a@b"), ("  <a@b>\t", "a@b"), ("< a@b >", "a@b"),
    ("<<a>>", "<a>"), ("<>", ""), ("<a", "<a"), ("SOAPPart", "SOAPPart"),
])
def test_normalize_content_id(value: str, normal: str) -> None:
    assert normalize_content_id(value) == normal


@pytest.mark.parametrize(("href", "cid"), [
    ("cid:a@b", "a@b"),
    ("CID:a@b", "a@b"),
    ("Cid:a@b", "a@b"),
    (" cid:a@b ", "a@b"),
    ("cid:<a@b>", "a@b"),
    ("cid:http%3A%2F%2Ftempuri.org%2F1%2F632618206527087310", "http://tempuri.org/1/632618206527087310"),
    ("cid:http://tempuri.org/1/637939091222000605", "http://tempuri.org/1/637939091222000605"),
    ("cid:test_encoding%20cid%25%24%7D%40", "test_encoding cid%$}@"),
    ("cid:%C3%A9t%C3%A9@x", "\xe9t\xe9@x"),
    ("cid:", ""),
])
def test_href_to_content_id(href: str, cid: str) -> None:
    assert href_to_content_id(href) == cid


@pytest.mark.parametrize("href", ["http://example.org/me.png", "mid:a@b", "cid", "", "a@b",
                                  "file:///etc/passwd", "cid-a@b"])
def test_href_that_is_not_a_cid_url(href: str) -> None:
    assert href_to_content_id(href) is None


@pytest.mark.parametrize("cid", ["a%b@c", "a/b@c", "a:b@c", "a b@c", "\xe9t\xe9@x",
                                 "http://tempuri.org/1/6", "test_encoding cid%$}@",
                                 "-1609420109260943731", "\u4e2d\u6587@\u4f8b"])
def test_cid_href_round_trip(cid: str) -> None:
    href = cid_href(cid)
    assert href.startswith("cid:")
    assert href.isascii() and " " not in href
    assert href_to_content_id(href) == cid
    assert href_to_content_id("CID:" + href[4:]) == cid
    assert cid_href(f"<{cid}>") == href


def test_cid_href_escapes_percent_slash_colon_space() -> None:
    assert cid_href("a%b/c:d e@x") == "cid:a%25b%2Fc%3Ad%20e@x"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_cid_href_round_trip_property(cid: str) -> None:
    normal = normalize_content_id(cid)
    if normalize_content_id(normal) != normal:  # e.g. '<<a>>': brackets twice
        return
    assert href_to_content_id(cid_href(cid)) == normal


def test_cid_href_is_a_valid_uri_for_common_characters() -> None:
    safe = "".join(c for c in string.printable if c not in "{}|^`")
    href = cid_href("x" + safe + "@y")
    assert _URI_CID.fullmatch(href), href
    assert href_to_content_id(href) == normalize_content_id("x" + safe + "@y")


@pytest.mark.parametrize("char", list("{}|^`"))
def test_cid_href_escapes_characters_illegal_in_uris(char: str) -> None:
    assert _URI_CID.fullmatch(cid_href(f"a{char}b@x"))


def test_make_content_id() -> None:
    a, b = make_content_id(), make_content_id("example.org")
    assert a != b and "@" in a and b.endswith("@example.org")
    assert normalize_content_id(a) == a
    assert href_to_content_id(cid_href(a)) == a


# -- boundaries -----------------------------------------------------------------------

def test_make_boundary_is_legal_and_random() -> None:
    seen = {make_boundary() for _ in range(50)}
    assert len(seen) == 50
    for b in seen:
        assert 1 <= len(b) <= 70
        assert re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=?]+", b)
        assert validate_boundary(b) == b


@pytest.mark.parametrize("boundary", ["a", "x" * 70, "a b", "----=_Part_0_1.2", "uuid:1+id=7",
                                      "'()+_,-./:=?"])
def test_validate_boundary_accepts(boundary: str) -> None:
    assert validate_boundary(boundary) == boundary


@pytest.mark.parametrize("boundary", ["", "x" * 71, "ends with space ", "quote\"", "semi;colon",
                                      "at@sign", "line\r\nbreak", "tab\t", "caf\xe9", "<a>"])
def test_validate_boundary_rejects(boundary: str) -> None:
    with pytest.raises(UsageError):
        validate_boundary(boundary)


def test_content_type_dataclass() -> None:
    ct = ContentType("text/xml", {"charset": "utf-8"})
    assert not ct.is_multipart and ct.charset == "utf-8" and str(ct) == "text/xml; charset=utf-8"


def test_content_type_with_many_parameters_without_value() -> None:
    """Each parameter's searches end at its own ';' (a scan to the end per parameter
    made a hostile 16 KiB part header quadratic)."""
    ct = parse_content_type("text/xml" + "; a" * 8000 + '; charset="utf\\-8"; b=2')
    assert ct.media_type == "text/xml" and dict(ct.params) == {"charset": "utf-8", "b": "2"}


def test_content_type_parse_is_cached_and_read_only() -> None:
    value = 'multipart/related; boundary="cache-test"; type="application/xop+xml"'
    first = parse_content_type(value)
    assert parse_content_type(value) is first
    assert parse_content_type(value.encode("latin-1")) is first
    with pytest.raises(TypeError):
        first.params["boundary"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize("value", [
    'multipart/related; type="application/xop+xml"; boundary="uuid:1+id=7"; '
    'start="<root@x>"; start-info="text/xml"',
    "text/xml; charset=UTF-8", "Text/XML ;Charset = utf-8 ;", "text/xml; charset=", "a/b;",
    'a/b; x=""; X=2; x=3', 'a/b;\tq="sp ace; semi";r=1', 'a/b; n="caf\u00e9"', "a/b; n=caf\u00e9",
    'a/b; x="a\\"b"', 'a/b; x="a" junk; y=1', "a/b; x=a b", "a/b;; x=1", "a/b; =1; x=2",
    "a/b; flag; x=1", 'a/b; x="unterminated', "a/b; x=1" + " " * 50 + "!",
    "a/b" + "; p=v  " * 40 + '; "',
])
def test_content_type_usual_shape_parses_as_the_general_parser(value: str) -> None:
    """Parameter lists in the usual shape take a one-regex path; a folded copy of the same
    value takes the general parser: both give the same result (or the same error)."""
    folded = value.replace(";", ";\r\n ", 1)
    try:
        want: ContentType | str = parse_content_type(folded)
    except MalformedMime as exc:
        want = type(exc).__name__
    try:
        got: ContentType | str = parse_content_type(value)
    except MalformedMime as exc:
        got = type(exc).__name__
    assert got == want


@pytest.mark.parametrize(("value", "want"), [
    ("0", 0), ("1234", 1234), (" 12\t", 12), (b"77", 77), (None, None), ("", None),
    ("-1", None), ("+5", None), ("1_000", None), ("1e3", None), ("\u00b2", None),
    ("\u0661\u0662", None), ("12, 12", None),
])
def test_parse_content_length(value: str | bytes | None, want: int | None) -> None:
    """ASCII digits only: int() would take '1_000' and '+5', str.isdigit() takes '²'."""
    assert parse_content_length(value) == want
