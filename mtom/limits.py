"""Resource limits, one field per resource, shared by every adapter.

Each default is chosen so that legitimate traffic from the stacks in the
corpus (and multi-gigabyte uploads spooled to disk) passes, while a hostile
peer cannot make the process hold unbounded memory, disk or CPU. Adapters
accept a :class:`Limits` object and hand it to the core unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limits"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Limits applied while reading a package.

    Attributes:
        max_parts: MIME parts per message, root included (default 1,000; CXF
            test traffic has 50, real services rarely more than a few).
        max_header_bytes: bytes of one part's header block (default 16 KiB;
            real header blocks are under 1 KiB, HTTP servers cap at 8-16 KiB).
        max_preamble_bytes: bytes before the first delimiter (default 64 KiB;
            real preambles are a CRLF or a few MIME headers).
        max_root_size: decoded bytes of the root (XML) part (default 8 MiB).
            The root is parsed into a tree in memory, which costs up to ~40
            bytes of memory per byte for a root of tiny elements (measured:
            ~32 for ``<a/>`` runs, ~41 with an attribute each, ~1-2 for text
            such as inline base64), so the default bounds a worst-case root at
            ~330 MiB. MTOM keeps binary values out of the root; raise this
            for SwA roots that carry large inline values.
        max_attachment_size: decoded bytes of one non-root part (default 8 GiB;
            large parts spool to disk).
        max_total_size: bytes of the whole message body as received
            (default 16 GiB).
        max_includes: ``xop:Include`` elements in the root (default 10,000).
        max_references_per_part: how many ``xop:Include`` elements may name
            the same part (default 1 as the XOP spec intends; raise it for
            peers that share one part between several elements — each
            reference is served from the same storage, but an inline-base64
            view would multiply the size).
    """

    max_parts: int = 1000
    max_header_bytes: int = 16 * KiB
    max_preamble_bytes: int = 64 * KiB
    max_root_size: int = 8 * MiB
    max_attachment_size: int = 8 * GiB
    max_total_size: int = 16 * GiB
    max_includes: int = 10_000
    max_references_per_part: int = 1

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"Limits.{name} must be a non-negative int, got {value!r}")


DEFAULT_LIMITS = Limits()
