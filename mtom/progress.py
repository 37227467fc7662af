"""Progress of a transfer, reported at a bounded rate.

Strategy: the code that moves bytes calls :meth:`ProgressMeter.advance` with
each chunk's size; that is one addition and one comparison. The callback
runs only when the count crosses the next step (1/100 of a known total, at
least 256 KiB; 1 MiB when the total is unknown) and once at the end, so a
1 GiB transfer makes about a hundred calls whatever the chunk size or the
number of parts (each report names the part being moved at that moment).
With no callback there is no meter at all (the caller keeps ``None``): no
cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Direction", "Progress", "ProgressCallback", "ProgressMeter"]

Direction = Literal["send", "receive"]

_MIN_STEP = 256 * 1024
_UNKNOWN_STEP = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress report.

    Attributes:
        done: bytes moved so far (of the whole message body).
        total: bytes of the whole body when known (a Content-Length), else ``None``.
        direction: ``"send"`` or ``"receive"``.
        content_id: the part being moved (``None`` for the root, framing, or a
            part without a Content-ID).
        finished: ``True`` on the last report of a transfer.
    """

    done: int
    total: int | None
    direction: Direction
    content_id: str | None = None
    finished: bool = False

    @property
    def fraction(self) -> float | None:
        """``done / total`` (0.0-1.0), or ``None`` when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], object]


class ProgressMeter:
    """Counts bytes and calls ``callback`` with a :class:`Progress` at a bounded rate.

    Args:
        callback: receives each report; its return value is ignored.
        direction: ``"send"`` or ``"receive"``.
        total: the size of the whole transfer, if known.
        step: bytes between reports (default: 1% of ``total``, at least 256 KiB;
            1 MiB when the total is unknown).
    """

    __slots__ = ("_callback", "_cid", "_direction", "_done", "_finished", "_next", "_step",
                 "total")

    def __init__(self, callback: ProgressCallback, direction: Direction,
                 total: int | None = None, *, step: int | None = None):
        self._callback = callback
        self._direction: Direction = direction
        self.total = total
        if step is None:
            step = max(_MIN_STEP, total // 100) if total else _UNKNOWN_STEP
        self._step = max(1, step)
        self._done = 0
        self._next = self._step
        self._cid: str | None = None
        self._finished = False

    @property
    def done(self) -> int:
        return self._done

    def advance(self, n: int) -> None:
        """Count ``n`` more bytes (call per chunk: cheap until a step is crossed)."""
        self._done += n
        if self._done >= self._next:
            self._next = self._done + self._step
            self._report(False)

    def part(self, content_id: str | None) -> None:
        """The following bytes belong to the part ``content_id``."""
        self._cid = content_id

    def finish(self) -> None:
        """Send the last report (once)."""
        if not self._finished:
            self._finished = True
            self._report(True)

    def _report(self, finished: bool) -> None:
        self._callback(Progress(self._done, self.total, self._direction, self._cid, finished))
