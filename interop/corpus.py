"""Locate and load the captured-message corpus (read at run time, never copied).

The corpus lives in ``../shared/corpus`` next to the repository; the
``MTOM_CORPUS`` environment variable overrides the location. When it is
absent, :func:`corpus_dir` returns ``None`` and tests skip with a reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CORPUS_ENV", "CorpusMessage", "corpus_dir", "load_messages", "missing_reason"]

CORPUS_ENV = "MTOM_CORPUS"
_DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_dir() -> Path | None:
    """The corpus folder, or ``None`` when it does not exist."""
    path = Path(os.environ.get(CORPUS_ENV) or _DEFAULT)
    return path if path.is_dir() else None


def missing_reason() -> str:
    where = os.environ.get(CORPUS_ENV) or str(_DEFAULT)
    return (f"captured-message corpus not found at {where}; set {CORPUS_ENV} to the "
            "folder holding the *.msg / *.content-type files")


@dataclass(frozen=True)
class CorpusMessage:
    """One captured message: the body bytes and the Content-Type it was sent with."""

    name: str
    body: bytes
    content_type: str
    negative: bool
    http: bytes | None = None

    @property
    def path_hint(self) -> str:
        return ("negative/" if self.negative else "") + self.name


def load_messages(negative: bool = False) -> list[CorpusMessage]:
    """Every message of the corpus (or of its ``negative/`` folder), sorted by name."""
    base = corpus_dir()
    if base is None:
        return []
    folder = base / "negative" if negative else base
    out = []
    for msg in sorted(folder.glob("*.msg")):
        name = msg.stem
        ct = (folder / f"{name}.content-type").read_text("latin-1")
        http = folder / f"{name}.http"
        out.append(CorpusMessage(name, msg.read_bytes(), ct, negative,
                                 http.read_bytes() if http.exists() else None))
    return out
