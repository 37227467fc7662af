"""mtom.schema: how a published schema describes MTOM values (xmime attributes)."""

from __future__ import annotations

from lxml import etree

from mtom import XMIME_NS
from mtom.schema import (
    XSD_NS,
    declare_xmime_attributes,
    expect_content_types,
    refer_to_content_type,
)

SCHEMA = f"""<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="urn:t">
  <xs:element name="photo" type="xs:base64Binary"/>
  <xs:complexType name="Data">
    <xs:sequence>
      <xs:element name="photo" type="xs:base64Binary"/>
      <xs:element name="other" type="xs:base64Binary"/>
    </xs:sequence>
    <xs:attribute name="contentType" type="xs:string" use="optional"/>
  </xs:complexType>
</xs:schema>""".encode()
EXPECTED = f"{{{XMIME_NS}}}expectedContentTypes"


def _elements(root: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in root.iter(f"{{{XSD_NS}}}element") if e.get("name") == name]


def test_expect_content_types_deep_and_global_only() -> None:
    root = etree.fromstring(SCHEMA)
    complex_type = root.find(f"{{{XSD_NS}}}complexType")
    assert complex_type is not None
    expect_content_types(complex_type, "photo", "image/png")
    top, inner = _elements(root, "photo")
    assert (top.get(EXPECTED), inner.get(EXPECTED)) == (None, "image/png")
    expect_content_types(root, "photo", "image/jpeg", deep=False)
    assert (top.get(EXPECTED), inner.get(EXPECTED)) == ("image/jpeg", "image/png")
    expect_content_types(root, "other", None)
    expect_content_types(root, "other", "")
    assert _elements(root, "other")[0].get(EXPECTED) is None


def test_refer_to_content_type_keeps_use() -> None:
    root = etree.fromstring(SCHEMA)
    refer_to_content_type(root, "contentType", "xmime")
    attr = root.find(f".//{{{XSD_NS}}}attribute")
    assert attr is not None and dict(attr.attrib) == {"ref": "xmime:contentType",
                                                      "use": "optional"}


def test_declare_xmime_attributes_is_a_valid_xmlmime_schema() -> None:
    schema = etree.Element(f"{{{XSD_NS}}}schema", nsmap={"xsd": XSD_NS},
                           targetNamespace=XMIME_NS)
    declare_xmime_attributes(schema)
    etree.XMLSchema(schema)  # compiles: the declarations are well-formed XSD
    ct = schema.find(f"{{{XSD_NS}}}attribute[@name='contentType']")
    assert ct is not None
    restriction = ct.find(f".//{{{XSD_NS}}}restriction")
    assert restriction is not None and restriction.get("base") == "xsd:string"
    assert ct.find(f".//{{{XSD_NS}}}minLength").get("value") == "3"  # type: ignore[union-attr]
    assert schema.find(f"{{{XSD_NS}}}attribute[@name='expectedContentTypes']") is not None
