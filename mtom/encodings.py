"""Incremental Content-Transfer-Encoding decoders and encoders.

Strategy: a decoder takes chunks of a part's transmitted bytes and returns
decoded bytes, holding back only what cannot be decoded yet (an incomplete
base64 quantum, an unfinished quoted-printable line). ``binary``, ``8bit``
and ``7bit`` pass bytes through untouched — a binary part is never altered,
not even at its edges.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from typing import Protocol

from .errors import MalformedMime

__all__ = [
    "KNOWN_ENCODINGS",
    "Base64Decoder",
    "Decoder",
    "IdentityDecoder",
    "QuotedPrintableDecoder",
    "decode_base64",
    "decoder_for",
]

KNOWN_ENCODINGS = frozenset({"binary", "8bit", "7bit", "base64", "quoted-printable"})
_WHITESPACE = b" \t\r\n\x0b\x0c"
_XML_WHITESPACE = b" \t\r\n"


def decode_base64(text: str | bytes | None) -> bytes:
    """Decode an inline ``xs:base64Binary`` value, strictly (``None`` or empty: ``b""``).

    XML white space anywhere is dropped; any other character outside the
    base64 alphabet, bad padding or data after the padding is an error — a
    lenient decoder would skip it and hand over a silently altered value
    (``"QQ==QQ=="`` is one byte to :func:`binascii.a2b_base64`).

    Raises:
        ValueError: the text is not base64 (:class:`binascii.Error` says why;
            :class:`UnicodeEncodeError` for a non-ASCII character).
    """
    if not text:
        return b""
    raw = (text.encode("ascii") if isinstance(text, str) else text).translate(
        None, _XML_WHITESPACE)
    if sys.version_info >= (3, 11):
        return binascii.a2b_base64(raw, strict_mode=True)
    return base64.b64decode(raw, validate=True)  # pragma: no cover - Python 3.10


class Decoder(Protocol):
    def decode(self, chunk: memoryview | bytes) -> memoryview | bytes:
        """Decode one chunk; may return fewer bytes and keep the rest."""

    def finish(self) -> bytes:
        """Decode what was held back; raises :class:`MalformedMime` if it cannot be."""


class IdentityDecoder:
    """``binary``/``8bit``/``7bit``: bytes pass through unchanged (and uncopied)."""

    def decode(self, chunk: memoryview | bytes) -> memoryview | bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Every byte outside the base64 alphabet (incl. '='): ignored, as RFC 2045 says.
_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)


class Base64Decoder:
    """RFC 2045 base64, fed in any chunking, decoded the same for every chunking.

    Characters outside the alphabet (line breaks, spaces, junk) are ignored,
    as RFC 2045 section 6.8 says. What remains is read as *runs* of base64
    characters separated by groups of ``=`` padding. A padding group must
    close a run whose last quantum is short (2 or 3 characters): then the run
    decodes on its own and the text after the group starts a new run, so
    blocks that encoders concatenate (``QQ==QkI=``) decode to both values,
    whatever the length of the ``=`` group between them. Padding after a
    complete quantum or at the very start, and a run that leaves one
    character over, are refused. Every rule depends on the text alone, never
    on where chunks were cut.

    Held back between chunks: at most 3 characters of an unfinished quantum.
    """

    def __init__(self, part: int | None = None):
        self._rest = b""  # < 4 trailing characters of the run in progress (no '=')
        self._in_run = False  # the run in progress has at least one character
        self._in_padding = False  # the text so far ends in a group of '='
        self._part = part

    def decode(self, chunk: memoryview | bytes) -> bytes:
        text = bytes(chunk).translate(None, _NOT_B64)
        if not text:
            return b""
        first = text.find(b"=")
        if first < 0:
            self._in_run, self._in_padding = True, False
            return self._extend(text)
        out = []
        head = text[:first]
        if head or not self._in_padding:  # this '=' closes the run in progress
            out.append(self._close(self._rest + head, self._in_run or bool(head)))
        last = text.rfind(b"=")
        # Between the first and the last '=': complete runs, each closed by padding.
        out.extend(self._close(run, True) for run in text[first + 1:last].split(b"=") if run)
        self._rest = b""
        tail = text[last + 1:]
        self._in_run = self._in_padding = False
        if tail:
            self._in_run = True
            out.append(self._extend(tail))
        else:
            self._in_padding = True
        return b"".join(out)

    def _extend(self, text: bytes) -> bytes:
        """Add characters to the run in progress; decode its complete quanta."""
        if self._rest:
            text = self._rest + text
        usable = len(text) - len(text) % 4
        self._rest = text[usable:]
        return self._a2b(text[:usable]) if usable else b""

    def _close(self, rest: bytes, in_run: bool) -> bytes:
        """End the run in progress (``rest``: its undecoded characters) with padding."""
        if not in_run or len(rest) % 4 in (0, 1):
            what = ("padding '=' with no data before it" if not in_run else
                    "padding '=' after a complete quantum" if len(rest) % 4 == 0 else
                    "a run of base64 characters that leaves one character over")
            raise MalformedMime(f"invalid base64: {what}; the peer must send complete, "
                                "correctly padded base64", part=self._part)
        return self._a2b(rest + b"=" * (-len(rest) % 4))

    def _a2b(self, text: bytes) -> bytes:
        try:
            return binascii.a2b_base64(text)
        except binascii.Error as exc:  # pragma: no cover - the alphabet is filtered
            raise MalformedMime(f"invalid base64 in a part declared "
                                f"Content-Transfer-Encoding: base64: {exc}", part=self._part
                                ) from exc

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        if self._in_padding or not rest:
            return b""
        # Missing '=' padding is common: add it rather than drop the last bytes.
        return self._close(rest, True)


_HEX = frozenset(b"0123456789ABCDEFabcdef")
# An '=' that begins no escape of RFC 2045 6.7 ("=XX" or a soft line break).
_QP_LITERAL = re.compile(rb"=(?![0-9A-Fa-f]{2}|\r?\n)")


class QuotedPrintableDecoder:
    """RFC 2045 quoted-printable, fed in any chunking, decoded the same for every one.

    ``=XX`` (two hex digits, either case) is a byte, ``=`` before a line end
    is a soft line break, and every other ``=`` is kept as a literal ``=``
    (RFC 2045 6.7's advice for malformed text); all other bytes, trailing
    white space included, pass unchanged. A final ``=`` (or ``=CR``) ends the
    text as a soft break. Held back between chunks: at most the two bytes of
    one unfinished escape — never a line.
    """

    def __init__(self) -> None:
        self._rest = b""

    def decode(self, chunk: memoryview | bytes) -> bytes:
        text = self._rest + chunk if self._rest else bytes(chunk)
        n = cut = len(text)
        # An '=' in the last two bytes may begin an escape the next chunk completes.
        if n >= 2 and text[-2] == 0x3D and (text[-1] in _HEX or text[-1] == 0x0D):
            cut -= 2
        elif n >= 1 and text[-1] == 0x3D:
            cut -= 1
        self._rest = text[cut:]
        return self._decode(text if cut == n else text[:cut])

    @staticmethod
    def _decode(text: bytes) -> bytes:
        """Decode a piece that ends on an escape boundary."""
        if b"=" not in text:
            return text
        # binascii.a2b_qp reads escapes as the rule above does unless the text has
        # "==", a "=CR" without LF, or ends in '=' (each checked by a C scan). Then
        # every '=' that begins no escape is first written as "=3D" (a substitution
        # with a constant: no Python call per escape).
        if (text[-1] == 0x3D or b"==" in text
                or (b"\r" in text and text.count(b"=\r") != text.count(b"=\r\n"))):
            text = _QP_LITERAL.sub(b"=3D", text)
        return binascii.a2b_qp(text)

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        if rest in (b"=", b"=\r"):
            return b""  # a soft line break at the very end
        return self._decode(rest)


def decoder_for(transfer_encoding: str, part: int | None = None) -> Decoder:
    """The decoder for a Content-Transfer-Encoding value (case-insensitive).

    Unknown values (ws.js sends ``undefined``) are treated as ``binary``: the
    bytes are kept exactly as sent, which is the only lossless choice.
    """
    te = transfer_encoding.strip().lower()
    if te == "base64":
        return Base64Decoder(part)
    if te == "quoted-printable":
        return QuotedPrintableDecoder()
    return _IDENTITY


_IDENTITY = IdentityDecoder()  # stateless: one for every binary part
