"""Sphinx directive ``optionref``: a table of every option of a class or function, from the code.

In a MyST page, inside an ``eval-rst`` block (the table and the docstring text are
reStructuredText)::

    ```{eval-rst}
    .. optionref:: mtom.Limits

    .. optionref:: spyne_mtom.Soap11Mtom
       :doc-from: spyne_mtom.MtomMixin
       :skip: args, kwargs
    ```

Rows come from the object itself — dataclass fields, or the keyword parameters of
the function or of the class's ``__init__`` — with their annotated type and default.
The text of each row is the entry for that name in the docstring's ``Args:`` /
``Attributes:`` / ``Keyword Args:`` section (of ``:doc-from:`` when given).
An option without an entry, or an entry naming no option, is a build warning (an
error under ``sphinx -W``): the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_SECTION = re.compile(r"^\s*(Args|Arguments|Attributes|Keyword Args|Keyword Arguments):\s*$",
                      re.IGNORECASE)
_ENTRY = re.compile(r"^(\s+)([\w*][\w, *]*):(?:\s+(.*))?$")


def resolve(path: str) -> Any:
    """``"package.module.Name.attr"`` -> the object (longest importable module prefix)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"cannot import {path}")


def documented(doc: str | None) -> dict[str, str]:
    """Name -> text of the entries of the argument/attribute sections of a docstring."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(doc or "").splitlines()
    i = 0
    while i < len(lines):
        if not _SECTION.match(lines[i]):
            i += 1
            continue
        i += 1
        indent: int | None = None
        names: list[str] = []
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            depth = len(line) - len(line.lstrip())
            if indent is None:
                indent = depth
            if depth < indent or depth == 0:
                break
            m = _ENTRY.match(line)
            if depth == indent and m:
                names = [n.strip().lstrip("*") for n in m.group(2).split(",")]
                for n in names:
                    out[n] = (m.group(3) or "").strip()
            else:
                for n in names:
                    out[n] = (out[n] + " " + line.strip()).strip()
            i += 1
    return out


def _default_text(value: Any) -> str:
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "(required)"
    if isinstance(value, type):
        return f"``{value.__name__}``"
    if isinstance(value, tuple) and value and all(isinstance(v, type) for v in value):
        return "``(" + ", ".join(v.__name__ for v in value) + ")``"
    if (dataclasses.is_dataclass(value) and not isinstance(value, type)
            and value == type(value)()):
        return f"``{type(value).__name__}()``"
    text = f"``{value!r}``"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1024:
        for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if value % size == 0:
                text += f" ({value // size} {unit})"
                break
    return text


def _type_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return f"``{annotation}``"
    return f"``{inspect.formatannotation(annotation)}``"


def options_of(obj: Any, skip: set[str]) -> list[tuple[str, str, str]]:
    """``(name, type, default)`` of each option of ``obj``."""
    if dataclasses.is_dataclass(obj) and isinstance(obj, type):
        rows = []
        for f in dataclasses.fields(obj):
            if f.name in skip or not f.init:
                continue
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            rows.append((f.name, _type_text(f.type), _default_text(default)))
        return rows
    target = obj.__init__ if isinstance(obj, type) else obj
    rows = []
    for p in inspect.signature(target).parameters.values():
        if p.name in skip or p.name == "self" or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            rows.append((p.name, "", "(other keyword arguments)"))
            continue
        rows.append((p.name, _type_text(p.annotation), _default_text(p.default)))
    return rows


class OptionRef(SphinxDirective):
    required_arguments = 1
    option_spec = {"doc-from": directives.unchanged, "skip": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        path = self.arguments[0]
        obj = resolve(path)
        source = resolve(self.options["doc-from"]) if "doc-from" in self.options else obj
        texts = documented(source.__doc__)
        if not isinstance(obj, type) and source is obj:
            texts.update(documented(obj.__doc__))
        skip = {s.strip() for s in self.options.get("skip", "").split(",") if s.strip()}
        rows = options_of(obj, skip)
        names = {r[0] for r in rows}
        location = self.get_location()
        for name, _, _ in rows:
            if not texts.get(name):
                logger.warning(
                    "optionref: %s option %r has no entry in the docstring of %s",
                    path, name, getattr(source, "__qualname__", source), location=location)
        for name in texts:
            if name not in names and name not in skip:
                logger.warning(
                    "optionref: %s documents %r, which is not an option of %s",
                    getattr(source, "__qualname__", source), name, path, location=location)
        lines = [f".. list-table:: Options of ``{path}``", "   :header-rows: 1",
                 "   :widths: 18 22 18 42", "",
                 "   * - option", "     - type", "     - default", "     - meaning"]
        for name, type_text, default in rows:
            shown = f"``**{name}``" if default == "(other keyword arguments)" else f"``{name}``"
            lines += [f"   * - {shown}", f"     - {type_text}", f"     - {default}",
                      f"     - {texts.get(name, '')}"]
        node = nodes.container(classes=["optionref"])
        self.state.nested_parse(StringList(lines, source=path), self.content_offset, node)
        return [node]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("optionref", OptionRef)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
