"""The published WSDL: MTOM policy assertion, xmime annotations, loadable by Zeep."""

from __future__ import annotations

import pytest
import requests
from _support import CLOSE, TNS, VERSIONS, make_application, make_wsgi, serve_wsgi
from lxml import etree
from spyne.protocol.soap import Soap11, Soap12

from mtom_demo.service import NAMESPACE
from mtom_demo.service import wsgi_app as demo_wsgi_app
from spyne_mtom import MTOM_POLICY_ID, WSOMA_NS, WSP_NS, Soap11Mtom, Soap12Mtom, add_mtom_policy
from spyne_mtom import wsgi_application as wsgi_app

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
XMIME = "http://www.w3.org/2005/05/xmlmime"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
SOAP_BINDING = {"1.1": "http://schemas.xmlsoap.org/wsdl/soap/",
                "1.2": "http://schemas.xmlsoap.org/wsdl/soap12/"}


def _wsdl(wsgi: object) -> etree._Element:
    with serve_wsgi(wsgi) as url:
        resp = requests.get(url + "/?wsdl", timeout=30, headers=CLOSE)
    assert resp.status_code == 200, resp.text[:300]
    return etree.fromstring(resp.content)


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_on_every_binding(version: str) -> None:
    root = _wsdl(make_wsgi(version))
    policies = root.findall(f"{{{WSP_NS}}}Policy")
    assert len(policies) == 1
    policy = policies[0]
    assert policy.get(f"{{{WSU}}}Id") == MTOM_POLICY_ID
    assert policy.find(f"{{{WSOMA_NS}}}OptimizedMimeSerialization") is not None
    # Extensibility elements precede wsdl:types (WSDL 1.1 schema).
    assert root.index(policy) < root.index(root.find(f"{{{WSDL}}}types"))
    bindings = root.findall(f"{{{WSDL}}}binding")
    assert bindings
    for binding in bindings:
        ref = binding.find(f"{{{WSP_NS}}}PolicyReference")
        assert ref is not None and ref.get("URI") == f"#{MTOM_POLICY_ID}"
        soap_binding = binding.find(f"{{{SOAP_BINDING[version]}}}binding")
        assert soap_binding is not None
        assert binding.index(ref) == binding.index(soap_binding) + 1


@pytest.mark.parametrize("version", VERSIONS)
def test_no_policy_when_the_input_protocol_is_plain(version: str) -> None:
    plain, mtom_cls = (Soap11, Soap11Mtom) if version == "1.1" else (Soap12, Soap12Mtom)
    app = make_application(version, in_protocol=plain(), out_protocol=mtom_cls())
    root = _wsdl(wsgi_app(app))
    assert root.find(f".//{{{WSP_NS}}}Policy") is None
    assert root.find(f".//{{{WSP_NS}}}PolicyReference") is None


def test_expected_content_types_on_declared_elements() -> None:
    root = _wsdl(make_wsgi("1.1"))
    found = {
        (el.getparent().getparent().get("name"), el.get("name")):
            el.get(f"{{{XMIME}}}expectedContentTypes")
        for el in root.iter(f"{{{XSD}}}element") if el.get(f"{{{XMIME}}}expectedContentTypes")
    }
    assert found == {("png", "img"): "image/png", ("pngResponse", "pngResult"): "image/png"}


def test_w3c_data_type_refers_to_xmime_content_type() -> None:
    root = _wsdl(demo_wsgi_app("1.1"))
    schemas = {s.get("targetNamespace"): s for s in root.iter(f"{{{XSD}}}schema")}
    data = next(ct for ct in schemas[NAMESPACE].iter(f"{{{XSD}}}complexType")
                if ct.get("name") == "Data")
    ext = data.find(f"{{{XSD}}}simpleContent/{{{XSD}}}extension")
    assert ext is not None
    prefix, _, local = ext.get("base", "").partition(":")
    assert ext.nsmap[prefix] == XSD and local == "base64Binary"
    (attr,) = ext.findall(f"{{{XSD}}}attribute")
    prefix, _, local = attr.get("ref", "").partition(":")
    assert attr.nsmap[prefix] == XMIME and local == "contentType"
    declared = [a.get("name") for a in schemas[XMIME].findall(f"{{{XSD}}}attribute")]
    assert "contentType" in declared


@pytest.mark.parametrize("version", VERSIONS)
def test_attribute_refs_resolve_inside_the_wsdl(version: str) -> None:
    """Every ``xs:attribute ref`` names a declaration in one of the WSDL's own schemas."""
    root = _wsdl(demo_wsgi_app(version))
    schemas = list(root.iter(f"{{{XSD}}}schema"))
    declared = {(s.get("targetNamespace"), a.get("name")) for s in schemas
                for a in s.findall(f"{{{XSD}}}attribute")}
    refs = [a for a in root.iter(f"{{{XSD}}}attribute") if a.get("ref")]
    assert refs
    for attr in refs:
        prefix, _, local = attr.get("ref", "").partition(":")
        assert (attr.nsmap[prefix], local) in declared


def test_wsdl_loads_in_zeep() -> None:
    zeep = pytest.importorskip("zeep")
    with serve_wsgi(demo_wsgi_app("1.1")) as url:
        client = zeep.Client(url + "/?wsdl")
        ops = set(client.service._binding._operations)
    assert {"EchoTest", "Upload", "Download"} <= ops


def test_validation_schema_builds_with_xmime() -> None:
    from mtom_demo.service import make_application as demo_app

    app = demo_app("1.2", validator="lxml")
    assert app.in_protocol.validation_schema is not None


def test_add_mtom_policy_on_a_bare_definitions_tree() -> None:
    root = etree.fromstring(
        f'<d:definitions xmlns:d="{WSDL}" xmlns:s="{SOAP_BINDING["1.1"]}">'
        f'<d:documentation>x</d:documentation><d:binding name="b"><s:binding/>'
        "<d:operation/></d:binding></d:definitions>")
    add_mtom_policy(root)
    assert root[1].tag == f"{{{WSP_NS}}}Policy"
    binding = root.find(f"{{{WSDL}}}binding")
    assert [etree.QName(c).localname for c in binding] == ["binding", "PolicyReference",
                                                            "operation"]


def test_tns_is_the_test_namespace() -> None:
    assert TNS.startswith("urn:")


def test_expected_content_types_on_bare_messages() -> None:
    from spyne import Application, ByteArray, ServiceBase, rpc

    class Bare(ServiceBase):  # type: ignore[misc]
        @rpc(ByteArray(expected_content_types="image/jpeg"), _body_style="bare",
             _returns=ByteArray(expected_content_types="image/*"))
        def photo(ctx, img):  # type: ignore[no-untyped-def]
            return img

    app = Application([Bare], "urn:bare", in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
    root = _wsdl(wsgi_app(app))
    found = {el.get("name"): el.get(f"{{{XMIME}}}expectedContentTypes")
             for el in root.iter(f"{{{XSD}}}element") if el.getparent().tag == f"{{{XSD}}}schema"}
    assert found["photo"] == "image/jpeg"
    assert found["photoResponse"] == "image/*"
