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


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Every byte outside the base64 alphabet (incl. '='): ignored, as RFC 2045 says.
_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)


class Base64Decoder:
    """RFC 2045 base64, fed in any chunking.

    Characters outside the alphabet (line breaks, spaces, junk) are ignored,
    as RFC 2045 section 6.8 says, *before* the text is cut into 4-character
    quanta, so the result never depends on where chunks were split. Text after
    ``=`` padding starts a new run (some encoders concatenate encoded blocks);
    it is decoded, never dropped.
    """

    def __init__(self, part: int | None = None):
        self._rest = b""
        self._part = part

    def decode(self, chunk: memoryview | bytes) -> bytes:
        text = self._rest + bytes(chunk).translate(None, _NOT_B64)
        usable = len(text) - len(text) % 4
        self._rest = text[usable:]
        return self._a2b(text[:usable])

    def _a2b(self, text: bytes) -> bytes:
        if not text:
            return b""
        if b"=" not in text:
            return self._one(text)
        out: list[bytes] = []
        i, n = 0, len(text)
        while i < n:
            while i < n and text[i] == 0x3D:  # stray '=' between padded runs
                i += 1
            j = text.find(b"=", i)
            # Up to the end, or to the end of the quantum that holds the '='.
            end = n if j < 0 else min(n, i + ((j - i) // 4 + 1) * 4)
            if end > i:
                out.append(self._one(text[i:end]))
            i = end
        return b"".join(out)

    def _one(self, text: bytes) -> bytes:
        if len(text) % 4:
            text += b"=" * (-len(text) % 4)
        try:
            return binascii.a2b_base64(text)
        except binascii.Error as exc:
            raise MalformedMime(f"invalid base64 in a part declared "
                                f"Content-Transfer-Encoding: base64: {exc}", part=self._part
                                ) from exc

    def finish(self) -> bytes:
        rest, self._rest = self._rest.lstrip(b"="), b""
        if len(rest) % 4 == 1:
            raise MalformedMime("base64 part ends with a lone character (incomplete quantum)",
                                part=self._part)
        # Missing '=' padding is common; add it rather than drop the last bytes.
        return self._a2b(rest)


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
