"""MIME header facts: Content-Type parameters, header blocks, Content-IDs.

Strategy: everything here works on already-received ``str``/``bytes`` values
and is pure. Parsing is lenient where real stacks differ (unquoted values
with ``/``, trailing ``;``, TABs and folding, mixed-case names, Content-IDs
without angle brackets) and strict where guessing could corrupt data (an
unterminated quoted string, a header line without a colon).

Content-IDs are compared in one normalised form: surrounding white space and
one pair of angle brackets removed. ``cid:`` URLs (RFC 2392) are normalised
by dropping the scheme case-insensitively and %-decoding.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar, overload
from urllib.parse import quote, unquote_to_bytes

from .errors import (
    DimeNotSupported,
    MalformedMime,
    NoBoundary,
    NotMultipart,
    UsageError,
    quoted,
)

__all__ = [
    "ContentType",
    "Headers",
    "cid_href",
    "href_to_content_id",
    "make_boundary",
    "make_content_id",
    "normalize_content_id",
    "parse_content_length",
    "parse_content_type",
    "parse_header_block",
    "validate_boundary",
]

_T = TypeVar("_T")

# RFC 2045 token characters: any CHAR except SPACE, CTLs and tspecials.
_TSPECIALS = set('()<>@,;:\\"/[]?=')
_WS = " \t\r\n"


def _unfold(value: str) -> str:
    """Join folded header lines (CRLF or bare LF followed by SP/HTAB)."""
    return re.sub(r"\r?\n(?=[ \t])", "", value)


@dataclass(frozen=True)
class ContentType:
    """A parsed Content-Type value.

    Attributes:
        media_type: ``type/subtype`` in lower case (``""`` if absent).
        params: parameters with lower-case names and unquoted values.
    """

    media_type: str
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return parameter ``name`` (case-insensitive) or ``default``."""
        return self.params.get(name.lower(), default)

    @property
    def is_multipart(self) -> bool:
        return self.media_type.startswith("multipart/")

    @property
    def boundary(self) -> str | None:
        return self.params.get("boundary")

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    def __str__(self) -> str:
        return format_content_type(self.media_type, self.params)


def _needs_quoting(value: str) -> bool:
    return value == "" or any(c in _TSPECIALS or c <= " " or c >= "\x7f" for c in value)


def quote_param(value: str) -> str:
    """``value`` as an RFC 2045 quoted-string (backslash-escaping ``\\`` and ``"``)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_content_type(media_type: str, params: Mapping[str, str] | Iterable[tuple[str, str]]
                        ) -> str:
    """Serialise a media type and parameters, quoting values that need it."""
    items = params.items() if isinstance(params, Mapping) else params
    out = [media_type]
    for name, value in items:
        if _needs_quoting(value):
            out.append(f"{name}={quote_param(value)}")
        else:
            out.append(f"{name}={value}")
    return "; ".join(out)


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def parse_content_type(value: str | bytes) -> ContentType:
    """Parse a Content-Type header value (the same value is parsed once: cached).

    Quoted strings follow RFC 2045/822 (backslash escapes, ``;`` inside
    quotes). Leniently accepted: unquoted values containing tspecials such as
    ``type=text/xml``, empty parameters from a trailing ``;``, folding and
    TABs, mixed-case media types and parameter names.

    Raises:
        MalformedMime: an unterminated quoted string.
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return _parse_content_type(value)


# A parameter list in the usual shape (what every stack sends): ``; name=token`` or
# ``; name="quoted, no backslash"``, blanks around, at most one trailing ``;``. Such a list
# is read by one regex; anything else (folding, escapes, ``;;``, garbage after a quote,
# names or values outside these characters) takes the general parser below, which gives
# the same result for these lists.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# Every piece of the pattern ends where the next must begin (no two adjacent runs of
# blanks), so a mismatch is found in linear time, however long the value.
_SIMPLE_PARAM = rf'[ \t]*;[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:"([^"\\\r\n]*)"|([^;"\s]*))'
_SIMPLE_PARAMS = re.compile(rf"(?:{_SIMPLE_PARAM})*[ \t]*(?:;[ \t]*)?")
_SIMPLE_PARAM_RE = re.compile(_SIMPLE_PARAM)


def _simple_params(rest: str) -> dict[str, str] | None:
    """The parameters of ``rest`` (from its first ``;``) when in the usual shape, else None."""
    if _SIMPLE_PARAMS.fullmatch(rest) is None:
        return None
    params: dict[str, str] = {}
    for name, quoted_value, token in _SIMPLE_PARAM_RE.findall(rest):
        key = name.lower()
        if key not in params:
            params[key] = quoted_value or token
    return params


@functools.lru_cache(maxsize=256)
def _parse_content_type(value: str) -> ContentType:
    if "\n" not in value:  # no folding: the usual shape has a one-regex path
        text = value.strip(_WS)
        semi = text.find(";")
        if semi >= 0:
            simple = _simple_params(text[semi:])
            if simple is not None:
                return ContentType(text[:semi].strip(_WS).lower(), MappingProxyType(simple))
    text = _unfold(value).strip(_WS)
    i, n = 0, len(text)
    semi = text.find(";")
    media_type = (text if semi < 0 else text[:semi]).strip(_WS).lower()
    params: dict[str, str] = {}
    i = n if semi < 0 else semi + 1
    while i < n:
        while i < n and text[i] in _WS + ";":
            i += 1
        if i >= n:
            break
        # Both searches end at this parameter's ';': a run of parameters without '='
        # costs linear time, never a scan to the far end per parameter.
        semi = text.find(";", i)
        eq = text.find("=", i, semi if semi >= 0 else n)
        if eq < 0:
            # A parameter without a value: skip it, as browsers and mail
            # readers do; it carries nothing we could use.
            i = n if semi < 0 else semi + 1
            continue
        name = text[i:eq].strip(_WS).lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            m = _QUOTED.match(text, i)
            if m is None:
                raise MalformedMime(
                    f"unterminated quoted string in Content-Type parameter {quoted(name)}: "
                    f"{quoted(value)}"
                )
            i = m.end()
            pvalue = m.group(1)
            if "\\" in pvalue:
                pvalue = _QUOTED_PAIR.sub(r"\1", pvalue)
            # Skip anything up to the next ';' (garbage after a closing quote).
            semi = text.find(";", i)
            i = n if semi < 0 else semi + 1
        else:
            semi = text.find(";", i)
            end = n if semi < 0 else semi
            pvalue = text[i:end].strip(_WS)
            i = end + 1
        if name and name not in params:
            params[name] = pvalue
    return ContentType(media_type, MappingProxyType(params))  # read-only: it is shared


class Headers(Mapping[str, str]):
    """Case-insensitive, order-keeping MIME headers of one part.

    ``headers["content-id"]`` returns the first value; :meth:`get_all`
    returns every value of a repeated header. Names keep their original
    spelling in :attr:`raw`.
    """

    __slots__ = ("_index", "raw")

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self.raw: tuple[tuple[str, str], ...] = tuple(items)
        index: dict[str, str] = {}
        for name, value in self.raw:
            index.setdefault(name.lower(), value)
        self._index = index

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    @overload
    def get(self, name: str, default: _T, /) -> str | _T: ...

    def get(self, name: str, default: object = None, /) -> object:
        # One dict lookup (Mapping.get would raise and catch KeyError when absent).
        return self._index.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.raw if k.lower() == key]

    def __repr__(self) -> str:
        return f"Headers({list(self.raw)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self.raw == other.raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.raw)


_HEADER_NAME = re.compile(rb"[!-9;-~]+")
# One well-formed header line: name, optional blanks, colon, value (CR kept out), over
# the block decoded as UTF-8 (names are ASCII by the pattern).
_HEADER_LINES = re.compile(r"^([!-9;-~]+)[ \t]*:([^\r\n]*)\r?$", re.MULTILINE)


def _decode_value(raw: bytes) -> str:
    """Header values are UTF-8 when they decode as such (RFC 6532), else Latin-1.

    UTF-8 first so a non-ASCII Content-ID compares equal to its %-encoded
    UTF-8 ``cid:`` href; Latin-1 as the fallback keeps every byte.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_header_block(block: bytes, *, part: int | None = None, offset: int | None = None
                       ) -> Headers:
    """Parse one part's header block (without the terminating blank line).

    Lines may end in CRLF or bare LF; continuation lines (starting with SP or
    HTAB) are unfolded; header names are matched case-insensitively later.
    Values are decoded as UTF-8 when valid, else Latin-1, and stripped.

    Raises:
        MalformedMime: a line that is neither a header nor a continuation.
    """
    lines = block.split(b"\n")
    if block[:1] not in (b" ", b"\t") and b"\n " not in block and b"\n\t" not in block:
        # No folding (nearly every real block): one decode and one regex pass, used only
        # when the block is UTF-8 and every non-empty line matched; anything else takes
        # the line-by-line path below (which decodes value by value).
        try:
            found = _HEADER_LINES.findall(block.decode("utf-8"))
        except UnicodeDecodeError:
            found = None
        if found is not None and len(found) == (len(lines) - lines.count(b"")
                                                 - lines.count(b"\r")):
            return Headers([(name, value.strip(_WS)) for name, value in found])
    items: list[tuple[str, str]] = []
    for raw_line in lines:
        line = raw_line[:-1] if raw_line.endswith(b"\r") else raw_line
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if not items:
                raise MalformedMime(
                    "part headers start with a continuation line; expected 'Name: value'",
                    part=part, offset=offset,
                )
            name, value = items[-1]
            items[-1] = (name, (value + " " + _decode_value(line).strip(_WS)).strip(_WS))
            continue
        colon = line.find(b":")
        if colon <= 0 or not _HEADER_NAME.fullmatch(line[:colon].rstrip(b" \t")):
            raise MalformedMime(
                f"malformed part header line {quoted(line, limit=60)}; expected 'Name: value' "
                "(a header block ends with an empty line)",
                part=part, offset=offset,
            )
        name = line[:colon].rstrip(b" \t").decode("ascii")
        items.append((name, _decode_value(line[colon + 1:]).strip(_WS)))
    return Headers(items)


def normalize_content_id(value: str) -> str:
    """The comparable form of a Content-ID header value or ``start`` parameter.

    Strips white space and one pair of angle brackets: ``<a@b>``, ``a@b`` and
    `` <a@b> `` all give ``a@b``.
    """
    v = value.strip(_WS)
    if v[:1] == "<" and v[-1:] == ">" and len(v) >= 2:
        v = v[1:-1].strip(_WS)
    return v


def href_to_content_id(href: str) -> str | None:
    """The normalised Content-ID a ``cid:`` URL names, or ``None`` if it is not a cid URL.

    The scheme is matched case-insensitively and the rest %-decoded as UTF-8
    (RFC 2392: "converting the % encoded character(s) to their equivalent
    US-ASCII characters"); angle brackets some stacks put in hrefs are
    tolerated.
    """
    h = href.strip(_WS)
    if h[:4].lower() != "cid:":
        return None
    if "%" not in h:  # nothing to decode (nearly every href)
        return normalize_content_id(h[4:])
    decoded = unquote_to_bytes(h[4:]).decode("utf-8", "surrogateescape")
    return normalize_content_id(decoded)


# RFC 3986 unreserved characters plus the sub-delims and '@' that are legal
# in a URI path; everything else in a Content-ID is %-encoded.
_CID_SAFE = "-._~!$&'*+=@"


# A Content-ID that needs no %-encoding (every one we make: hex@domain) skips quote().
_CID_PLAIN = re.compile(r"[A-Za-z0-9\-._~!$&'*+=@]+")


def cid_href(content_id: str) -> str:
    """The ``cid:`` URL for a Content-ID (with or without angle brackets), RFC 2392."""
    if _CID_PLAIN.fullmatch(content_id):
        return "cid:" + content_id
    return "cid:" + quote(normalize_content_id(content_id), safe=_CID_SAFE)


def make_content_id(domain: str = "soap-mtom.invalid") -> str:
    """A fresh, globally unique Content-ID (without angle brackets)."""
    return f"{secrets.token_hex(16)}@{domain}"


# RFC 2046 bchars, without space (allowed inside but not last; we never use it).
_BCHARS = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


def validate_boundary(boundary: str) -> str:
    """Return ``boundary`` if it is a legal RFC 2046 boundary (1-70 bchars).

    Raises:
        UsageError: when given an illegal boundary to write.
    """
    if not _BCHARS.fullmatch(boundary):
        raise UsageError(f"illegal multipart boundary {quoted(boundary)} (RFC 2046: 1-70 bchars)")
    return boundary


def make_boundary() -> str:
    """A random boundary: ``MIMEBoundary_`` plus 48 hex digits (61 chars, legal bchars)."""
    return "MIMEBoundary_" + secrets.token_hex(24)


def require_multipart(ct: ContentType) -> str:
    """Return the boundary of a multipart Content-Type.

    Raises:
        NotMultipart: the media type is not ``multipart/*``.
        NoBoundary: there is no boundary parameter.
    """
    if ct.media_type == "application/dime":
        raise DimeNotSupported(
            "DIME (application/dime) is not supported; MTOM and SwA are: the peer should "
            'send multipart/related; type="application/xop+xml" (MTOM) or SwA (Axis 1: '
            "call.setProperty(Call.ATTACHMENT_ENCAPSULATION_FORMAT, "
            "Call.ATTACHMENT_ENCAPSULATION_FORMAT_MIME)")
    if not ct.is_multipart:
        raise NotMultipart(
            f"Content-Type {quoted(ct.media_type or '(empty)')} is not multipart/related; "
            'an MTOM or SwA message is sent as multipart/related; boundary="..."'
        )
    boundary = ct.boundary
    if not boundary:
        raise NoBoundary(
            f"Content-Type {quoted(ct.media_type)} has no boundary parameter; "
            'the peer must send multipart/related; boundary="..."'
        )
    if not boundary.isascii() or not boundary.isprintable():
        raise NoBoundary(f"boundary {quoted(boundary)} has control characters or characters "
                         "outside US-ASCII; RFC 2046 boundaries use only letters, digits and "
                         "'()+_,-./:=? and space")
    if len(boundary) > 200:
        raise NoBoundary(f"boundary parameter is {len(boundary)} characters long (RFC 2046: ≤ 70)")
    return boundary


_DIGITS = re.compile(r"[0-9]+")


def parse_content_length(value: str | bytes | None) -> int | None:
    """A ``Content-Length`` value as a number of bytes, or ``None`` when absent or invalid.

    Only ASCII digits (surrounding blanks allowed) are a length, as RFC 9110 §8.6 says:
    no sign, no ``_``, no other script's digits.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip(" \t")
    return int(text) if _DIGITS.fullmatch(text) else None
