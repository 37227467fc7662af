"""Reading saved message files for tools: raw HTTP captures and MIME entities.

Strategy: the bytes of a file are classified as (1) a raw HTTP capture —
request or status line, headers, blank line, body, possibly several
messages in a row (a 401 then a 200, or a ``100 Continue`` interleaved) —
(2) a MIME entity whose own headers carry the Content-Type, or (3) a bare
body whose boundary can be read from its first delimiter line. Nothing here
touches a socket; it only parses bytes that were saved earlier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MalformedMime
from .headers import Headers, parse_content_length, parse_header_block

__all__ = ["SavedMessage", "dechunk", "read_saved_message", "sniff_boundary"]

_START_LINE = re.compile(rb"^(?:[A-Z]+ \S+ HTTP/\d\.\d|HTTP/\d\.\d \d{3}[^\r\n]*)\r?\n")
_STATUS_LINE = re.compile(rb"^HTTP/\d\.\d (\d{3})")
_MIME_ENTITY = re.compile(rb"^(?:MIME-Version|Content-Type)[ \t]*:", re.IGNORECASE)
# A delimiter line: "--" and a boundary that neither starts nor ends with a space.
_DELIMITER_LINE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?[\r\n]*--([0-9A-Za-z'()+_,\-./:=?]"
    rb"(?:[0-9A-Za-z'()+_,\-./:=? ]{0,68}[0-9A-Za-z'()+_,\-./:=?])?)[ \t]*\r?\n")


@dataclass(frozen=True)
class SavedMessage:
    """A body and the Content-Type it came with (``None`` if none was found)."""

    body: bytes
    content_type: str | None
    source: str  # "http", "mime" or "body"
    start_line: str | None = None


def sniff_boundary(body: bytes) -> str | None:
    """The boundary of a body that *starts* with a delimiter line, else ``None``.

    Only a first line of the form ``--bchars`` (after optional blank lines or a
    UTF-8 BOM) counts; nothing is guessed from the middle of a body.
    """
    m = _DELIMITER_LINE.match(body[:200])
    return m.group(1).decode("ascii") if m else None


def dechunk(body: bytes) -> bytes | None:
    """Decode HTTP/1.1 chunked transfer coding; ``None`` if ``body`` is not chunked."""
    out: list[bytes] = []
    pos = 0
    while True:
        eol = body.find(b"\n", pos)
        if eol < 0:
            return None
        size_text = body[pos:eol].strip().split(b";")[0]
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        pos = eol + 1
        if size == 0:
            return b"".join(out)
        if pos + size > len(body):
            return None
        out.append(body[pos:pos + size])
        pos += size
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        else:
            return None


def _split_head(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(start line, header block, rest) of an HTTP message, or None."""
    m = _START_LINE.match(data)
    if not m:
        return None
    pos = m.end()
    lines: list[bytes] = []
    while True:
        eol = data.find(b"\n", pos)
        if eol < 0:
            return None
        line = data[pos:eol + 1]
        pos = eol + 1
        if line.strip() == b"":
            break
        if _STATUS_LINE.match(line):
            continue  # an interleaved "HTTP/1.1 100 Continue" saved inside the head
        lines.append(line)
    return m.group(0).strip(), b"".join(lines), data[pos:]


def _http_messages(data: bytes) -> list[tuple[str, Headers, bytes]]:
    messages: list[tuple[str, Headers, bytes]] = []
    rest = data
    while True:
        split = _split_head(rest)
        if split is None:
            break
        start, block, rest = split
        headers = parse_header_block(block)
        length = headers.get("content-length")
        status = _STATUS_LINE.match(start)
        # A body-less message (1xx, or Content-Length: 0) followed by another one.
        if (status and status.group(1).startswith(b"1")) or (
                length is not None and length.strip() == "0" and _START_LINE.match(rest)):
            continue
        n = parse_content_length(length)
        if n is not None and _START_LINE.match(rest[n:].lstrip(b"\r\n")):
            messages.append((start.decode("latin-1"), headers, rest[:n]))
            rest = rest[n:].lstrip(b"\r\n")
            continue
        messages.append((start.decode("latin-1"), headers, rest))
        break
    return messages


def read_saved_message(data: bytes) -> SavedMessage:
    """Classify a saved file and return its body and Content-Type.

    For an HTTP capture with several messages, the last one whose
    Content-Type is multipart is chosen (else the last one). A chunked body
    is de-chunked when it really is chunked (some tools save the header with
    an already de-chunked body).

    Raises:
        MalformedMime: an HTTP capture or MIME entity whose head cannot be parsed.
    """
    messages = _http_messages(data)
    if messages:
        chosen = next((m for m in reversed(messages)
                       if m[1].get("content-type", "").lower().startswith("multipart/")),
                      messages[-1])
        start, headers, body = chosen
        if "chunked" in headers.get("transfer-encoding", "").lower():
            plain = dechunk(body)
            if plain is not None:
                body = plain
        return SavedMessage(body, headers.get("content-type"), "http", start)
    if _MIME_ENTITY.match(data):
        end = re.search(rb"\r?\n\r?\n", data)
        if end is None:
            raise MalformedMime("the file starts with MIME headers but has no blank line "
                                "ending them")
        headers = parse_header_block(data[:end.start()])
        return SavedMessage(data[end.end():], headers.get("content-type"), "mime")
    return SavedMessage(data, None, "body")
