"""Importing this checks the ``soap-mtom[zeep]`` extra: ImportError naming the pip command."""

from mtom._extras import require_extra

#: What ``zeep_mtom`` imports beyond the core (``packaging`` and ``httpx``: Zeep's async transport).
MODULES = ("zeep", "requests", "httpx", "packaging")

require_extra("zeep_mtom", "zeep", MODULES)
