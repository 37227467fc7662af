"""Sphinx configuration of the soap-mtom documentation site (furo theme, MyST Markdown).

Built by ``scripts/test.sh`` with ``python -m sphinx -W -b html docs docs/_build/html``.
The performance figures are drawn from ``docs/_data/bench-sizes.json`` at build time
(:mod:`benchmarks.figures`), the peers table and figures from ``docs/_data/peers.json``
(:mod:`benchmarks.peers`); the configuration reference is generated from the code
(``_ext/optionref.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "_ext"))

import mtom  # noqa: E402
import spyne_mtom  # noqa: E402, F401  (first: Spyne 2.14 imports on 3.12+ after it)
from benchmarks import figures, peers  # noqa: E402

project = "soap-mtom"
author = "the soap-mtom contributors"
copyright = "2026, the soap-mtom contributors"
release = version = mtom.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "optionref",
    "apicheck",
]
apicheck_packages = ["mtom", "zeep_mtom", "spyne_mtom"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "examples", "_data"]
html_theme = "furo"
html_title = f"soap-mtom {release}"
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True

# Figures of the performance page, from the benchmark JSON in the repository.
figures.draw(HERE / "_data" / "bench-sizes.json", HERE / "_generated" / "figures")
# The peers table and figures (JAX-WS RI, gSOAP): python -m benchmarks peers.
peers.draw(HERE / "_data" / "peers.json", HERE / "_generated" / "figures")
