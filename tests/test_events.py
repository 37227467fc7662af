"""Reader events: small frozen dataclasses, emitted in a fixed grammar."""

from __future__ import annotations

import dataclasses

import pytest
from _support import split_feeds

from mtom import Headers, MessageEnd, MultipartReader, PartData, PartEnd, PartStart
from mtom.events import Event

BODY = (b"--b\r\nContent-Type: Application/XOP+XML; type=\"text/xml\"\r\n"
        b"Content-Transfer-Encoding:  BASE64 \r\nContent-ID:  <root@x> \r\n\r\n"
        b"PHIvPg==\r\n--b\r\n\r\n\r\n--b--\r\n")




def events_of(chunks: list[bytes]) -> list[Event]:
    reader = MultipartReader("b")
    out: list[Event] = []
    for c in chunks:
        out += reader.feed(c)
    return out + reader.feed(b"")


def kinds(events: list[Event]) -> str:
    """One letter per event, data events merged: S D E S E M."""
    letters = {PartStart: "S", PartData: "D", PartEnd: "E", MessageEnd: "M"}
    out = ""
    for e in events:
        c = letters[type(e)]
        if not (c == "D" and out.endswith("D")):
            out += c
    return out


def test_event_grammar_in_every_feeding() -> None:
    for chunks in split_feeds(BODY):
        events = events_of(chunks)
        assert kinds(events) == "SDESEM", [len(c) for c in chunks][:2]
        ends = [e for e in events if isinstance(e, PartEnd)]
        assert [(e.index, e.size) for e in ends] == [(0, 8), (1, 0)]
        assert events[-1] == MessageEnd(parts=2)


def test_part_start_properties() -> None:
    start = events_of([BODY])[0]
    assert isinstance(start, PartStart)
    assert start.index == 0 and start.offset == 5
    assert start.content_id == "root@x"
    assert start.content_type.media_type == "application/xop+xml"
    assert start.content_type.get("type") == "text/xml"
    assert start.transfer_encoding == "base64"


def test_part_start_defaults_follow_rfc_2045() -> None:
    start = PartStart(index=1, headers=Headers(), offset=0)
    assert start.content_id is None
    assert start.content_type.media_type == "text/plain"
    assert start.content_type.charset == "us-ascii"
    assert start.transfer_encoding == "binary"


def test_part_data_is_a_memoryview_of_the_body() -> None:
    data = [e for e in events_of([BODY]) if isinstance(e, PartData)]
    assert all(isinstance(e.data, memoryview) and e.data.readonly for e in data)
    assert b"".join(bytes(e.data) for e in data) == b"PHIvPg=="


@pytest.mark.parametrize("event", [
    PartStart(0, Headers(), 0), PartData(0, memoryview(b"x")), PartEnd(0, 1), MessageEnd(1),
])
def test_events_are_frozen_and_slotted(event: Event) -> None:
    assert dataclasses.is_dataclass(event)
    field = dataclasses.fields(event)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(event, field, 5)
    assert not hasattr(event, "__dict__")


def test_events_compare_by_value() -> None:
    assert PartEnd(1, 10) == PartEnd(1, 10) != PartEnd(1, 11)
    assert MessageEnd(3) == MessageEnd(3)
    assert PartStart(0, Headers([("A", "1")]), 5) == PartStart(0, Headers([("A", "1")]), 5)
