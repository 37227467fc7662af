"""The ``xmlmime`` and XOP include schemas, served offline for the URLs WSDLs import them from.

WSDLs with binary fields commonly ``xs:import`` the xmlmime namespace with
``schemaLocation`` set to the namespace URL itself (JAX-WS, WCF, Axis2);
Zeep then fetches it over the network, which fails offline (python-zeep
#1066). gSOAP-generated WSDLs also import the XOP include namespace
(``http://www.w3.org/2004/08/xop/include``). :func:`schema_for` maps those
URLs to the copies shipped here.

Apache Axis 1.x WSDLs use types of ``http://xml.apache.org/xml-soap``
(``apachesoap:DataHandler``) with no import at all; :func:`install` makes
Zeep's schema import that namespace on demand — for clients whose transport
is a zeep_mtom transport only — from the bundled ``xml-soap.xsd``, where
those types are ``base64Binary``.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources
from typing import Any

from zeep.xsd.schema import Schema

__all__ = ["SCHEMA_FILES", "XML_SOAP_NS", "install", "schema_for"]

#: Apache Axis 1.x's namespace of ``DataHandler`` and its other attachment types.
XML_SOAP_NS = "http://xml.apache.org/xml-soap"

#: Namespace URL (scheme and trailing ``/`` or ``.xsd`` ignored) → file name.
SCHEMA_FILES = {
    "www.w3.org/2005/05/xmlmime": "xmlmime-2005-05.xsd",
    "www.w3.org/2004/11/xmlmime": "xmlmime-2004-11.xsd",
    "www.w3.org/2004/08/xop/include": "xop-include.xsd",
    "xml.apache.org/xml-soap": "xml-soap.xsd",
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


_LOCK = threading.Lock()
_ORIGINAL: list[Any] = []


def _schema_documents(self: Any, namespace: Any, fail_silently: bool = False) -> Any:
    transport = getattr(self, "_transport", None)
    if (namespace == XML_SOAP_NS and hasattr(transport, "_zeep_mtom_begin_call")
            and not self.documents.has_schema_document_for_ns(namespace)):
        self.add_document_by_url(namespace)  # served by the transport's load()
    return _ORIGINAL[0](self, namespace, fail_silently)


def install() -> None:
    """Let Zeep resolve ``apachesoap:*`` types for zeep_mtom transports (idempotent).

    Zeep imports a few well-known namespaces when a WSDL uses them without an
    import; this adds Axis's ``xml-soap`` namespace to those, only for schemas
    loaded through a zeep_mtom transport (others behave as before).
    """
    with _LOCK:
        if _ORIGINAL:
            return
        original = Schema._get_schema_documents
        _ORIGINAL.append(original)
        wrapper = functools.wraps(original)(_schema_documents)
        Schema._get_schema_documents = wrapper  # type: ignore[method-assign]
