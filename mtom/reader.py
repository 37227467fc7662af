"""A push parser for ``multipart/related`` bodies (sans-IO).

Strategy
--------
The caller feeds bytes in any chunking (``feed(b"")`` marks the end of
input) and gets back a list of :mod:`mtom.events`. The parser is a small
state machine — PREAMBLE, HEADERS, BODY, EPILOGUE — with one handler per
state in ``_HANDLERS``.

A delimiter is ``LF "--" boundary`` (the LF may be preceded by CR: real
stacks send LF-only and mixed line ends) followed by optional transport
padding (SP/HTAB) and a line end, or by ``--`` for the close delimiter. A
line that merely *starts* with ``--boundary`` and continues with other text
is data (RFC 2046 forbids it in bodies, but some test fixtures have it, and
treating it as data is the only choice that cannot lose bytes).

The BODY state is the hot path and never copies payload: ``bytes.find``
searches the chunk where it lies, data is handed out as memoryview slices
of the caller's chunk, and only the last ``len(LF--boundary)`` bytes, which
could begin a delimiter, are held back for the next feed. A held-back tail
is joined with the next chunk only when a delimiter candidate actually
straddles the two (once per part at most).

Memory held is the held-back tail plus at most one header block (bounded by
:attr:`Limits.max_header_bytes`) or the preamble (bounded by
:attr:`Limits.max_preamble_bytes`), never a part's body.

Strict where data could be lost: input ending before the close delimiter
raises :class:`TruncatedMessage`; a boundary that never appears raises
:class:`NoBoundary`; a "preamble" that is really a headerless first part
(headers, blank line, content, then the first delimiter) raises
:class:`MalformedMime` instead of dropping that part.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from .errors import (
    LimitExceeded,
    MalformedMime,
    MtomError,
    NoBoundary,
    TruncatedMessage,
    UsageError,
)
from .events import Event, MessageEnd, PartData, PartEnd, PartStart
from .headers import parse_header_block
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["MultipartReader"]

_PREAMBLE, _HEADERS, _BODY, _EPILOGUE = "PREAMBLE", "HEADERS", "BODY", "EPILOGUE"
_LF, _CR = 0x0A, 0x0D
_PADDING = re.compile(rb"[ \t]*")
#: Longest transport padding accepted after a delimiter (RFC 5322 line length).
_MAX_PADDING = 998
_BOM = b"\xef\xbb\xbf"
# Header lines at the start of the preamble, a blank line, then non-blank content.
_HEADERS_THEN_CONTENT = re.compile(rb"\A[\r\n]*((?:[!-9;-~]+[ \t]*:[^\n]*\n)+)\r?\n\s*\S")


def _is_headerless_part(preamble: bytes) -> bool:
    """Is this "preamble" really a part whose opening delimiter is missing?

    Yes when it is a header block naming a part (a Content-ID, or a non-multipart
    Content-Type) followed by content. Outer entity headers (MIME-Version and a
    multipart Content-Type, as saved SwA messages have) followed by the usual
    "This is a multi-part message" text are a real preamble.
    """
    m = _HEADERS_THEN_CONTENT.match(preamble)
    if m is None:
        return False
    try:
        headers = parse_header_block(m.group(1))
    except MtomError:
        return False
    if "content-id" in headers:
        return True
    ct = headers.get("content-type")
    return ct is not None and not ct.strip().lower().startswith("multipart/")

# Outcome of looking at the bytes after "LF--boundary".
_NO, _NEED, _NEXT, _CLOSE = 0, 1, 2, 3


class MultipartReader:
    """Incremental reader of one ``multipart/*`` body.

    Args:
        boundary: the ``boundary`` parameter of the Content-Type, unquoted.
        limits: resource limits (parts, header bytes, preamble, total size).

    Use::

        reader = MultipartReader(boundary)
        for chunk in chunks:
            for event in reader.feed(chunk):
                ...
        events = reader.feed(b"")   # end of input: raises if truncated

    Every error is raised from :meth:`feed`, is an :class:`~mtom.MtomError`,
    and is raised again (an equal copy, without the first traceback) by every
    later call.
    """

    def __init__(self, boundary: str | bytes, *, limits: Limits = DEFAULT_LIMITS):
        if isinstance(boundary, str):
            # HTTP stacks hand header values over as Latin-1 text (bytes preserved);
            # a caller that decoded them as UTF-8 gets them encoded back that way.
            try:
                b = boundary.encode("latin-1")
            except UnicodeEncodeError:
                b = boundary.encode("utf-8")
        else:
            b = bytes(boundary)
        if not b or b"\n" in b or b"\r" in b:
            raise UsageError(f"unusable multipart boundary {boundary!r}")
        self.boundary = b
        self.limits = limits
        self._dash = b"--" + b
        self._needle = b"\n--" + b
        self._hold = len(self._needle)
        self._buf = b""  # bytes not yet consumed
        self._base = 0  # absolute offset of self._buf[0] in the message body
        self._skip = 0  # leading bytes of self._buf that belong to no part (BODY state)
        self._state = _PREAMBLE
        self._part = -1
        self._part_size = 0
        self._total = 0
        self._eof = False
        self._error: MtomError | None = None
        self._handlers: dict[str, Callable[[list[Event]], bool]] = {
            _PREAMBLE: self._preamble,
            _HEADERS: self._headers,
            _BODY: self._body,
            _EPILOGUE: self._epilogue,
        }

    # -- public API -----------------------------------------------------

    @property
    def complete(self) -> bool:
        """True once the close delimiter has been read."""
        return self._state == _EPILOGUE

    @property
    def bytes_received(self) -> int:
        return self._total

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Push ``data`` (``b""`` = end of input) and return the events it completes.

        Raises:
            MalformedMime, NoBoundary, TruncatedMessage, LimitExceeded: the
                message is not acceptable; see the error's ``part``/``offset``.
            UsageError: data fed after the end of input.
        """
        if self._error is not None:
            raise self._error
        if self._eof:
            raise UsageError("MultipartReader.feed() called after the end of input (b'')")
        events: list[Event] = []
        try:
            if not data:
                self._eof = True
            else:
                if not isinstance(data, bytes):
                    data = bytes(data)  # never keep views of a caller's mutable buffer
                self._total += len(data)
                if self._total > self.limits.max_total_size:
                    raise LimitExceeded(
                        f"message body exceeds max_total_size={self.limits.max_total_size} bytes",
                        limit="max_total_size", value=self.limits.max_total_size,
                        part=self._part if self._part >= 0 else None, offset=self._total,
                    )
                if self._state == _EPILOGUE:
                    return events
                if self._state == _BODY and self._buf and not self._skip:
                    data = self._join_body_tail(data, events)
                elif self._buf:
                    data = self._buf + data
                self._buf = data
            while self._handlers[self._state](events):
                pass
            if self._eof and self._state != _EPILOGUE:
                self._fail_at_eof()
        except MtomError as exc:
            # Keep a traceback-free copy: the raised one references this frame, and
            # so this reader, and would keep everything in it alive in a cycle.
            self._error = copy.copy(exc)
            raise
        return events

    # -- helpers --------------------------------------------------------

    def _join_body_tail(self, data: bytes, events: list[Event]) -> bytes:
        """Hand out the held-back tail unless a delimiter candidate straddles it."""
        tail = self._buf
        if len(data) < self._hold:
            return tail + data  # too short to prove no delimiter starts in the tail
        region = tail + data[: self._hold]
        p = region.find(self._needle)
        if 0 <= p <= len(tail):
            return tail + data  # rare: delimiter (or its CR) begins in the tail
        self._emit(events, memoryview(tail))
        self._base += len(tail)
        self._buf = b""
        return data

    def _emit(self, events: list[Event], view: memoryview) -> None:
        if view.nbytes:
            self._part_size += view.nbytes
            events.append(PartData(self._part, view))

    def _classify(self, buf: bytes, i: int) -> tuple[int, int]:
        """Look at ``buf[i:]``, just after ``LF--boundary``: what kind of line is it?

        Returns ``(kind, end)`` where ``end`` is the index after the line end.
        """
        n = len(buf)
        close = False
        if i < n and buf[i] == 0x2D:  # '-'
            if i + 1 >= n:
                return (_NEED, 0) if not self._eof else (_NO, 0)
            if buf[i + 1] != 0x2D:
                return _NO, 0
            close = True
            i += 2
        m = _PADDING.match(buf, i)
        assert m is not None
        j = m.end()
        if j - i > _MAX_PADDING:
            return _NO, 0
        if j >= n:
            if self._eof:
                return (_CLOSE, n) if close else (_NO, 0)
            return _NEED, 0
        c = buf[j]
        if c == _LF:
            return (_CLOSE if close else _NEXT), j + 1
        if c == _CR:
            if j + 1 >= n:
                if self._eof:
                    return (_CLOSE, n) if close else (_NO, 0)
                return _NEED, 0
            if buf[j + 1] == _LF:
                return (_CLOSE if close else _NEXT), j + 2
            # A bare CR ends the line only for the close delimiter (anything
            # after it is epilogue).
            return (_CLOSE, j + 1) if close else (_NO, 0)
        return _NO, 0

    def _advance(self, consumed: int) -> None:
        self._buf = self._buf[consumed:]
        self._base += consumed

    def _start_next(self, kind: int, end: int, events: list[Event]) -> None:
        self._advance(end)
        if kind == _CLOSE:
            self._state = _EPILOGUE
            self._buf = b""
            events.append(MessageEnd(self._part + 1))
        else:
            self._state = _HEADERS

    def _fail_at_eof(self) -> None:
        if self._state == _PREAMBLE:
            raise NoBoundary(
                f"the boundary {self.boundary.decode('latin-1')!r} declared in the Content-Type "
                f"never appears in the body ({self._total} bytes); the peer must start each "
                f"part with a line '--{self.boundary.decode('latin-1')}'",
                offset=self._total,
            )
        in_headers = self._state == _HEADERS
        part = self._part + 1 if in_headers else self._part  # headers of the next part
        where = "the headers of" if in_headers else "the body of"
        raise TruncatedMessage(
            f"the message ends inside {where} part {part} after {self._total} bytes, "
            f"without the close delimiter '--{self.boundary.decode('latin-1')}--'; "
            "the part would be incomplete",
            part=part, offset=self._total,
        )

    # -- state handlers: return True to run again -----------------------

    def _preamble_candidates(self, buf: bytes) -> list[tuple[int, int]]:
        """(delimiter start, index after '--boundary') for every possible first delimiter."""
        cands: list[tuple[int, int]] = []
        if buf.startswith(self._dash):
            cands.append((0, len(self._dash)))
        elif buf.startswith(_BOM + self._dash):
            # A UTF-8 BOM glued to the first delimiter (WebLogic): tolerated.
            cands.append((0, len(_BOM) + len(self._dash)))
        p = buf.find(self._needle)
        while p >= 0:
            cands.append((p, p + self._hold))
            p = buf.find(self._needle, p + 1)
        return cands

    def _preamble(self, events: list[Event]) -> bool:
        buf = self._buf
        for start, after in self._preamble_candidates(buf):
            kind, end = self._classify(buf, after)
            if kind == _NEED:
                return False
            if kind == _NO:
                continue
            preamble = buf[:start]
            if _is_headerless_part(preamble):
                raise MalformedMime(
                    f"no opening delimiter: the {len(preamble)} bytes before the first "
                    f"'--{self.boundary.decode('latin-1')}' line are a MIME part (headers, "
                    "a blank line, content); the peer must begin every part, the first "
                    "one too, with a delimiter line",
                    part=0, offset=0,
                )
            if start > self.limits.max_preamble_bytes:
                self._preamble_limit(start)
            self._start_next(kind, end, events)
            return True
        # Everything but a possible partial delimiter at the end is preamble by now.
        if len(buf) - self._hold > self.limits.max_preamble_bytes:
            self._preamble_limit(len(buf))
        return False

    def _preamble_limit(self, size: int) -> None:
        raise LimitExceeded(
            f"no '--{self.boundary.decode('latin-1')}' delimiter within the first "
            f"{self.limits.max_preamble_bytes} bytes (max_preamble_bytes); the boundary "
            "in the Content-Type does not match the body",
            limit="max_preamble_bytes", value=self.limits.max_preamble_bytes, offset=size,
        )

    def _headers(self, events: list[Event]) -> bool:
        buf = self._buf
        if buf[:1] == b"\n":
            lf = 0
        elif buf[:2] == b"\r\n":
            lf = 1
        elif buf == b"\r":
            return False
        else:
            a = buf.find(b"\n\n")
            b = buf.find(b"\n\r\n")
            cands = [x for x in ((a + 1) if a >= 0 else -1, (b + 2) if b >= 0 else -1) if x >= 0]
            if not cands:
                if len(buf) > self.limits.max_header_bytes:
                    self._header_limit(len(buf))
                return False
            lf = min(cands)
        if lf > self.limits.max_header_bytes:
            self._header_limit(lf)
        self._part += 1
        if self._part >= self.limits.max_parts:
            raise LimitExceeded(
                f"more than max_parts={self.limits.max_parts} parts in the message",
                limit="max_parts", value=self.limits.max_parts, part=self._part, offset=self._base,
            )
        headers = parse_header_block(buf[:lf], part=self._part, offset=self._base)
        events.append(PartStart(self._part, headers, self._base))
        # Keep the blank line's LF: it may be the LF that begins the first
        # delimiter when the body is empty. It is not part of the body.
        self._advance(lf)
        self._skip = 1
        self._part_size = 0
        self._state = _BODY
        return True

    def _header_limit(self, size: int) -> None:
        raise LimitExceeded(
            f"header block of part {self._part + 1} exceeds max_header_bytes="
            f"{self.limits.max_header_bytes} (no blank line ending it within that many bytes)",
            limit="max_header_bytes", value=self.limits.max_header_bytes,
            part=self._part + 1, offset=self._base + size,
        )

    def _body(self, events: list[Event]) -> bool:
        buf = self._buf
        data_start = self._skip
        pos = 0
        view = memoryview(buf)
        while True:
            p = buf.find(self._needle, pos)
            if p < 0:
                keep = len(buf) if self._eof else len(buf) - self._hold
                if keep <= data_start:
                    return False  # too little to tell: keep it all (and the skipped LF)
                self._emit(events, view[data_start:keep])
                self._advance(keep)
                self._skip = 0
                return False
            kind, end = self._classify(buf, p + self._hold)
            if kind == _NO:
                pos = p + 1
                continue
            data_end = p - 1 if p - 1 >= data_start and buf[p - 1] == _CR else p
            data_end = max(data_end, data_start)
            self._emit(events, view[data_start:data_end])
            if kind == _NEED:
                if p < data_start:
                    return False  # the candidate begins with the skipped LF: keep it
                self._advance(data_end)
                self._skip = 0
                return False
            events.append(PartEnd(self._part, self._part_size))
            self._skip = 0
            self._start_next(kind, end, events)
            return True

    def _epilogue(self, events: list[Event]) -> bool:
        self._buf = b""
        return False
