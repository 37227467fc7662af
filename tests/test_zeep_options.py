"""MtomOptions: validation and the part decision."""

from __future__ import annotations

import pytest
from lxml import etree

import mtom
from zeep_mtom import MtomOptions, MtomTransport


def test_defaults() -> None:
    options = MtomOptions()
    assert (options.mtom, options.threshold, options.spool_threshold) == (
        None, 1024, mtom.DEFAULT_SPOOL_THRESHOLD)
    assert options.limits is mtom.DEFAULT_LIMITS
    assert options.stream_attachments  # memory bounded by default: big values stay spooled
    assert MtomTransport().render_placeholders


@pytest.mark.parametrize("kwargs", [{"threshold": -1}, {"threshold": 1.5},
                                    {"threshold": True}, {"spool_threshold": -5},
                                    {"mtom": "yes"}, {"optimize_elements": ["{ns"]},
                                    {"inline_elements": [""]}])
def test_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MtomOptions(**kwargs)  # type: ignore[arg-type]


def test_limits_type() -> None:
    with pytest.raises(TypeError):
        MtomOptions(limits={"max_parts": 1})  # type: ignore[arg-type]


def test_element_names_are_normalised() -> None:
    options = MtomOptions(optimize_elements=[etree.QName("urn:a", "x"), "{urn:a}y", "z"],
                          inline_elements="{urn:a}w")  # type: ignore[arg-type]
    assert options.optimize_elements == {"{urn:a}x", "{urn:a}y", "z"}
    assert options.inline_elements == {"{urn:a}w"}


@pytest.mark.parametrize(("tag", "size", "expected"), [
    ("{urn:a}v", 1023, False), ("{urn:a}v", 1024, True), ("{urn:a}v", None, True),
    ("{urn:a}forced", 1, True), ("{urn:a}never", 10**9, False),
    ("{urn:a}both", 10**9, False),
])
def test_wants_part(tag: str, size: int | None, expected: bool) -> None:
    options = MtomOptions(optimize_elements=["{urn:a}forced", "{urn:a}both"],
                          inline_elements=["{urn:a}never", "{urn:a}both"])
    assert options.wants_part(tag, size) is expected


def test_transport_builds_its_options() -> None:
    transport = MtomTransport(mtom=False, threshold=0, stream_attachments=True,
                              limits=mtom.Limits(max_parts=3))
    options = transport.mtom_options
    assert (options.mtom, options.threshold, options.stream_attachments) == (False, 0, True)
    assert options.limits.max_parts == 3
    with pytest.raises(ValueError):
        MtomTransport(threshold=-1)
