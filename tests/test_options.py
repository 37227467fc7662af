"""mtom.MtomOptions: one validation, one set of messages, for both adapters."""

from __future__ import annotations

import pytest
from lxml import etree

import mtom
import spyne_mtom
import zeep_mtom


def test_defaults() -> None:
    options = mtom.MtomOptions()
    assert (options.mtom, options.threshold, options.spool_threshold) == (
        None, mtom.DEFAULT_THRESHOLD, mtom.DEFAULT_SPOOL_THRESHOLD)
    assert options.stream_attachments and not options.huge_tree
    assert zeep_mtom.MtomOptions is spyne_mtom.MtomOptions is mtom.MtomOptions


@pytest.mark.parametrize("value", ["1k", 1.5, True, -1])
def test_sizes_get_the_same_message_everywhere(value: object) -> None:
    messages = []
    for make in (lambda: mtom.MtomOptions(threshold=value),  # type: ignore[arg-type]
                 lambda: zeep_mtom.MtomTransport(threshold=value),  # type: ignore[arg-type]
                 lambda: zeep_mtom.AsyncMtomTransport(threshold=value),  # type: ignore[arg-type]
                 lambda: spyne_mtom.Soap11Mtom(threshold=value),  # type: ignore[arg-type]
                 lambda: spyne_mtom.Soap12Mtom(threshold=value)):  # type: ignore[arg-type]
        with pytest.raises(ValueError) as info:
            make()
        messages.append(str(info.value))
    assert len(set(messages)) == 1 and "threshold must be a non-negative int" in messages[0]
    if value == "1k":
        assert "not a string like '1k'" in messages[0]


def test_max_content_length_is_validated_up_front() -> None:
    with pytest.raises(ValueError, match="max_content_length must be a non-negative int"):
        spyne_mtom.wsgi_application(object(), max_content_length="1G")  # type: ignore[arg-type]


def test_one_element_name_is_one_name_not_letters() -> None:
    options = mtom.MtomOptions(optimize_elements="{urn:a}data",  # type: ignore[arg-type]
                               inline_elements=etree.QName("urn:a", "small"))  # type: ignore[arg-type]
    assert options.optimize_elements == {"{urn:a}data"}
    assert options.inline_elements == {"{urn:a}small"}
    protocol = spyne_mtom.Soap11Mtom(optimize_elements="{urn:a}data")
    assert protocol.mtom_options.optimize_elements == {"{urn:a}data"}
    with pytest.raises(ValueError, match="optimize_elements"):
        mtom.MtomOptions(optimize_elements=["{urn:a"])  # type: ignore[arg-type]


def test_spyne_optimize_types_must_be_types() -> None:
    with pytest.raises(ValueError, match="optimize_types"):
        spyne_mtom.Soap11Mtom(optimize_types="data")  # type: ignore[arg-type]


def test_merge_overrides_only_what_is_given() -> None:
    base = mtom.MtomOptions(threshold=10, limits=mtom.Limits(max_parts=3))
    merged = mtom.MtomOptions.merge(base, threshold=None, spool_threshold=5)
    assert (merged.threshold, merged.spool_threshold, merged.limits.max_parts) == (10, 5, 3)
    assert mtom.MtomOptions.merge(base) is base
    transport = zeep_mtom.MtomTransport(options=base, threshold=0)
    assert transport.mtom_options.threshold == 0 and transport.mtom_options.limits.max_parts == 3
    with pytest.raises(TypeError):
        mtom.MtomOptions.merge({"threshold": 1})  # type: ignore[arg-type]


# -- moved from test_zeep_options (MtomOptions is the core's now) --------------------------


def test_defaults_of_every_field() -> None:
    options = mtom.MtomOptions()
    assert (options.mtom, options.threshold, options.spool_threshold) == (
        None, 2048, mtom.DEFAULT_SPOOL_THRESHOLD)
    assert options.limits is mtom.DEFAULT_LIMITS
    assert options.stream_attachments  # memory bounded by default: big values stay spooled
    assert zeep_mtom.MtomTransport().render_placeholders


@pytest.mark.parametrize("kwargs", [{"threshold": -1}, {"threshold": 1.5},
                                    {"threshold": True}, {"spool_threshold": -5},
                                    {"mtom": "yes"}, {"optimize_elements": ["{ns"]},
                                    {"inline_elements": [""]}])
def test_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        mtom.MtomOptions(**kwargs)  # type: ignore[arg-type]


def test_limits_type() -> None:
    with pytest.raises(TypeError):
        mtom.MtomOptions(limits={"max_parts": 1})  # type: ignore[arg-type]


def test_element_names_are_normalised() -> None:
    options = mtom.MtomOptions(optimize_elements=[etree.QName("urn:a", "x"), "{urn:a}y", "z"],
                          inline_elements="{urn:a}w")  # type: ignore[arg-type]
    assert options.optimize_elements == {"{urn:a}x", "{urn:a}y", "z"}
    assert options.inline_elements == {"{urn:a}w"}


@pytest.mark.parametrize(("tag", "size", "expected"), [
    ("{urn:a}v", 2047, False), ("{urn:a}v", 2048, True), ("{urn:a}v", None, True),
    ("{urn:a}forced", 1, True), ("{urn:a}never", 10**9, False),
    ("{urn:a}both", 10**9, False),
])
def test_wants_part(tag: str, size: int | None, expected: bool) -> None:
    options = mtom.MtomOptions(optimize_elements=["{urn:a}forced", "{urn:a}both"],
                          inline_elements=["{urn:a}never", "{urn:a}both"])
    assert options.wants_part(tag, size) is expected


def test_transport_builds_its_options() -> None:
    transport = zeep_mtom.MtomTransport(mtom=False, threshold=0, stream_attachments=True,
                              limits=mtom.Limits(max_parts=3))
    options = transport.mtom_options
    assert (options.mtom, options.threshold, options.stream_attachments) == (False, 0, True)
    assert options.limits.max_parts == 3
    with pytest.raises(ValueError):
        zeep_mtom.MtomTransport(threshold=-1)
