"""Spyne 2.14 on Python 3.12 and later: the one thing it lacks, supplied at import.

Spyne 2.14.0 (the newest release on PyPI) vendors an old ``six`` whose
meta-path importer for ``spyne.util.six.moves`` has only the legacy
``find_module``/``load_module`` protocol. Python 3.12 no longer calls
``find_module``, so ``import spyne`` fails with ``ModuleNotFoundError: No
module named 'spyne.util.six.moves'``. Spyne's unreleased master fixed it by
updating that file.

:func:`install` (run when :mod:`spyne_mtom` is imported, before it imports
Spyne) adds a small finder to ``sys.meta_path`` that answers ``find_spec`` for
the names that importer knows and lets the importer build the module. It
changes nothing else: it is installed only on Python 3.12+, it answers only
for ``spyne.util.six.moves`` and its submodules, and it steps aside when the
installed Spyne's importer has ``find_spec`` of its own (a fixed Spyne).
Once it is installed, plain Spyne services (no MTOM) in the same process work
too. It must come before the first ``import spyne``: on Python 3.12+ import
``spyne_mtom`` (or any of its modules) first.

Python 3.13 removed the ``cgi`` module, which Spyne 2.14 imports; the
``spyne`` extra installs ``legacy-cgi`` there (``pip install
"soap-mtom[spyne]"``), so no code is needed for it.

Importing this module (``spyne_mtom`` does, first) also checks that the
``spyne`` extra is installed, raising ImportError with the pip command if not.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from mtom._extras import require_extra

__all__ = ["MODULES", "SIX_MOVES", "SixMovesFinder", "install", "needed"]

#: What ``spyne_mtom`` imports beyond the core (``cgi``: from ``legacy-cgi`` on 3.13+).
MODULES = ("spyne", "cgi")

#: The package whose vendored ``six`` lacks ``find_spec`` in Spyne 2.14.
SIX_MOVES = "spyne.util.six.moves"


def needed() -> bool:
    """True on the Pythons where Spyne 2.14 cannot import without help (3.12+)."""
    return sys.version_info >= (3, 12)


class SixMovesFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A ``find_spec`` front for Spyne's vendored ``six`` meta-path importer.

    The module objects stay the importer's, as on Python 3.11 (where the
    import system still called ``load_module``): ``exec_module`` replaces the
    placeholder module in ``sys.modules`` with the one the importer loads (a
    ``six.moves`` alias such as ``collections_abc`` *is* ``collections.abc``,
    whose own ``__spec__`` is left alone); modules of six's own get the spec.
    """

    @staticmethod
    def _legacy_importer() -> Any:
        six = sys.modules.get(SIX_MOVES.rpartition(".")[0])
        importer = getattr(six, "_importer", None)
        if importer is None or hasattr(importer, "find_spec"):
            return None  # six not loaded yet, or a six that needs no help
        return importer

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != SIX_MOVES and not fullname.startswith(SIX_MOVES + "."):
            return None
        importer = self._legacy_importer()
        if importer is None or fullname not in importer.known_modules:
            return None
        return importlib.util.spec_from_loader(fullname, self,
                                               is_package=bool(importer.is_package(fullname)))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder, replaced by exec_module

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        if sys.modules.get(name) is module:
            del sys.modules[name]  # else load_module would return the placeholder
        loaded = self._legacy_importer().load_module(name)
        if getattr(loaded, "__spec__", None) is None:
            loaded.__spec__ = module.__spec__


def install() -> bool:
    """Add :class:`SixMovesFinder` to ``sys.meta_path`` where needed (once).

    Returns True when the finder is (now or already) installed.
    """
    if not needed():
        return False
    if not any(isinstance(f, SixMovesFinder) for f in sys.meta_path):
        sys.meta_path.append(SixMovesFinder())
    return True


require_extra("spyne_mtom", "spyne", MODULES)
install()
