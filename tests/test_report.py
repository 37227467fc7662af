"""mtom.report: the wire report of one exchange, from the packages each way."""

from __future__ import annotations

import base64
import dataclasses
import gc

import pytest

import mtom
from mtom import MessageStats, WireReport, base64_length

ROOT = b"<e:Envelope xmlns:e='urn:e'><e:Body><v>x</v></e:Body></e:Envelope>"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 6, 1000, 4097])
def test_base64_length_is_the_encoded_length(size: int) -> None:
    assert base64_length(size) == len(base64.b64encode(bytes(size)))


def test_outgoing_mtom_package() -> None:
    sizes = [5000, 70_001]
    package = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(bytes(n)) for n in sizes])
    wire = len(package.to_bytes())
    assert wire == package.content_length == package.framing_length + sum(sizes)
    stats = MessageStats.outgoing(package, wire)
    assert stats == MessageStats("mtom", 2, wire, len(ROOT) + sum(base64_length(n)
                                                                 for n in sizes))
    assert stats.mtom and stats.saved == stats.inline_bytes - wire > 0


def test_outgoing_swa_package_and_plain() -> None:
    package = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(b"abc")], xop=False)
    stats = MessageStats.outgoing(package, package.content_length or 0)
    assert stats.kind == "swa" and not stats.mtom and stats.parts == 1
    assert MessageStats.outgoing(None, 321) == MessageStats("plain", 0, 321, 321)
    assert MessageStats.plain(5).saved == 0


def test_outgoing_part_of_unknown_size_is_counted_from_the_wire() -> None:
    chunks = [b"a" * 3000, b"b" * 4001]
    package = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(bytes(10)),
                                          mtom.OutgoingPart(iter(chunks))])
    assert package.content_length is None
    wire = len(package.to_bytes())
    stats = MessageStats.outgoing(package, wire)
    assert stats.inline_bytes == len(ROOT) + base64_length(10) + base64_length(7001)


def test_incoming_package_and_plain() -> None:
    package = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(bytes(3000))])
    body = package.to_bytes()
    received = mtom.read_package(body, package.content_type)
    stats = MessageStats.incoming(received, len(body))
    assert stats == MessageStats("mtom", 1, len(body), len(ROOT) + base64_length(3000))
    swa = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(bytes(3))], xop=False)
    body = swa.to_bytes()
    assert MessageStats.incoming(mtom.read_package(body, swa.content_type), len(body)).kind == "swa"
    assert MessageStats.incoming(None, 77).kind == "plain"


def test_report_figures_summary_and_no_content() -> None:
    secret = b"TOP-SECRET-CONTENT" * 100
    package = mtom.OutgoingPackage(ROOT, [mtom.OutgoingPart(secret)])
    sent = MessageStats.outgoing(package, package.content_length or 0)
    report = WireReport(sent, MessageStats.plain(200), 0.25)
    assert report.mtom and report.wire_bytes == sent.wire_bytes + 200
    assert report.inline_bytes == sent.inline_bytes + 200
    line = report.summary()
    assert line == (f"sent MTOM, 1 part, {sent.wire_bytes} bytes (inline base64: "
                    f"{sent.inline_bytes}); received plain, 200 bytes; 0.250 s")
    assert "SECRET" not in line and base64.b64encode(secret)[:16].decode() not in line
    assert not WireReport(MessageStats.plain(1), None, 0.0).mtom
    assert "received nothing" in WireReport(MessageStats.plain(1), None, 0.0).summary()
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.seconds = 1.0  # type: ignore[misc]
    # sizes only: nothing in a report refers to the package, a part or its bytes
    for obj in (report, sent):
        assert all(isinstance(r, (MessageStats, int, float, str, type))
                   for r in gc.get_referents(obj)), gc.get_referents(obj)
