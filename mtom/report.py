"""What one exchange looked like on the wire: MTOM or plain, parts, bytes, time.

Strategy: an adapter knows, after each exchange, the package it sent (an
:class:`~mtom.OutgoingPackage`, or ``None`` for plain SOAP) and the package it
received (a :class:`~mtom.Package`, or ``None``), plus how many body bytes
went each way. :meth:`MessageStats.outgoing` / :meth:`MessageStats.incoming`
turn each side into a few integers — sizes only, never content, no reference
to a part or a file — and :class:`WireReport` pairs them with the elapsed
time. :meth:`WireReport.summary` is the one log line every adapter writes.

"Inline" is what the same message would have taken as plain SOAP with every
part written into the envelope as base64 text: the root plus the base64
length of each part (an estimate within a few dozen bytes per part: the
``xop:Include`` elements are counted instead of nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .package import Package
from .writer import OutgoingPackage

__all__ = ["MessageKind", "MessageStats", "WireReport", "base64_length"]

MessageKind = Literal["mtom", "swa", "plain"]


def base64_length(size: int) -> int:
    """Characters of base64 text (no line breaks) for ``size`` bytes."""
    return (size + 2) // 3 * 4


@dataclass(frozen=True, slots=True)
class MessageStats:
    """One message (a request or a reply) as it went over the wire.

    Attributes:
        kind: ``"mtom"`` (XOP package), ``"swa"`` (multipart without XOP) or
            ``"plain"`` (a SOAP envelope alone).
        parts: MIME parts besides the root (0 for plain SOAP).
        wire_bytes: bytes of the HTTP body (after any content decoding).
        inline_bytes: what the same message would have taken as plain SOAP
            with every part as inline base64 text (``wire_bytes`` for plain).
    """

    kind: MessageKind
    parts: int
    wire_bytes: int
    inline_bytes: int

    @property
    def mtom(self) -> bool:
        """True for an MTOM/XOP package."""
        return self.kind == "mtom"

    @property
    def saved(self) -> int:
        """Bytes the packaging saved against inline base64 (negative: it cost bytes)."""
        return self.inline_bytes - self.wire_bytes

    @classmethod
    def plain(cls, size: int) -> MessageStats:
        """A plain SOAP message of ``size`` bytes."""
        return cls("plain", 0, size, size)

    @classmethod
    def outgoing(cls, package: OutgoingPackage | None, wire_bytes: int) -> MessageStats:
        """A message sent: ``package`` (``None``: plain SOAP), ``wire_bytes`` long.

        A part of unknown size is counted from ``wire_bytes`` (what was
        actually written), so streams of unknown length are reported too.
        """
        if package is None:
            return cls.plain(wire_bytes)
        known = [p.size for p in package.parts if p.size is not None]
        inline = len(package.root) + sum(base64_length(n) for n in known)
        if len(known) < len(package.parts):
            unknown = max(0, wire_bytes - package.framing_length - sum(known))
            inline += base64_length(unknown)
        kind: MessageKind = ("mtom" if package.root_content_type.startswith("application/xop+xml")
                             else "swa")
        return cls(kind, len(package.parts), wire_bytes, inline)

    @classmethod
    def incoming(cls, package: Package | None, wire_bytes: int) -> MessageStats:
        """A message received: ``package`` (``None``: plain SOAP), ``wire_bytes`` long."""
        if package is None:
            return cls.plain(wire_bytes)
        inline = package.root.size + sum(base64_length(a.size) for a in package.attachments)
        return cls("mtom" if package.is_xop else "swa", len(package.attachments), wire_bytes,
                   inline)

    def describe(self) -> str:
        """``"MTOM, 2 parts, 5000123 bytes (inline base64: 6666789)"``."""
        if self.kind == "plain":
            return f"plain, {self.wire_bytes} bytes"
        kind = "MTOM" if self.kind == "mtom" else "SwA"
        return (f"{kind}, {self.parts} part{'s' if self.parts != 1 else ''}, "
                f"{self.wire_bytes} bytes (inline base64: {self.inline_bytes})")


@dataclass(frozen=True, slots=True)
class WireReport:
    """One exchange: the message sent, the message received, and how long it took.

    A client sends the request and receives the reply; a server receives the
    request and sends the reply. Sizes only: a report holds no content and
    keeps no part, file or connection alive.

    Attributes:
        sent: the message this side sent.
        received: the message this side received (``None`` when none was read).
        seconds: wall time of the exchange.
    """

    sent: MessageStats
    received: MessageStats | None
    seconds: float

    @property
    def mtom(self) -> bool:
        """True when either message was an MTOM/XOP package."""
        return self.sent.mtom or (self.received is not None and self.received.mtom)

    @property
    def wire_bytes(self) -> int:
        """Body bytes both ways."""
        return self.sent.wire_bytes + (self.received.wire_bytes if self.received else 0)

    @property
    def inline_bytes(self) -> int:
        """What both bodies would have taken as plain SOAP with inline base64."""
        return self.sent.inline_bytes + (self.received.inline_bytes if self.received else 0)

    def summary(self) -> str:
        """The one-line description adapters log (sizes and time, never content)."""
        received = self.received.describe() if self.received is not None else "nothing"
        return f"sent {self.sent.describe()}; received {received}; {self.seconds:.3f} s"
