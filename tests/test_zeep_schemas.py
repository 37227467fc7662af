"""The bundled xmlmime schemas and the URLs they are served for."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import DATA, CannedApp
from lxml import etree

import mtom
import zeep_mtom
import zeep_mtom.schemas
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


def test_axis_xml_soap_schema() -> None:
    data = schema_for("http://xml.apache.org/xml-soap")
    assert data is not None
    schema = etree.fromstring(data)
    assert schema.get("targetNamespace") == zeep_mtom.schemas.XML_SOAP_NS
    bases = {t.get("name"): t[0].get("base") for t in schema.iter(f"{XS}simpleType")}
    assert bases["DataHandler"] == "xs:base64Binary"
    assert set(bases.values()) == {"xs:base64Binary"}


AXIS_REPLY = (
    b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas'
    b'.xmlsoap.org/soap/envelope/"><soapenv:Body><ns1:echoResponse soapenv:encodingStyle="http:'
    b'//schemas.xmlsoap.org/soap/encoding/" xmlns:ns1="http://axis.invalid/swa"><echoReturn '
    b'href="cid:ret@axis"/></ns1:echoResponse></soapenv:Body></soapenv:Envelope>')


def test_axis_wsdl_with_datahandler_loads_and_calls(wsgi_server: Any, tmp_path: Path) -> None:
    """Axis's own ?wsdl: apachesoap:DataHandler parts, no import of its namespace."""
    body = (b'--b\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Id: <root@axis>\r\n\r\n'
            + AXIS_REPLY + b"\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Id: <ret@axis>\r\n\r\n\x00\r\nvalue\xff\r\n--b--\r\n")
    app = CannedApp(("200 OK", [("Content-Type", 'multipart/related; type="text/xml"; '
                                 'start="<root@axis>"; boundary="b"')], body))
    wsdl = tmp_path / "axis.wsdl"
    with wsgi_server(app) as url:
        wsdl.write_text((DATA / "axis-swa.wsdl").read_text(encoding="utf-8").replace(
            "http://axis.invalid", url), encoding="utf-8")
        with warnings.catch_warnings(), zeep_mtom.MtomTransport(mtom=True) as transport:
            warnings.simplefilter("error")  # Zeep only warns about a part it cannot resolve
            client = zeep.Client(str(wsdl), transport=transport)
            assert client.service.echo(b"\x01" * 2000) == b"\x00\r\nvalue\xff"
            transport.session.close()
    headers, sent = app.received[0]
    package = mtom.read_package(sent, headers["content-type"])
    assert package.is_xop and [a.read() for a in package.attachments] == [b"\x01" * 2000]


def test_other_transports_do_not_import_the_axis_namespace(tmp_path: Path) -> None:
    zeep_mtom.install()
    zeep_mtom.MtomTransport().close()  # the schema hook is installed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zeep.Client(str(DATA / "axis-swa.wsdl"))
    assert any("contains an invalid part ('in0')" in str(w.message) for w in caught)
