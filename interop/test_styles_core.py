"""Messages in the WSE 3.0, Axis2 and WCF wire styles, decoded by the core.

Each styled message is fed whole, in every two-way split and byte by byte;
every value must come back byte-exact through ``xop:Include`` resolution.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator

import pytest

import mtom
from interop import styles

# Payloads that are hard for a MIME reader: CR/LF at the edges, the boundary
# text minus one byte, a delimiter-looking line, an empty value, binary noise.
TRICKY: list[bytes] = [
    b"\r\n\r\nstarts and ends with CRLF\r\n",
    b"\n--MIMEBoundaryurn_uuid_0FE43E4D025F0BF3DC1158246764681",  # boundary minus one byte
    b"----MIMEBoundary63262300171567293\r\n",  # WSE boundary minus one byte
    b"\r\n--uuid:1b1eb29a-a92e-441b-8ac7-f954cb72160e+id=X\r\n",  # WCF-like line, not ours
    b"",
    bytes(range(256)),
]

BUILDERS: dict[str, Callable[[list[bytes]], styles.StyledMessage]] = {
    "wse3": styles.wse3,
    "axis2-soap11": styles.axis2,
    "axis2-soap12": lambda p: styles.axis2(p, soap_version="1.2"),
    "wcf-soap12": styles.wcf,
    "wcf-escaped-soap12": lambda p: styles.wcf(p, escape_href=True),
    "wcf-soap11": lambda p: styles.wcf(p, soap_version="1.1"),
}


def feeds(body: bytes) -> Iterator[list[bytes]]:
    yield [body]
    for i in range(1, len(body)):
        yield [body[:i], body[i:]]
    yield [body[i:i + 1] for i in range(len(body))]


def decode(message: styles.StyledMessage, chunks: list[bytes]) -> dict[str, bytes]:
    reader = mtom.PackageReader(message.content_type)
    for c in chunks:
        reader.feed(c)
    with reader.close() as package:
        assert package.soap_version is not None
        assert package.soap_version.value == message.soap_version
        root = package.root_element()
        found = mtom.reconstitute(root, package)
        assert len(found.references) == message.includes
        assert found.unreferenced == []
        return {ref.attachment.content_id or "": ref.attachment.read()
                for ref in found.references}


@pytest.mark.parametrize("style", sorted(BUILDERS))
def test_style_every_split(style: str) -> None:
    message = BUILDERS[style](TRICKY)
    for chunks in feeds(message.body):
        assert decode(message, chunks) == message.expected


@pytest.mark.parametrize("style", sorted(BUILDERS))
def test_style_large_values(style: str) -> None:
    big = [os.urandom(3 * 1024 * 1024 + 7), b"\r\n" + os.urandom(100_000) + b"\r\n"]
    message = BUILDERS[style](big)
    step = 65_536
    chunks = [message.body[i:i + step] for i in range(0, len(message.body), step)]
    got = decode(message, chunks)
    assert {k: hashlib.sha256(v).hexdigest() for k, v in got.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in message.expected.items()}


def test_wse3_root_only_package_keeps_value_inline() -> None:
    value = b"\x00" * 10
    message = styles.wse3_root_only(value)
    for chunks in feeds(message.body):
        reader = mtom.PackageReader(message.content_type)
        for c in chunks:
            reader.feed(c)
        with reader.close() as package:
            assert package.attachments == []
            root = package.root_element()
            assert mtom.reconstitute(root, package).references == []
            data = root.find(".//{http://example.org/mtom/data}Data")
            assert data is not None and data.text == "AAAAAAAAAAAAAA=="


def test_wcf_escaped_and_raw_hrefs_resolve_to_the_same_parts() -> None:
    raw = styles.wcf([b"abc"])
    escaped = styles.wcf([b"abc"], escape_href=True)
    assert b"cid:http%3A%2F%2Ftempuri.org" in escaped.body
    assert decode(raw, [raw.body]) == decode(escaped, [escaped.body]) == raw.expected
