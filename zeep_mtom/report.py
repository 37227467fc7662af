"""What the user sees of a call besides its result: progress, the wire report, the log line.

Strategy: the transports create one :class:`Exchange` per ``post_xml``,
right after :func:`zeep_mtom.request.prepare`. It holds the call's
:class:`mtom.ProgressMeter` objects (none when no ``progress`` callback is
set: sending and receiving then cost nothing extra), and at the end turns
the request package and the reply package into a :class:`mtom.WireReport`
(sizes only: no content, no part, no file). The transport keeps the report
per thread / asyncio task (:class:`PerCaller`) as ``last_report`` and
:func:`log_report` writes the one INFO line on the ``zeep_mtom`` logger.

:func:`warn_inlined_by_policy` is the other half of "did that call really
go out as MTOM?": in policy mode (``mtom=None``) a binding whose WSDL has no
MTOM policy sends big values as inline base64; the first time that happens
for an endpoint, one WARNING names the option that turns MTOM on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import mtom
from mtom.progress import ProgressCallback

from .hooks import CallContext
from .request import PreparedRequest

if TYPE_CHECKING:
    from .negotiate import Memory

__all__ = ["LOGGER", "Exchange", "PerCaller", "log_report", "reply_length",
           "warn_inlined_by_policy"]

#: The logger of the INFO line per call and of the policy WARNING.
LOGGER = logging.getLogger("zeep_mtom")

T = TypeVar("T")


def _ignore(event: mtom.Progress) -> None:
    """A meter that only counts (a request body of unknown length, for the report)."""


class PerCaller(Generic[T]):
    """One value per thread and per asyncio task (a task's value goes with the task)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _slots(self) -> tuple[weakref.WeakKeyDictionary[Any, T], Any]:
        if not hasattr(self._local, "slots"):
            self._local.slots = weakref.WeakKeyDictionary()
        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        return self._local.slots, task if task is not None else PerCaller

    def get(self) -> T | None:
        slots, key = self._slots()
        return slots.get(key)

    def set(self, value: T | None) -> None:
        slots, key = self._slots()
        if value is None:
            slots.pop(key, None)
        else:
            slots[key] = value

    def clear(self) -> None:
        """Forget every thread's and task's value."""
        self._local = threading.local()


def reply_length(headers: Mapping[str, str]) -> int | None:
    """The reply body's length as the transport will count it: Content-Length, unless a
    Content-Encoding (gzip…) makes the decoded body another size."""
    if headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
        return None
    return mtom.parse_content_length(headers.get("Content-Length"))


class Exchange:
    """Progress meters and the wire report of one ``post_xml``.

    Args:
        prepared: what :func:`~zeep_mtom.request.prepare` made of the request.
        progress: the transport's ``progress`` callback, or ``None``.
    """

    def __init__(self, prepared: PreparedRequest, progress: ProgressCallback | None):
        self.started = time.monotonic()
        self._progress = progress
        self._package = prepared.package
        self._envelope_size = len(prepared.envelope)
        self._total = (prepared.package.content_length if prepared.package is not None
                       else self._envelope_size)
        self.send_meter: mtom.ProgressMeter | None = None
        if progress is not None:
            self.send_meter = mtom.ProgressMeter(progress, "send", self._total)
        elif self._total is None:  # chunked: count what is sent, nothing else
            self.send_meter = mtom.ProgressMeter(_ignore, "send", None, step=1 << 62)

    def request_sent(self) -> None:
        """The request went out (for a plain body, which has no stream to count it)."""
        meter = self.send_meter
        if meter is not None and self._package is None and meter.done == 0:
            meter.advance(self._envelope_size)
            meter.finish()

    def receive_meter(self, headers: Mapping[str, str]) -> mtom.ProgressMeter | None:
        """The meter for the reply body (``None`` without a progress callback)."""
        if self._progress is None:
            return None
        return mtom.ProgressMeter(self._progress, "receive", reply_length(headers))

    def report(self, reply_package: mtom.Package | None, received: int) -> mtom.WireReport:
        """The report once the reply (``received`` body bytes) has been read."""
        sent_bytes = self._total
        if sent_bytes is None:
            sent_bytes = self.send_meter.done if self.send_meter is not None else 0
        return mtom.WireReport(
            sent=mtom.MessageStats.outgoing(self._package, sent_bytes),
            received=mtom.MessageStats.incoming(reply_package, received),
            seconds=time.monotonic() - self.started)


def log_report(address: str, status: int, report: mtom.WireReport) -> None:
    """The INFO line of one call: sizes, kinds and time, never content."""
    if LOGGER.isEnabledFor(logging.INFO):  # the summary is formatted only when logged
        LOGGER.info("POST %s -> HTTP %d: %s", address, status, report.summary())


def warn_inlined_by_policy(ctx: CallContext | None, options: mtom.MtomOptions, address: str,
                           warned: Memory[bool]) -> None:
    """WARNING once per endpoint: policy mode sent values over the threshold inline.

    Only in policy mode (``mtom=None``) and only when a value at or above the
    threshold went out as base64 because the binding's WSDL attaches no MTOM
    policy; ``warned`` holds the endpoints already warned about (bounded: a transport
    that calls many addresses keeps the most recent ones).
    """
    if ctx is None or ctx.optimise or options.mtom is not None or not ctx.inlined:
        return
    if warned.get(address):
        return
    warned.remember(address, True)
    LOGGER.warning(
        "%d binary value(s) of %d bytes or more were sent to %s as inline base64: the "
        "WSDL attaches no MTOM policy (wsoma:OptimizedMimeSerialization) to binding %s, "
        "and mtom=None follows the policy. Pass mtom=True to the transport to send them "
        "as MTOM parts (mtom=False keeps base64 and silences this warning)",
        ctx.inlined, options.threshold, address, ctx.binding)
