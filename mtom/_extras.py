"""Checks that an adapter's optional dependencies (a ``soap-mtom[...]`` extra) are installed."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

__all__ = ["missing_extra_message", "require_extra"]


def missing_extra_message(package: str, extra: str, missing: Iterable[str]) -> str:
    """The ImportError text for ``package`` when modules of the ``extra`` are missing."""
    names = ", ".join(missing)
    return (f"{package} needs the soap-mtom[{extra}] extra (missing: {names}); "
            f'install it with: pip install "soap-mtom[{extra}]"')


def require_extra(package: str, extra: str, modules: Iterable[str]) -> None:
    """Raise ImportError naming ``pip install "soap-mtom[extra]"`` if a module is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(missing_extra_message(package, extra, missing), name=missing[0])
