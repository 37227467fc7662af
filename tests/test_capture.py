"""mtom.capture: saved HTTP captures, MIME entities, bare bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtom.capture import dechunk, read_saved_message, sniff_boundary

BODY = b"--b1\r\nContent-Type: text/xml\r\n\r\n<a/>\r\n--b1--\r\n"


def test_request_capture_gives_headers_content_type_and_body() -> None:
    raw = (b"POST /svc HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related; boundary=b1\r\n"
           b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY
    saved = read_saved_message(raw)
    assert (saved.source, saved.content_type, saved.body) == (
        "http", "multipart/related; boundary=b1", BODY)
    assert saved.start_line == "POST /svc HTTP/1.1"


def test_chunked_response_is_dechunked() -> None:
    chunked = b"10\r\n" + BODY[:16] + b"\r\n" + b"%x\r\n" % (len(BODY) - 16) + BODY[16:] + \
        b"\r\n0\r\n\r\n"
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: multipart/related; boundary=b1\r\n\r\n") + chunked
    assert read_saved_message(raw).body == BODY


def test_chunked_header_over_a_dechunked_body_keeps_the_body() -> None:
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: multipart/related; boundary=b1\r\n\r\n") + BODY
    assert read_saved_message(raw).body == BODY


def test_401_then_200_picks_the_multipart_response() -> None:
    raw = (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Type: multipart/related; boundary=b1\r\n\r\n") + BODY
    saved = read_saved_message(raw)
    assert saved.start_line == "HTTP/1.1 200 OK" and saved.body == BODY


def test_interleaved_100_continue_line_is_skipped() -> None:
    raw = (b"POST / HTTP/1.1\r\nContent-Type: multipart/related; boundary=b1\r\n"
           b"Expect: 100-continue\r\nHTTP/1.1 100 Continue\r\n\r\n") + BODY
    saved = read_saved_message(raw)
    assert saved.content_type == "multipart/related; boundary=b1" and saved.body == BODY


def test_mime_entity_headers_give_the_content_type() -> None:
    raw = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=b1\r\n\r\n" + BODY
    saved = read_saved_message(raw)
    assert (saved.source, saved.content_type, saved.body) == (
        "mime", "multipart/related; boundary=b1", BODY)


def test_bare_body_has_no_content_type_but_a_sniffable_boundary() -> None:
    saved = read_saved_message(BODY)
    assert saved.source == "body" and saved.content_type is None
    assert sniff_boundary(BODY) == "b1"
    assert sniff_boundary(b"\r\n" + BODY) == "b1"  # WCF's leading CRLF
    assert sniff_boundary(b"hello\r\n" + BODY) is None  # only a body that starts with one
    assert sniff_boundary(b"-- not a boundary line\r\n") is None


@pytest.mark.parametrize("body, expected", [
    (b"3\r\nabc\r\n0\r\n\r\n", b"abc"),
    (b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", b"abcde"),
    (b"zz\r\nabc\r\n0\r\n\r\n", None),
    (b"5\r\nabc", None),
])
def test_dechunk(body: bytes, expected: bytes | None) -> None:
    assert dechunk(body) == expected


def test_every_corpus_http_capture_yields_the_saved_body(corpus_path: Path) -> None:
    captures = sorted(corpus_path.glob("*.http"))
    assert captures
    for http in captures:
        saved = read_saved_message(http.read_bytes())
        msg = http.with_suffix(".msg").read_bytes()
        assert saved.source == "http", http.name
        assert saved.content_type is not None
        # The .msg was extracted from the capture; captures may differ by an edited
        # Content-Length or trailing bytes, never in the MIME framing.
        assert saved.body.strip() == msg.strip() or msg.strip() in saved.body, http.name
