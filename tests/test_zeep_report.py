"""zeep_mtom.report over real HTTP: progress events, last_report, the INFO line, the
policy WARNING — for MtomTransport and AsyncMtomTransport."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import DATA, ECHO11, EchoApp, Pipe, SharedServer, echo_service, pattern
from _support import fds_under as _open_spool_files
from zeep.proxy import AsyncServiceProxy

import mtom
import zeep_mtom


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


def _check_events(events: list[mtom.Progress], direction: str, total: int | None,
                  done: int) -> list[mtom.Progress]:
    mine = [e for e in events if e.direction == direction]
    assert mine, f"no {direction} event"
    assert [e.done for e in mine] == sorted(e.done for e in mine)
    assert all(e.total == total for e in mine)
    assert mine[-1].finished and mine[-1].done == done
    assert sum(e.finished for e in mine) == 1
    return mine


# -- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", [None, 600], ids=["no-deadline", "deadline"])
def test_progress_both_directions(served: SharedServer, tmp_path: Path,
                                  deadline: float | None) -> None:
    size = 3 * 1024 * 1024
    path = tmp_path / "big.bin"
    path.write_bytes(pattern(size))
    events: list[mtom.Progress] = []
    app = EchoApp()
    with echo_service(served, app, mtom=True, progress=events.append,
                      deadline=deadline) as (svc, transport):
        result = svc.Echo(data=[path])
        report = transport.last_report
    assert result.data == [path.read_bytes()]
    sent_total = int(app.last.header("content-length") or 0)
    assert sent_total == app.last.body_size
    sent = _check_events(events, "send", sent_total, sent_total)
    assert report is not None and report.received is not None
    received_total = report.received.wire_bytes
    got = _check_events(events, "receive", received_total, received_total)
    # about a hundred reports per transfer, never one per chunk
    assert 2 <= len(sent) <= 102 and 2 <= len(got) <= 102
    assert app.last.package is not None
    assert app.last.package.attachments[0].content_id in {e.content_id for e in sent}
    assert any(e.content_id for e in got)
    assert all(isinstance(e, mtom.Progress) for e in events)


def test_progress_of_a_plain_request_and_an_unsized_stream(served: SharedServer) -> None:
    events: list[mtom.Progress] = []
    app = EchoApp(reply="plain")
    with echo_service(served, app, mtom=True, progress=events.append) as (svc, transport):
        svc.Echo(data=[b"small"])
        sent = _check_events(events, "send", app.last.body_size, app.last.body_size)
        assert len(sent) == 1 and transport.last_report.sent.kind == "plain"
        events.clear()

        svc.Echo(data=[Pipe(pattern(20_000))])
        report = transport.last_report
    _check_events(events, "send", None, app.last.body_size)
    assert report is not None and report.received is not None
    assert report.sent.wire_bytes == app.last.body_size  # counted while sent chunked
    assert report.sent.inline_bytes > report.sent.wire_bytes
    _check_events(events, "receive", report.received.wire_bytes, report.received.wire_bytes)


def test_async_progress_and_report(served: SharedServer) -> None:
    raw = pattern(2 * 1024 * 1024, seed=5)
    events: list[mtom.Progress] = []
    app = EchoApp()

    async def main(url: str) -> mtom.WireReport | None:
        transport = zeep_mtom.AsyncMtomTransport(mtom=True, progress=events.append)
        client = zeep.AsyncClient(str(DATA / "echo.wsdl"), transport=transport)
        svc = AsyncServiceProxy(client, client.wsdl.bindings[ECHO11], address=url)
        try:
            assert (await svc.Echo(data=[raw])).data == [raw]
            return transport.last_report
        finally:
            await transport.aclose()

    with served(app) as url:
        report = asyncio.run(main(url))
    assert report is not None and report.received is not None
    assert report.sent.mtom and report.sent.parts == 1
    assert report.sent.wire_bytes == app.last.body_size
    _check_events(events, "send", app.last.body_size, app.last.body_size)
    _check_events(events, "receive", report.received.wire_bytes, report.received.wire_bytes)


class _Cancel(Exception):
    pass


@pytest.mark.parametrize("direction", ["send", "receive"])
def test_an_exception_from_the_callback_cancels_the_call(served: SharedServer, tmp_path: Path,
                                                          direction: str) -> None:
    def cancel(event: mtom.Progress) -> None:
        if event.direction == direction and event.done >= 1024 * 1024:
            raise _Cancel(direction)

    app = EchoApp()
    with echo_service(served, app, mtom=True, progress=cancel,
                      spool_dir=str(tmp_path)) as (svc, transport):
        with pytest.raises(_Cancel):
            svc.Echo(data=[pattern(4 * 1024 * 1024)])
        assert transport.last_report is None
        assert not _open_spool_files(tmp_path)  # nothing of the reply left open
        transport.progress = None
        assert svc.Echo(data=[b"again"]).data == [b"again"]  # the transport goes on


def test_progress_must_be_callable() -> None:
    with pytest.raises(TypeError, match="progress must be a callable"):
        zeep_mtom.MtomTransport(progress=42)  # type: ignore[arg-type]


# -- the wire report and its log line ------------------------------------------------------


def test_last_report_and_one_info_line_per_call(served: SharedServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    marker = b"CONTENT-MARKER-" * 400
    app = EchoApp(reply_threshold=1024)
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, app, mtom=True) as (svc, transport):
        assert transport.last_report is None
        svc.Echo(name="n", data=[marker, pattern(5000), b"tiny"])
        report = transport.last_report
        lines = [r for r in caplog.records if r.name == "zeep_mtom"]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO
        svc.Echo(data=[b"tiny"])
        second = transport.last_report
    assert report is not None and report.received is not None
    assert report.sent == mtom.MessageStats(
        "mtom", 2, app.received[0].body_size, report.sent.inline_bytes)
    assert report.sent.inline_bytes > report.sent.wire_bytes  # base64 would have cost more
    assert report.received.kind == "mtom" and report.received.parts == 2
    assert report.seconds >= 0
    message = lines[0].getMessage()
    assert message.startswith(f"POST {served.url} -> HTTP 200: sent MTOM, 2 parts, "
                              f"{report.sent.wire_bytes} bytes")
    assert report.summary() in message
    assert "MARKER" not in caplog.text and "Q09OVEVOVC1NQVJLRVIt" not in caplog.text
    assert second is not None and second.sent.kind == "plain"
    assert second.sent.wire_bytes == app.received[1].body_size
    # the echo service answers with an XOP package even when no value became a part
    assert second.received == mtom.MessageStats("mtom", 0, second.received.wire_bytes,
                                                second.received.inline_bytes)
    assert len([r for r in caplog.records if r.name == "zeep_mtom"]) == 2


def test_report_of_a_fault_reply(served: SharedServer) -> None:
    app = EchoApp(reply="fault")
    with echo_service(served, app, mtom=True) as (svc, transport):
        with pytest.raises(zeep.exceptions.Fault):
            svc.Echo(data=[pattern(4000)])
        report = transport.last_report
    assert report is not None and report.received is not None
    assert report.received.kind == "mtom" and report.received.parts == 0


def test_last_report_keeps_no_content_or_file_alive(served: SharedServer) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True, spool_threshold=1024) as (svc, transport):
        result = svc.Echo(data=[pattern(100_000)])
        value = result.data[0]
        assert isinstance(value, mtom.Attachment) and not value.in_memory
        gone = weakref.ref(value)
        report = transport.last_report
        value.close()
        del value, result
        transport.close()  # releases last_reply
        gc.collect()
        assert gone() is None
        assert transport.last_report is report  # the report outlives the reply
    assert report is not None
    for obj in (report, report.sent, report.received):
        assert all(isinstance(r, (mtom.MessageStats, int, float, str, type))
                   for r in gc.get_referents(obj))


def test_last_report_is_cleared_when_a_call_fails(served: SharedServer) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "multipart/related; boundary=x")])
        return [b"--x\r\nContent-Type: text/xml\r\n\r\n<a/>"]  # truncated

    with echo_service(served, EchoApp(), mtom=True) as (svc, transport):
        svc.Echo(data=[b"x"])
        assert transport.last_report is not None
        served.app = broken
        with pytest.raises(mtom.TruncatedMessage):
            svc.Echo(data=[b"x"])
        assert transport.last_report is None


# -- the policy warning --------------------------------------------------------------------


def test_policy_mode_warns_once_per_endpoint_when_big_values_go_inline(
        served: SharedServer, caplog: pytest.LogCaptureFixture) -> None:
    app = EchoApp(reply="plain")
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, app) as (svc, transport):  # echo.wsdl has no MTOM policy
        svc.Echo(data=[b"small"])
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        svc.Echo(data=[pattern(5000)])
        svc.Echo(data=[pattern(6000)])
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert transport.last_report is not None
        assert transport.last_report.sent.kind == "plain"
    assert not app.last.multipart
    assert len(warnings) == 1 and warnings[0].name == "zeep_mtom"
    text = warnings[0].getMessage()
    assert f"1 binary value(s) of {mtom.DEFAULT_THRESHOLD} bytes or more" in text
    assert served.url in text
    assert "mtom=True" in text and "Echo11Binding" in text


@pytest.mark.parametrize("options", [{"mtom": False}, {"mtom": True}, {"wsdl": "echo-policy.wsdl"}],
                         ids=["mtom-false", "mtom-true", "policy-on"])
def test_no_policy_warning_when_the_choice_is_explicit_or_mtom(
        served: SharedServer, caplog: pytest.LogCaptureFixture, options: dict[str, Any]) -> None:
    caplog.set_level(logging.INFO, logger="zeep_mtom")
    with echo_service(served, EchoApp(reply="plain"), **options) as (svc, _):
        svc.Echo(data=[pattern(5000)])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
