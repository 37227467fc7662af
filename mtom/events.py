"""Events produced by :class:`mtom.reader.MultipartReader`.

Small frozen dataclasses, in stream order: for every part one
:class:`PartStart`, zero or more :class:`PartData`, one :class:`PartEnd`;
then one :class:`MessageEnd`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .headers import ContentType, Headers, normalize_content_id, parse_content_type

__all__ = ["Event", "MessageEnd", "PartData", "PartEnd", "PartStart"]


@dataclass(frozen=True, slots=True)
class PartStart:
    """A part's header block was read.

    Attributes:
        index: 0-based position of the part in the message.
        headers: the part's MIME headers (case-insensitive).
        offset: byte offset of the header block in the message body.
    """

    index: int
    headers: Headers
    offset: int

    @property
    def content_id(self) -> str | None:
        """The normalised Content-ID (no angle brackets), or ``None``."""
        raw = self.headers.get("content-id")
        return normalize_content_id(raw) if raw is not None else None

    @property
    def content_type(self) -> ContentType:
        """The parsed Content-Type; RFC 2045's default ``text/plain`` when absent."""
        raw = self.headers.get("content-type")
        if raw is None:
            return ContentType("text/plain", {"charset": "us-ascii"})
        return parse_content_type(raw)

    @property
    def transfer_encoding(self) -> str:
        """The Content-Transfer-Encoding in lower case (``"binary"`` when absent)."""
        return self.headers.get("content-transfer-encoding", "binary").strip().lower()


@dataclass(frozen=True, slots=True)
class PartData:
    """A slice of a part's body, *before* transfer decoding.

    ``data`` is a read-only memoryview over bytes the reader was fed (no
    copy is made); it stays valid for as long as it is referenced.
    """

    index: int
    data: memoryview


@dataclass(frozen=True, slots=True)
class PartEnd:
    """A part's body ended; ``size`` is its length in bytes as transmitted."""

    index: int
    size: int


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """The close delimiter was read; ``parts`` is the number of parts."""

    parts: int


Event = PartStart | PartData | PartEnd | MessageEnd
