"""ProgressMeter: reports at a bounded rate, and PackageReader reporting through it."""

from __future__ import annotations

import pytest

import mtom
from mtom import Progress, ProgressMeter


def test_reports_per_step_not_per_chunk() -> None:
    seen: list[Progress] = []
    meter = ProgressMeter(seen.append, "send", total=100 * 1024 * 1024)
    for _ in range(100 * 1024):  # 100 MiB in 1 KiB chunks: 102,400 calls to advance
        meter.advance(1024)
    meter.finish()
    meter.finish()  # once only
    assert 95 <= len(seen) <= 102
    assert seen[-1] == Progress(100 * 1024 * 1024, 100 * 1024 * 1024, "send", None, True)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].fraction == 1.0 and seen[0].fraction is not None


def test_unknown_total_reports_every_mebibyte() -> None:
    seen: list[Progress] = []
    meter = ProgressMeter(seen.append, "receive")
    for _ in range(10):
        meter.advance(512 * 1024)
    assert [p.done for p in seen] == [1024 * 1024 * i for i in range(1, 6)]
    assert all(p.total is None and p.fraction is None for p in seen)


def test_progress_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Progress(1, 2, "send").done = 5  # type: ignore[misc]


def test_package_reader_reports_bytes_and_parts() -> None:
    env = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    pkg = mtom.OutgoingPackage(env, [mtom.OutgoingPart(b"a" * 3_000_000, content_id="a@x"),
                                     mtom.OutgoingPart(b"b" * 3_000_000, content_id="b@x")])
    body = pkg.to_bytes()
    seen: list[Progress] = []
    meter = ProgressMeter(seen.append, "receive", total=len(body))
    reader = mtom.PackageReader(pkg.content_type, progress=meter)
    for i in range(0, len(body), 4096):
        reader.feed(body[i:i + 4096])
    reader.close().close()
    assert seen[-1].finished and seen[-1].done == len(body)
    assert len(seen) <= 102  # 1,466 chunks, a hundred reports at most
    cids = [p.content_id for p in seen]
    assert "a@x" in cids and "b@x" in cids and cids.index("a@x") < cids.index("b@x")
