"""Sphinx extension: every public name (``__all__``) of the documented packages has an entry.

The directive ``.. apiconstants:: package`` (in an ``eval-rst`` block) documents the
constants of a package's ``__all__`` — the names that are not classes, functions or
modules, which ``automodule`` skips when they are re-exported from a submodule.

``apicheck_packages = ["mtom", "zeep_mtom", "spyne_mtom"]`` in ``conf.py``. After the
documents are read, each name of each package's ``__all__`` must be described in the
Python domain as ``package.name`` — or, for a name re-exported from another listed
package (``zeep_mtom.Limits`` is ``mtom.Limits``), under that package. A missing one is
a warning, an error under ``sphinx -W``: the API reference keeps up with ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def check(app: Sphinx, env: BuildEnvironment) -> None:
    described = set(env.get_domain("py").objects)  # type: ignore[attr-defined]
    packages = [importlib.import_module(name) for name in app.config.apicheck_packages]
    for package in packages:
        for name in package.__all__:
            if name.startswith("__"):
                continue
            value = getattr(package, name)
            homes = [p.__name__ for p in packages
                     if name in p.__all__ and getattr(p, name) is value]
            if not any(f"{home}.{name}" in described for home in homes):
                logger.warning("apicheck: %s.%s (in __all__) is not in the API reference",
                               package.__name__, name)


def constants(package: Any) -> list[str]:
    """Names in ``package.__all__`` bound to plain values (not classes, functions, modules)."""
    return [name for name in package.__all__ if not name.startswith("__")
            and not (inspect.isclass(v := getattr(package, name)) or callable(v)
                     or inspect.ismodule(v))]


class ApiConstants(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        package = importlib.import_module(self.arguments[0])
        lines: list[str] = []
        for name in constants(package):
            lines += [f".. autodata:: {package.__name__}.{name}", "   :no-value:", "",
                      f"   ``{getattr(package, name)!r}``", ""]
        node = nodes.container(classes=["apiconstants"])
        self.state.nested_parse(StringList(lines, source=package.__name__),
                                self.content_offset, node)
        return [node]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("apicheck_packages", [], "env")
    app.add_directive("apiconstants", ApiConstants)
    app.connect("env-check-consistency", check)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
