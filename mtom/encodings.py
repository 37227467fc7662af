"""Incremental Content-Transfer-Encoding decoders and encoders.

Strategy: a decoder takes chunks of a part's transmitted bytes and returns
decoded bytes, holding back only what cannot be decoded yet (an incomplete
base64 quantum, an unfinished quoted-printable line). ``binary``, ``8bit``
and ``7bit`` pass bytes through untouched — a binary part is never altered,
not even at its edges.
"""

from __future__ import annotations

import binascii
from typing import Protocol

from .errors import MalformedMime

__all__ = [
    "KNOWN_ENCODINGS",
    "Base64Decoder",
    "Decoder",
    "IdentityDecoder",
    "QuotedPrintableDecoder",
    "decoder_for",
]

KNOWN_ENCODINGS = frozenset({"binary", "8bit", "7bit", "base64", "quoted-printable"})
_WHITESPACE = b" \t\r\n\x0b\x0c"


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


class Base64Decoder:
    """RFC 2045 base64: white space and line breaks ignored, 4-character quanta."""

    def __init__(self, part: int | None = None):
        self._rest = b""
        self._part = part

    def decode(self, chunk: memoryview | bytes) -> bytes:
        text = self._rest + bytes(chunk).translate(None, _WHITESPACE)
        usable = len(text) - len(text) % 4
        self._rest = text[usable:]
        return self._a2b(text[:usable])

    def _a2b(self, text: bytes) -> bytes:
        if not text:
            return b""
        try:
            return binascii.a2b_base64(text)
        except binascii.Error as exc:
            raise MalformedMime(f"invalid base64 in a part declared "
                                f"Content-Transfer-Encoding: base64: {exc}", part=self._part
                                ) from exc

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        if len(rest) == 1:
            raise MalformedMime("base64 part ends with a lone character (incomplete quantum)",
                                part=self._part)
        # Missing '=' padding is common; add it rather than drop the last bytes.
        return self._a2b(rest + b"=" * (-len(rest) % 4))


class QuotedPrintableDecoder:
    """RFC 2045 quoted-printable, decoded a complete line at a time."""

    def __init__(self) -> None:
        self._rest = b""

    def decode(self, chunk: memoryview | bytes) -> bytes:
        text = self._rest + bytes(chunk)
        cut = text.rfind(b"\n") + 1
        self._rest = text[cut:]
        return binascii.a2b_qp(text[:cut]) if cut else b""

    def finish(self) -> bytes:
        rest, self._rest = self._rest, b""
        return binascii.a2b_qp(rest) if rest else b""


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
    return IdentityDecoder()
