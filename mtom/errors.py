"""The error family of the codec.

Strategy: every failure the core can report is an :class:`MtomError`. Two
branches mirror h11's split between "the peer sent junk" and "you misused the
API":

* :class:`ProtocolError` and its children — the *peer* is at fault. They carry
  ``fault_role = "Sender"`` so a server adapter answers with a ``soap:Client`` /
  ``env:Sender`` fault; a client adapter raises them to the user unchanged.
* :class:`UsageError` — the calling code is at fault (``Receiver`` role).

Each error knows where it happened (``part`` index, ``offset`` in the message
body) when that is known, and says what the peer should have sent.
"""

from __future__ import annotations

import re
from typing import Literal

FaultRole = Literal["Sender", "Receiver"]

__all__ = [
    "AmbiguousReference",
    "DanglingInclude",
    "DimeNotSupported",
    "FaultRole",
    "InvalidInclude",
    "LimitExceeded",
    "MalformedMime",
    "MalformedXop",
    "MtomError",
    "NoBoundary",
    "NotMultipart",
    "ProtocolError",
    "RootPartError",
    "TruncatedMessage",
    "UnsupportedMediaType",
    "UsageError",
    "UsageWarning",
    "quoted",
]

#: Longest piece of peer text quoted in a message, and longest message.
QUOTE_LIMIT = 120
MESSAGE_LIMIT = 2000
# Characters that must never reach a log line or a SOAP Fault: C0/C1 controls,
# DEL, lone surrogates, and the non-characters XML 1.0 forbids.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character, lone surrogate and XML-forbidden
    character written as a backslash escape (``\\x0a``, ``\\udc80``)."""
    return _UNSAFE.sub(_escape, text)


def quoted(value: str | bytes, *, limit: int = QUOTE_LIMIT, quotes: bool = True) -> str:
    """Peer-controlled text (a Content-ID, an href, a header) made safe to quote.

    Bytes are shown as Latin-1; the text is cut to ``limit`` characters (the
    cut says how much was left out) and escaped with :func:`printable`, so an
    error message stays short, printable and writable into any SOAP Fault.
    """
    text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else value
    more = ""
    if len(text) > limit:
        more = f"... ({len(text) - limit} more characters)"
        text = text[:limit]
    text = printable(text).replace("'", "\\'") if quotes else printable(text)
    return f"'{text}'{more}" if quotes else text + more


class MtomError(Exception):
    """Base class of every error raised by :mod:`mtom`.

    Attributes:
        message: the human-readable explanation (also ``str(error)``).
        part: 0-based index of the MIME part concerned, or ``None``.
        offset: byte offset in the message body where the problem was seen,
            or ``None``.
        fault_role: ``"Sender"`` when the peer sent bad data, ``"Receiver"``
            when the local side failed.
    """

    fault_role: FaultRole = "Receiver"

    def __init__(self, message: str, *, part: int | None = None, offset: int | None = None):
        # A safety net under quoted(): whatever text a message carries, it stays
        # printable and bounded, so every adapter can always write its fault.
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + f"... ({len(message) - MESSAGE_LIMIT} more)"
        self.message = printable(message)
        self.part = part
        self.offset = offset
        super().__init__(self._render())

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take keyword-only arguments that Exception's default pickling
        # does not pass back; rebuild from the instance dictionary instead.
        return (_rebuild, (type(self), str(self), self.__dict__.copy()))

    def _render(self) -> str:
        where = []
        if self.part is not None:
            where.append(f"part {self.part}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    @property
    def soap11_fault_code(self) -> str:
        """``"Client"`` or ``"Server"``: the local name of the SOAP 1.1 faultcode."""
        return "Client" if self.fault_role == "Sender" else "Server"

    @property
    def soap12_fault_code(self) -> str:
        """``"Sender"`` or ``"Receiver"``: the local name of the SOAP 1.2 Code/Value."""
        return self.fault_role

    def http_status(self, soap_version: str = "1.1") -> int:
        """The HTTP status a server should answer this error with.

        SOAP 1.1 (SOAP 1.1 section 6.2) sends every fault with 500. The SOAP
        1.2 HTTP binding (Part 2, table 20) maps ``env:Sender`` to 400 and
        everything else to 500.
        """
        if soap_version == "1.2" and self.fault_role == "Sender":
            return 400
        return 500


def _rebuild(cls: type[MtomError], rendered: str, state: dict[str, object]) -> MtomError:
    error = cls.__new__(cls)
    Exception.__init__(error, rendered)
    error.__dict__.update(state)
    return error


class UsageError(MtomError, ValueError):
    """The API was called wrongly (bad argument, wrong order of calls)."""

    fault_role: FaultRole = "Receiver"


class UsageWarning(UserWarning):
    """The API was called in a way that works but is probably not what was meant."""


class ProtocolError(MtomError):
    """The peer's message is not acceptable."""

    fault_role: FaultRole = "Sender"


class MalformedMime(ProtocolError):
    """The multipart/related framing or a part's MIME headers are malformed."""


class NotMultipart(MalformedMime):
    """The Content-Type is not ``multipart/related`` (nor another multipart type)."""


class UnsupportedMediaType(NotMultipart):
    """A message's media type is one the reader does not take (a server answers HTTP 415).

    Raised for a plain request to a server that requires MTOM (WCF's
    ``serverMode="always"``), naming the media type to send; its kind
    :class:`DimeNotSupported` for DIME, by servers and clients alike.
    """

    def http_status(self, soap_version: str = "1.1") -> int:
        return 415


class DimeNotSupported(UnsupportedMediaType):
    """The peer sent DIME (``application/dime``, Microsoft WSE 1/2, Apache Axis 1).

    DIME is a binary framing that MTOM replaced; a server answers it with
    HTTP 415 Unsupported Media Type.
    """


class NoBoundary(MalformedMime):
    """No usable boundary: missing from Content-Type, or never seen in the body."""


class TruncatedMessage(MalformedMime):
    """The body ended before the close delimiter: data would have been lost."""


class RootPartError(ProtocolError):
    """The root part is missing or is not an XML document."""


class MalformedXop(ProtocolError):
    """An ``xop:Include`` breaks the XOP rules."""


class DanglingInclude(MalformedXop):
    """An ``xop:Include`` or ``cid:`` reference names a part that is not in the package."""

    def __init__(self, message: str, *, href: str, part: int | None = None,
                 offset: int | None = None):
        self.href = href
        super().__init__(message, part=part, offset=offset)


class AmbiguousReference(MalformedXop):
    """A ``cid:`` reference (xop:Include or SwA) matches more than one part.

    Refused rather than resolved to the first match: two parts with one
    Content-ID are also a way to slip an unsigned part past a signature check.
    """

    def __init__(self, message: str, *, href: str, part: int | None = None,
                 offset: int | None = None):
        self.href = href
        super().__init__(message, part=part, offset=offset)


class InvalidInclude(MalformedXop):
    """An ``xop:Include`` element is malformed (href not ``cid:``, children, no href)."""


class LimitExceeded(ProtocolError):
    """A configured limit was exceeded (see :class:`mtom.Limits`).

    Attributes:
        limit: the name of the :class:`~mtom.Limits` field that was exceeded.
        value: the configured value of that limit.
    """

    def __init__(self, message: str, *, limit: str, value: int, part: int | None = None,
                 offset: int | None = None):
        self.limit = limit
        self.value = value
        super().__init__(message, part=part, offset=offset)
