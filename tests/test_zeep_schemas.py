"""The bundled xmlmime schemas and the URLs they are served for."""

from __future__ import annotations

import pytest
import zeep
from _support import DATA
from lxml import etree

import zeep_mtom
from zeep_mtom.schemas import schema_for

XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.mark.parametrize(("url", "namespace"), [
    ("http://www.w3.org/2005/05/xmlmime", "http://www.w3.org/2005/05/xmlmime"),
    ("https://www.w3.org/2005/05/xmlmime/", "http://www.w3.org/2005/05/xmlmime"),
    ("http://www.w3.org/2005/05/xmlmime.xsd", "http://www.w3.org/2005/05/xmlmime"),
    ("http://www.w3.org/2005/05/xmlmime/xmlmime.xsd", "http://www.w3.org/2005/05/xmlmime"),
    ("HTTP://WWW.W3.ORG/2004/11/xmlmime", "http://www.w3.org/2004/11/xmlmime"),
])
def test_schema_urls(url: str, namespace: str) -> None:
    data = schema_for(url)
    assert data is not None
    schema = etree.fromstring(data)
    assert schema.get("targetNamespace") == namespace
    attributes = {a.get("name") for a in schema.iter(f"{XS}attribute") if a.get("name")}
    assert "contentType" in attributes
    types = {t.get("name") for t in schema.iter(f"{XS}complexType")}
    assert types == {"base64Binary", "hexBinary"}


@pytest.mark.parametrize("url", ["http://www.w3.org/2004/08/xop/include",
                                 "https://www.w3.org/2004/08/xop/include/",
                                 "http://www.w3.org/2004/08/xop/include.xsd"])
def test_xop_include_schema(url: str) -> None:
    data = schema_for(url)
    assert data is not None
    schema = etree.fromstring(data)
    assert schema.get("targetNamespace") == "http://www.w3.org/2004/08/xop/include"
    assert [e.get("name") for e in schema.iter(f"{XS}element")] == ["Include"]
    href = [a for a in schema.iter(f"{XS}attribute") if a.get("name") == "href"]
    assert len(href) == 1 and href[0].get("use") == "required"


@pytest.mark.parametrize("url", ["http://www.w3.org/2005/05/xmlmimeX", "xmlmime",
                                 "file:///www.w3.org/2005/05/xmlmime",
                                 "http://example.org/2005/05/xmlmime",
                                 "http://www.w3.org/2004/08/xop/includeX"])
def test_other_urls_are_not_served(url: str) -> None:
    assert schema_for(url) is None


@pytest.mark.parametrize("wsdl", ["echo.wsdl", "xmime2004.wsdl", "gsoap-xop.wsdl"])
def test_wsdls_importing_xmlmime_load_offline(wsdl: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    transport = zeep_mtom.MtomTransport()

    def no_network(url: str) -> bytes:
        raise AssertionError(f"network access to {url}")

    monkeypatch.setattr(transport, "_load_remote_data", no_network)
    client = zeep.Client(str(DATA / wsdl), transport=transport)
    assert client.wsdl.bindings


def test_xmime_content_type_attribute_is_usable() -> None:
    client = zeep.Client(str(DATA / "xmime2004.wsdl"), transport=zeep_mtom.MtomTransport())
    put = client.get_element("{urn:soap-mtom:test:old}Put")
    value = put(file={"_value_1": b"abc", "contentType": "text/plain"})
    node = etree.Element("root")
    put.render(node, value)
    file_el = node[0][0]
    assert file_el.get("{http://www.w3.org/2004/11/xmlmime}contentType") == "text/plain"
