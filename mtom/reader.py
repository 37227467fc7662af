"""A push parser for ``multipart/related`` bodies (sans-IO).

Strategy
--------
The caller feeds bytes in any chunking (``feed(b"")`` marks the end of
input) and gets back a list of :mod:`mtom.events`. The parser is a small
state machine — PREAMBLE, HEADERS, BODY, EPILOGUE — with one handler per
state. Each handler works on one buffer from a position and returns the
position it reached; nothing is ever re-sliced per part.

A delimiter is ``LF "--" boundary`` (the LF may be preceded by CR: real
stacks send LF-only and mixed line ends) followed by optional transport
padding (SP/HTAB) and a line end, or by ``--`` for the close delimiter. A
line that merely *starts* with ``--boundary`` and continues with other text
is data (RFC 2046 forbids it in bodies, but some test fixtures have it, and
treating it as data is the only choice that cannot lose bytes).

Linear cost and bounded memory, whatever the chunking
-----------------------------------------------------
* A chunk is parsed where it lies: part data is handed out as memoryview
  slices of the caller's chunk (no copy), positions move by offset, and a
  chunk holding a thousand parts is walked once.
* Only what cannot be decided yet is kept between feeds, in one
  ``bytearray`` (the *tail*): in BODY the last ``len(LF--boundary)`` bytes,
  in HEADERS the unfinished header block (at most ``max_header_bytes``), in
  PREAMBLE the preamble (at most ``max_preamble_bytes``). Appending to it is
  amortised O(1) per byte, so feeding one byte at a time stays linear.
* When a tail exists, the next chunk is not joined to it whole: only a
  *window* of the chunk (as many bytes as the current state can need to
  decide, e.g. a delimiter line's length in BODY) is appended, the handlers
  run there, and as soon as the old bytes are consumed parsing moves on to
  the chunk itself. Data cut from the window is copied (at most a window's
  worth), so events never pin the reader's buffer or an earlier chunk.
* Every search resumes where the previous one stopped (``_scan``, an
  absolute offset) and is bounded by its limit: a header block is searched
  for its blank line only up to ``max_header_bytes``.

Memory held is therefore the tail — bounded by the delimiter length, one
header block or the preamble limit — never a part's body.

Strict where data could be lost: input ending before the close delimiter
raises :class:`TruncatedMessage`; a boundary that never appears raises
:class:`NoBoundary`; a "preamble" that is really a headerless first part
(headers, blank line, content, then the first delimiter) raises
:class:`MalformedMime` instead of dropping that part.
"""

from __future__ import annotations

import copy
import re

from .errors import (
    LimitExceeded,
    MalformedMime,
    MtomError,
    NoBoundary,
    TruncatedMessage,
    UsageError,
    quoted,
)
from .events import Event, MessageEnd, PartData, PartEnd, PartStart
from .headers import parse_header_block
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["MultipartReader"]

_PREAMBLE, _HEADERS, _BODY, _EPILOGUE = 0, 1, 2, 3
_LF, _CR = 0x0A, 0x0D
_PADDING = re.compile(rb"[ \t]*")
_BLANK_LINE = re.compile(rb"\n\r?\n")
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

Buffer = bytes | bytearray


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

    Total work is linear in the bytes fed, for any chunking, and the events
    are the same whatever the chunking, up to how ``PartData`` is cut. Every
    error is raised from :meth:`feed`, is an :class:`~mtom.MtomError`, and is
    raised again (an equal copy, without the first traceback) by every later
    call. A call that completed events before hitting an error returns them
    and leaves the error to the next call (``feed(b"")`` at the latest), so
    the events before an error never depend on the chunking either.
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
            raise UsageError(f"unusable multipart boundary {quoted(b)}; a boundary is 1-70 "
                             "characters without line breaks (use headers.require_multipart "
                             "to check one a peer sent)")
        self.boundary = b
        self.limits = limits
        self._dash = b"--" + b
        self._needle = b"\n--" + b
        self._hold = len(self._needle)
        # How many bytes of a new chunk a state can need to decide on its tail.
        self._window = {
            _PREAMBLE: limits.max_preamble_bytes + len(_BOM) + self._hold + _MAX_PADDING + 4,
            _HEADERS: limits.max_header_bytes + 4,
            _BODY: self._hold + _MAX_PADDING + 4,
        }
        self._tail = bytearray()  # bytes fed but not consumed (bounded, see module doc)
        self._tail_base = 0  # absolute offset of self._tail[0]
        self._base = 0  # absolute offset of index 0 of the buffer being parsed
        self._scan = 0  # absolute offset where the next search resumes
        self._first_checked = False  # PREAMBLE: the delimiter at offset 0 was ruled out
        self._owned = False  # the buffer being parsed is self._tail: copy data out of it
        self._skip = False  # BODY: the byte at the position is the header block's final LF
        self._state = _PREAMBLE
        self._part = -1
        self._part_size = 0
        self._total = 0
        self._eof = False
        self._error: MtomError | None = None

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
                if self._state != _EPILOGUE:
                    self._parse_tail(events)
                    if self._state != _EPILOGUE:
                        self._fail_at_eof()
                return events
            start = self._total
            self._total += len(data)
            if self._total > self.limits.max_total_size:
                raise LimitExceeded(
                    f"message body exceeds max_total_size={self.limits.max_total_size} bytes",
                    limit="max_total_size", value=self.limits.max_total_size,
                    part=self._part if self._part >= 0 else None, offset=self._total,
                )
            if self._state == _EPILOGUE:
                return events
            if not isinstance(data, bytes):
                data = bytes(data)  # never keep views of a caller's mutable buffer
            pos = 0
            if self._tail:
                pos = self._feed_window(data, events)
                if pos < 0:
                    return events  # the whole chunk joined the tail
            self._base, self._owned = start, False
            pos = self._run(data, pos, events)
            if self._state != _EPILOGUE and pos < len(data):
                self._tail_base = start + pos
                self._tail += memoryview(data)[pos:]
        except MtomError as exc:
            # Keep a traceback-free copy: the raised one references this frame, and
            # so this reader, and would keep everything in it alive in a cycle.
            self._error = copy.copy(exc)
            self._tail = bytearray()
            if events and not self._eof:
                # The events before the error come first, so that what the caller
                # does with them (decoding a part, say) happens in the same order
                # for every chunking; the error is raised by the next call.
                return events
            raise
        return events

    # -- the two buffers ----------------------------------------------------

    def _feed_window(self, data: bytes, events: list[Event]) -> int:
        """Parse the tail plus a window of ``data``.

        Returns the position in ``data`` where parsing goes on, or -1 when all
        of ``data`` joined the tail (the state still needs more bytes).
        """
        tail = self._tail
        old = len(tail)
        taken = min(len(data), self._window[self._state])
        tail += memoryview(data)[:taken]
        pos = self._parse_tail(events)
        if pos < old and taken < len(data):
            # The window was not enough (a state change inside it): take the rest too.
            tail += memoryview(data)[taken:]
            pos = self._parse_tail(events, pos)
        if pos >= old or self._state == _EPILOGUE:
            self._tail = bytearray()
            return min(pos - old, len(data)) if self._state != _EPILOGUE else len(data)
        del tail[:pos]
        self._tail_base += pos
        return -1

    def _parse_tail(self, events: list[Event], pos: int = 0) -> int:
        """Run the handlers over the tail from ``pos``; return the position reached."""
        self._base, self._owned = self._tail_base, True
        pos = self._run(self._tail, pos, events)
        if self._eof:
            self._tail = bytearray()
        return pos

    def _run(self, buf: Buffer, pos: int, events: list[Event]) -> int:
        """Run state handlers from ``pos`` until one needs more input."""
        while True:
            state = self._state
            if state == _BODY:
                new = self._body(buf, pos, events)
            elif state == _HEADERS:
                new = self._headers(buf, pos, events)
            elif state == _PREAMBLE:
                new = self._preamble(buf, pos, events)
            else:
                return len(buf)
            if new < 0:
                return ~new  # stalled there
            pos = new

    def _emit(self, events: list[Event], buf: Buffer, start: int, end: int) -> None:
        if end > start:
            self._part_size += end - start
            if self._owned:
                with memoryview(buf) as whole:
                    view = memoryview(whole[start:end].tobytes())
            else:
                view = memoryview(buf)[start:end]
            events.append(PartData(self._part, view))

    def _classify(self, buf: Buffer, i: int) -> tuple[int, int]:
        """Look at ``buf[i:]``, just after ``LF--boundary``: what kind of line is it?

        Returns ``(kind, end)`` where ``end`` is the index after the line end.
        """
        n = len(buf)
        close = False
        if i + 1 < n and buf[i] == _CR and buf[i + 1] == _LF:
            return _NEXT, i + 2  # the usual delimiter line: no padding
        if i < n and buf[i] == 0x2D:  # '-'
            if i + 1 >= n:
                return (_NEED, 0) if not self._eof else (_NO, 0)
            if buf[i + 1] != 0x2D:
                return _NO, 0
            close = True
            i += 2
        m = _PADDING.match(buf, i, i + _MAX_PADDING + 1)
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

    def _start_next(self, kind: int, end: int, events: list[Event]) -> int:
        self._scan = self._base + end
        if kind == _CLOSE:
            self._state = _EPILOGUE
            events.append(MessageEnd(self._part + 1))
        else:
            self._state = _HEADERS
        return end

    def _fail_at_eof(self) -> None:
        b = self.boundary.decode("latin-1")
        if self._state == _PREAMBLE:
            raise NoBoundary(
                f"the boundary {quoted(b)} declared in the Content-Type never appears in the "
                f"body ({self._total} bytes); the peer must start each part with a line "
                f"'--{quoted(b, quotes=False)}'",
                offset=self._total,
            )
        in_headers = self._state == _HEADERS
        part = self._part + 1 if in_headers else self._part  # headers of the next part
        where = "the headers of" if in_headers else "the body of"
        raise TruncatedMessage(
            f"the message ends inside {where} part {part} after {self._total} bytes, "
            f"without the close delimiter '--{quoted(b, quotes=False)}--'; "
            "the part would be incomplete",
            part=part, offset=self._total,
        )

    # -- state handlers: return the new position, or ~position to stall there ----

    def _preamble(self, buf: Buffer, pos: int, events: list[Event]) -> int:
        # The preamble is never consumed before the first delimiter: pos is 0 and
        # buf[0] is the first byte of the body.
        if not self._first_checked:
            # The first delimiter may sit at offset 0, without a line end before it;
            # a UTF-8 BOM glued to it (WebLogic) is tolerated.
            for lead in (self._dash, _BOM + self._dash):
                if buf.startswith(lead):
                    kind, end = self._classify(buf, len(lead))
                    if kind == _NEED:
                        return ~pos
                    if kind != _NO:
                        self._first_checked = True
                        return self._start_next(kind, end, events)
                    break
                if len(buf) < len(lead) and lead.startswith(buf) and not self._eof:
                    return ~pos  # too short to tell yet
            self._first_checked = True
        p = buf.find(self._needle, max(0, self._scan - self._base))
        while p >= 0:
            kind, end = self._classify(buf, p + self._hold)
            if kind == _NEED:
                self._scan = self._base + p
                return ~pos
            if kind != _NO:
                if p > self.limits.max_preamble_bytes:
                    self._preamble_limit(p)  # first: a feeding that stalls earlier says so too
                preamble = bytes(buf[:p])
                if _is_headerless_part(preamble):
                    raise MalformedMime(
                        f"no opening delimiter: the {len(preamble)} bytes before the first "
                        f"'--{quoted(self.boundary, quotes=False)}' line are a MIME part "
                        "(headers, a blank line, content); the peer must begin every part, "
                        "the first one too, with a delimiter line",
                        part=0, offset=0,
                    )
                return self._start_next(kind, end, events)
            p = buf.find(self._needle, p + 1)
        # Everything but a possible partial delimiter at the end is preamble by now.
        if len(buf) - self._hold > self.limits.max_preamble_bytes:
            self._preamble_limit(len(buf))
        self._scan = self._base + max(0, len(buf) - self._hold + 1)
        return ~pos

    def _preamble_limit(self, size: int) -> None:
        raise LimitExceeded(
            f"no '--{quoted(self.boundary, quotes=False)}' delimiter within the first "
            f"{self.limits.max_preamble_bytes} bytes (max_preamble_bytes); the boundary "
            "in the Content-Type does not match the body",
            limit="max_preamble_bytes", value=self.limits.max_preamble_bytes,
            offset=self._base + size,
        )

    def _headers(self, buf: Buffer, pos: int, events: list[Event]) -> int:
        n = len(buf)
        if pos >= n:
            return ~pos
        first = buf[pos]
        if first == _LF:
            lf = pos  # no headers: the blank line comes first
        elif first == _CR and pos + 1 >= n:
            return ~pos
        elif first == _CR and buf[pos + 1] == _LF:
            lf = pos + 1
        else:
            limit = self.limits.max_header_bytes
            start = max(pos, self._scan - self._base)
            m = _BLANK_LINE.search(buf, start, min(n, pos + limit + 3))
            if m is None:
                if n - pos > limit:
                    self._header_limit(n - pos)
                self._scan = self._base + max(pos, n - 2)
                return ~pos
            lf = m.end() - 1
        if lf - pos > self.limits.max_header_bytes:
            self._header_limit(lf - pos)
        self._part += 1
        offset = self._base + pos
        if self._part >= self.limits.max_parts:
            raise LimitExceeded(
                f"more than max_parts={self.limits.max_parts} parts in the message",
                limit="max_parts", value=self.limits.max_parts, part=self._part, offset=offset,
            )
        headers = parse_header_block(bytes(buf[pos:lf]), part=self._part, offset=offset)
        events.append(PartStart(self._part, headers, offset))
        # The blank line's LF is kept: it may be the LF that begins the first
        # delimiter when the body is empty. It is not part of the body.
        self._skip = True
        self._part_size = 0
        self._scan = self._base + lf
        self._state = _BODY
        return lf

    def _header_limit(self, size: int) -> None:
        raise LimitExceeded(
            f"header block of part {self._part + 1} exceeds max_header_bytes="
            f"{self.limits.max_header_bytes} (no blank line ending it within that many bytes)",
            limit="max_header_bytes", value=self.limits.max_header_bytes,
            part=self._part + 1, offset=self._base + size,
        )

    def _body(self, buf: Buffer, pos: int, events: list[Event]) -> int:
        data_start = pos + 1 if self._skip else pos
        needle = self._needle
        p = buf.find(needle, max(pos, self._scan - self._base))
        while p >= 0:
            kind, end = self._classify(buf, p + self._hold)
            if kind == _NO:
                p = buf.find(needle, p + 1)
                continue
            data_end = p - 1 if p - 1 >= data_start and buf[p - 1] == _CR else p
            data_end = max(data_end, data_start)
            if kind == _NEED:
                self._scan = self._base + p
                if p < data_start:
                    return ~pos  # the candidate begins with the skipped LF: keep it
                self._emit(events, buf, data_start, data_end)
                self._skip = False
                return ~data_end
            self._emit(events, buf, data_start, data_end)
            events.append(PartEnd(self._part, self._part_size))
            self._skip = False
            return self._start_next(kind, end, events)
        n = len(buf)
        keep = n if self._eof else n - self._hold
        self._scan = self._base + max(pos, n - self._hold + 1)
        if keep <= data_start:
            return ~pos  # too little to tell: keep it all (and the skipped LF)
        self._emit(events, buf, data_start, keep)
        self._skip = False
        return ~keep
