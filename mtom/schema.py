"""What a published XML Schema says about MTOM values (W3C "Describing Media Content").

Strategy: a server adapter that publishes a WSDL edits its schema trees
(lxml) with these functions; knowing *which* elements and attributes to edit
is the framework's business (its models), *how* an MTOM client expects them
written is here:

* :func:`expect_content_types` puts ``xmime:expectedContentTypes`` on element
  declarations whose values are of a known media type (JAX-WS and CXF map
  ``image/*`` to ``Image``, others to ``DataHandler``);
* :func:`refer_to_content_type` turns a local attribute declaration into
  ``<xs:attribute ref="xmime:contentType"/>`` (what an MTOM client sends);
* :func:`declare_xmime_attributes` fills an empty schema node of the xmime
  namespace with the two attribute declarations of W3C's xmlmime schema.
"""

from __future__ import annotations

from lxml import etree

from .soap import XMIME_NS

__all__ = ["XSD_NS", "declare_xmime_attributes", "expect_content_types",
           "refer_to_content_type", "single_media_type"]

XSD_NS = "http://www.w3.org/2001/XMLSchema"


def expect_content_types(node: etree._Element, name: str, types: str | None, *,
                         deep: bool = True) -> None:
    """Mark the ``xs:element`` declarations named ``name`` in ``node`` (``deep=False``:
    its children only, e.g. a schema's global elements) with ``xmime:expectedContentTypes``
    (``types``, e.g. ``"image/png"``; ``None`` or empty: nothing to do)."""
    if not types:
        return
    tag = f"{{{XSD_NS}}}element"
    for el in node.iter(tag) if deep else node.iterchildren(tag):
        if el.get("name") == name:
            # (lxml declares the namespace on the element if needed;
            # cleanup_namespaces would drop prefixes used in QName values)
            el.set(f"{{{XMIME_NS}}}expectedContentTypes", types)


def refer_to_content_type(node: etree._Element, name: str, prefix: str) -> None:
    """Replace the local ``xs:attribute`` declarations named ``name`` in ``node`` by a
    reference to the xmime attribute (``prefix``: the xmime namespace's prefix in the
    document), keeping their ``use``."""
    for attr in node.iter(f"{{{XSD_NS}}}attribute"):
        if attr.get("name") == name:
            use = attr.get("use")
            attr.attrib.clear()
            attr.set("ref", f"{prefix}:{name}")
            if use:
                attr.set("use", use)


def declare_xmime_attributes(schema: etree._Element) -> None:
    """The two attribute declarations of W3C's xmlmime schema that models use
    (``contentType``, at least 3 characters, and ``expectedContentTypes``), added to the
    ``xs:schema`` of the xmime namespace."""
    ct = etree.SubElement(schema, f"{{{XSD_NS}}}attribute", name="contentType")
    st = etree.SubElement(ct, f"{{{XSD_NS}}}simpleType")
    restriction = etree.SubElement(st, f"{{{XSD_NS}}}restriction",
                                   base=_xs_qname(schema, "string"))
    etree.SubElement(restriction, f"{{{XSD_NS}}}minLength", value="3")
    etree.SubElement(schema, f"{{{XSD_NS}}}attribute", name="expectedContentTypes",
                     type=_xs_qname(schema, "string"))


def _xs_qname(node: etree._Element, local: str) -> str:
    for prefix, uri in (node.nsmap or {}).items():
        if uri == XSD_NS and prefix:
            return f"{prefix}:{local}"
    return f"xs:{local}"


def single_media_type(expected: str | None) -> str | None:
    """The one concrete media type an ``expectedContentTypes`` value names (``"image/png"``),
    the Content-Type of such a value's part; ``None`` for a list or a wildcard (``image/*``)."""
    kinds = [k.strip() for k in str(expected or "").split(",") if k.strip()]
    return kinds[0] if len(kinds) == 1 and "*" not in kinds[0] else None
