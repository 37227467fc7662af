"""The ``xmlmime`` and XOP include schemas, served offline for the URLs WSDLs import them from.

WSDLs with binary fields commonly ``xs:import`` the xmlmime namespace with
``schemaLocation`` set to the namespace URL itself (JAX-WS, WCF, Axis2);
Zeep then fetches it over the network, which fails offline (python-zeep
#1066). gSOAP-generated WSDLs also import the XOP include namespace
(``http://www.w3.org/2004/08/xop/include``). :func:`schema_for` maps those
URLs to the copies shipped here.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SCHEMA_FILES", "schema_for"]

#: Namespace URL (scheme and trailing ``/`` or ``.xsd`` ignored) → file name.
SCHEMA_FILES = {
    "www.w3.org/2005/05/xmlmime": "xmlmime-2005-05.xsd",
    "www.w3.org/2004/11/xmlmime": "xmlmime-2004-11.xsd",
    "www.w3.org/2004/08/xop/include": "xop-include.xsd",
}


def _key(url: str) -> str:
    u = url.strip()
    for scheme in ("http://", "https://"):
        if u.lower().startswith(scheme):
            u = u[len(scheme):]
            break
    else:
        return ""
    u = u.rstrip("/")
    for suffix in ("/xmlmime.xsd", ".xsd"):
        if u.lower().endswith(suffix) and u[: -len(suffix)].lower() in SCHEMA_FILES:
            u = u[: -len(suffix)]
            break
    return u.lower()


def schema_for(url: str) -> bytes | None:
    """The bundled schema for ``url``, or ``None`` if it is not an xmlmime or XOP include URL."""
    name = SCHEMA_FILES.get(_key(url))
    if name is None:
        return None
    return (resources.files(__package__) / name).read_bytes()
