"""What the published WSDL says about MTOM.

Strategy: Spyne builds its schema and WSDL as lxml trees and fires
``xml_document_built`` (schema, also for the validation schema) and
``wsdl_document_built`` (whole WSDL) on the ``Wsdl11`` document object before
serialising it. Listeners registered from the protocols' ``set_app`` edit
those trees:

* the WS-Policy assertion ``wsoma:OptimizedMimeSerialization`` (WS-MTOMPolicy)
  in a ``wsp:Policy`` (WS-Policy 1.5) at the top of ``wsdl:definitions``,
  referenced from every ``wsdl:binding`` by ``wsp:PolicyReference`` — added
  when the application's *input* protocol is an MTOM protocol (only then may
  a client send MTOM); JAX-WS, CXF and WCF clients switch MTOM on from it;
* ``xmime:expectedContentTypes`` on element declarations whose model type
  declares ``expected_content_types`` (``ByteArray(expected_content_types=
  "image/png")``, ``File(...)``);
* ``xmime:contentType`` attributes declared in a model as
  ``XmlAttribute(Unicode, ns=XMIME_NS)`` (the W3C ``Data`` shape) become
  ``<xs:attribute ref="xmime:contentType"/>`` with a small schema for the
  xmime namespace next to the others — Spyne would declare an unqualified
  local attribute instead, which no MTOM client sends.

How each of these is written is the core's (:mod:`mtom.policy`,
:mod:`mtom.schema`); this module finds, in Spyne's models, where.
"""

from __future__ import annotations

from typing import Any

from spyne.interface.xml_schema._base import SchemaInfo
from spyne.model import ComplexModelBase, XmlAttribute

from mtom import XMIME_NS
from mtom.policy import add_mtom_policy
from mtom.schema import (
    XSD_NS,
    declare_xmime_attributes,
    expect_content_types,
    refer_to_content_type,
)

__all__ = ["install_wsdl_hooks"]

_POLICY = "_spyne_mtom_policy"  # on the WSDL document: publish the MTOM policy


def _add_policy(doc: Any) -> None:
    if getattr(doc, _POLICY, False) and doc.root_elt is not None:
        add_mtom_policy(doc.root_elt)


def install_wsdl_hooks(app: Any, *, policy: bool) -> None:
    """Register the schema/WSDL listeners on ``app``'s WSDL document (once).

    ``policy``: publish the MTOM policy assertion on the bindings.
    """
    doc = getattr(app.interface.docs, "wsdl11", None)
    if doc is None or not hasattr(doc, "event_manager"):
        return
    if not hasattr(doc, _POLICY):
        doc.event_manager.add_listener("xml_document_built", _fix_schema)
        doc.event_manager.add_listener("wsdl_document_built", _add_policy)
        if any(_is_xmime_attribute(m) for _, m in _members(app.interface)):
            # Make Spyne emit (and, for validation, import by file) a schema
            # node for the xmime namespace; _fix_schema fills it.
            pref = app.interface.get_namespace_prefix(XMIME_NS)
            if pref not in doc.namespaces:  # spyne's odict: no setdefault
                doc.namespaces[pref] = SchemaInfo()
    setattr(doc, _POLICY, getattr(doc, _POLICY, False) or policy)


# -- schema -------------------------------------------------------------------------


def _complex_classes(interface: Any) -> list[Any]:
    found = {id(c): c for c in interface.classes.values()
             if isinstance(c, type) and issubclass(c, ComplexModelBase)}
    return list(found.values())


def _members(interface: Any) -> list[tuple[str, Any]]:
    return [kv for cls in _complex_classes(interface)
            for kv in cls.get_flat_type_info(cls).items()]


def _is_xmime_attribute(member: Any) -> bool:
    """An ``XmlAttribute`` in the xmime namespace (``xmime:contentType``)."""
    return (isinstance(member, type) and issubclass(member, XmlAttribute)
            and getattr(member, "_ns", None) == XMIME_NS)


def _type_node(doc: Any, cls: Any) -> Any:
    try:
        pref = cls.get_namespace_prefix(doc.interface)
    except Exception:  # pragma: no cover - classes outside the interface
        return None
    schema = doc.schema_dict.get(pref)
    if schema is None:
        return None
    return next((node for node in schema.iterchildren(f"{{{XSD_NS}}}complexType")
                 if node.get("name") == cls.get_type_name()), None)


def _expected(member: Any) -> str | None:
    value = getattr(getattr(member, "Attributes", None), "expected_content_types", None)
    return str(value) if value else None


def _fix_schema(doc: Any) -> None:
    interface = doc.interface
    xmime_pref = interface.get_namespace_prefix(XMIME_NS)
    for cls in _complex_classes(interface):
        node = _type_node(doc, cls)
        if node is None:
            continue
        for key, member in cls._type_info.items():
            expect_content_types(node, key, _expected(member))
            if _is_xmime_attribute(member):
                refer_to_content_type(node, key, xmime_pref)
    # _body_style="bare" operations whose message is itself a binary type.
    for method in interface.method_id_map.values():
        for message in (method.in_message, method.out_message):
            if message is None or (isinstance(message, type)
                                   and issubclass(message, ComplexModelBase)):
                continue
            name = getattr(message.Attributes, "sub_name", None) or ""
            for schema in doc.schema_dict.values() if name else ():
                expect_content_types(schema, name, _expected(message), deep=False)
    xschema = doc.schema_dict.get(xmime_pref)
    if xschema is not None and not len(xschema):
        declare_xmime_attributes(xschema)
