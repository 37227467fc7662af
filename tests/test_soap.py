"""SOAP 1.1 vs 1.2: media types, MTOM Content-Type parameters, version detection."""

from __future__ import annotations

import pytest
from lxml import etree

import mtom
from mtom import (
    SOAP11_ENV_NS,
    SOAP12_ENV_NS,
    XMIME_NS,
    XOP_NS,
    SoapVersion,
    multipart_content_type,
    parse_content_type,
    read_package,
    root_content_type,
)
from mtom.soap import soap_version_of_content_type, soap_version_of_namespace


def test_namespaces() -> None:
    assert SOAP11_ENV_NS == "http://schemas.xmlsoap.org/soap/envelope/"
    assert SOAP12_ENV_NS == "http://www.w3.org/2003/05/soap-envelope"
    assert XOP_NS == "http://www.w3.org/2004/08/xop/include"
    assert XMIME_NS == "http://www.w3.org/2005/05/xmlmime"


@pytest.mark.parametrize(("value", "version"), [
    ("1.1", SoapVersion.SOAP11), ("11", SoapVersion.SOAP11), ("SOAP11", SoapVersion.SOAP11),
    (" soap1.1 ", SoapVersion.SOAP11), ("1.2", SoapVersion.SOAP12), ("12", SoapVersion.SOAP12),
    ("Soap12", SoapVersion.SOAP12), (SoapVersion.SOAP12, SoapVersion.SOAP12),
])
def test_coerce(value: str | SoapVersion, version: SoapVersion) -> None:
    assert SoapVersion.coerce(value) is version


@pytest.mark.parametrize("value", ["1.0", "2", "", "soap"])
def test_coerce_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        SoapVersion.coerce(value)


def test_version_facts() -> None:
    v11, v12 = SoapVersion.SOAP11, SoapVersion.SOAP12
    assert (v11.value, v11.envelope_ns, v11.media_type) == ("1.1", SOAP11_ENV_NS, "text/xml")
    assert (v12.value, v12.envelope_ns, v12.media_type) == (
        "1.2", SOAP12_ENV_NS, "application/soap+xml")
    assert (v11.sender_fault_code, v11.receiver_fault_code) == ("Client", "Server")
    assert (v12.sender_fault_code, v12.receiver_fault_code) == ("Sender", "Receiver")


def test_root_content_type() -> None:
    assert root_content_type("1.1") == 'application/xop+xml; charset=UTF-8; type="text/xml"'
    assert root_content_type("1.2") == (
        'application/xop+xml; charset=UTF-8; type="application/soap+xml"')
    assert root_content_type("1.1", xop=False) == "text/xml; charset=UTF-8"
    assert root_content_type("1.2", xop=False, charset="utf-16") == (
        "application/soap+xml; charset=utf-16")


def test_multipart_content_type_soap11() -> None:
    assert multipart_content_type("1.1", boundary="MIMEBoundary_x", start="root@x") == (
        'multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_x"; '
        'start="<root@x>"; start-info="text/xml"')


def test_multipart_content_type_soap12_with_action() -> None:
    assert multipart_content_type("1.2", boundary="b", start="<root@x>", action="urn:a") == (
        'multipart/related; type="application/xop+xml"; boundary="b"; start="<root@x>"; '
        'start-info="application/soap+xml"; action="urn:a"')


def test_multipart_content_type_without_action_or_xop() -> None:
    assert "action" not in multipart_content_type("1.1", boundary="b", start="r", action="urn:a")
    assert "action" not in multipart_content_type("1.2", boundary="b", start="r")
    swa = multipart_content_type("1.2", boundary="b", start="r", xop=False)
    assert swa == 'multipart/related; type="application/soap+xml"; boundary="b"; start="<r>"'


def test_multipart_content_type_parses_back() -> None:
    ct = parse_content_type(multipart_content_type(
        "1.2", boundary="uuid:1+id=7", start="http://tempuri.org/0", action='urn:"x";y'))
    assert ct.boundary == "uuid:1+id=7"
    assert ct.get("start") == "<http://tempuri.org/0>"
    assert ct.get("action") == 'urn:"x";y'
    assert ct.get("start-info") == "application/soap+xml"
    assert ct.get("type") == "application/xop+xml"


def test_soap_version_of_namespace() -> None:
    assert soap_version_of_namespace(SOAP11_ENV_NS) is SoapVersion.SOAP11
    assert soap_version_of_namespace(SOAP12_ENV_NS) is SoapVersion.SOAP12
    assert soap_version_of_namespace("http://example.org/stuff") is None
    assert soap_version_of_namespace(None) is None


@pytest.mark.parametrize(("ct", "version"), [
    ('multipart/related; type="application/xop+xml"; start-info="text/xml"', SoapVersion.SOAP11),
    ('multipart/related; start-info="text/xml; charset=utf-8"', SoapVersion.SOAP11),
    ('multipart/related; type="application/soap+xml"', SoapVersion.SOAP12),
    ('multipart/related; type="text/xml"; start-info="application/soap+xml"', SoapVersion.SOAP12),
    ("application/soap+xml; charset=utf-8", SoapVersion.SOAP12),
    ("text/xml", SoapVersion.SOAP11),
    ("multipart/related; boundary=b", None),
    ('multipart/related; type="application/xop+xml"', None),
])
def test_soap_version_of_content_type(ct: str, version: SoapVersion | None) -> None:
    assert soap_version_of_content_type(parse_content_type(ct)) is version


def test_package_version_comes_from_the_envelope_not_the_content_type() -> None:
    """CXF sends start-info=application/soap+xml with a SOAP 1.1 envelope."""
    env = f'<s:Envelope xmlns:s="{SOAP11_ENV_NS}"><s:Body/></s:Envelope>'.encode()
    body = b"--b\r\nContent-Type: text/xml\r\n\r\n" + env + b"\r\n--b--\r\n"
    ct = 'multipart/related; type="text/xml"; boundary=b; start-info="application/soap+xml"'
    with read_package(body, ct) as pkg:
        assert pkg.soap_version is SoapVersion.SOAP11
        assert pkg.declared_soap_version is SoapVersion.SOAP12


# -- SOAP Faults: read_fault / fault_envelope -------------------------------------------------

_NODE_SOAP_12 = (  # a SOAP 1.2 envelope with SOAP 1.1's fault children (node-soap)
    b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>'
    b"<faultcode>e:Receiver</faultcode><faultstring> boom </faultstring></e:Fault></e:Body>"
    b"</e:Envelope>")


@pytest.mark.parametrize(("body", "want"), [
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
     b"<faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault></s:Body>"
     b"</s:Envelope>", ("1.1", "s:Client", "bad", True)),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>'
     b"<e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text>no</e:Text></e:Reason>"
     b"</e:Fault></e:Body></e:Envelope>", ("1.2", "e:Sender", "no", True)),
    (_NODE_SOAP_12, ("1.2", "e:Receiver", "boom", False)),
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ok/></s:Body>'
     b"</s:Envelope>", None),
    (b'<Envelope xmlns="urn:other"><Body><Fault/></Body></Envelope>', None),
])
def test_read_fault(body: bytes, want: tuple[str, str, str, bool] | None) -> None:
    fault = mtom.read_fault(mtom.parse_xml(body))
    got = None if fault is None else (fault.version.value, fault.code, fault.reason, fault.native)
    assert got == want


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("upgrade", [None, "1.1", "1.2"])
def test_fault_envelope_reads_back(version: str, upgrade: str | None) -> None:
    env = mtom.fault_envelope(version, "VersionMismatch", "use <the> other", upgrade=upgrade)
    fault = mtom.read_fault(mtom.parse_xml(etree.tostring(env)))
    assert fault is not None and fault.native
    assert (fault.version.value, fault.code, fault.reason) == (
        version, "env:VersionMismatch", "use <the> other")
    supported = env.findall(f"*/{{{mtom.SOAP12_ENV_NS}}}Upgrade/"
                            f"{{{mtom.SOAP12_ENV_NS}}}SupportedEnvelope")
    if upgrade is None:
        assert supported == []
    else:
        ns = mtom.SoapVersion.coerce(upgrade).envelope_ns
        assert [s.get("qname") for s in supported] == ["supported:Envelope"]
        assert supported[0].nsmap["supported"] == ns


@pytest.mark.parametrize(("version", "code", "status"), [
    ("1.1", "Client", 500), ("1.1", "Server", 500), ("1.2", "Client", 400),
    ("1.2", "Client.MalformedMime", 400), ("1.2", "env:Sender", 400),
    ("1.2", "Server", 500), ("1.2", "Receiver", 500), ("1.2", "", 500),
])
def test_fault_http_status(version: str, code: str, status: int) -> None:
    assert mtom.soap.fault_http_status(version, code) == status


def test_qualify_subcodes() -> None:
    env = mtom.fault_envelope("1.2", "Sender", "no")
    code = env.find(f".//{{{SOAP12_ENV_NS}}}Code")
    assert code is not None
    for text in ("MalformedMime", "x:Kept"):
        sub = etree.SubElement(code, f"{{{SOAP12_ENV_NS}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12_ENV_NS}}}Value").text = text
    mtom.soap.qualify_subcodes(env, "urn:t")
    first, kept = env.iter(f"{{{SOAP12_ENV_NS}}}Subcode")
    value = first.find(f"{{{SOAP12_ENV_NS}}}Value")
    assert value is not None and value.text == "sub:MalformedMime"
    assert value.nsmap["sub"] == "urn:t"
    assert kept.findtext(f"{{{SOAP12_ENV_NS}}}Value") == "x:Kept"
    mtom.soap.qualify_subcodes(env)  # idempotent: qualified values stay
    assert env.findtext(f".//{{{SOAP12_ENV_NS}}}Subcode/{{{SOAP12_ENV_NS}}}Value") == (
        "sub:MalformedMime")


@pytest.mark.parametrize(("received", "service", "reply", "got"), [
    (SOAP11_ENV_NS, "1.2", SoapVersion.SOAP11, "SOAP 1.1"),
    (SOAP12_ENV_NS, "1.1", SoapVersion.SOAP11, "SOAP 1.2"),
    ("urn:other", "1.2", SoapVersion.SOAP12, "no SOAP version"),
    (None, "1.1", SoapVersion.SOAP11, "no SOAP version"),
])
def test_version_mismatch(received: str | None, service: str, reply: SoapVersion,
                          got: str) -> None:
    version, reason = mtom.soap.version_mismatch(received, service)
    assert version is reply
    assert f"({got}); this endpoint speaks SOAP {service} only" in reason
    assert SoapVersion.coerce(service).envelope_ns in reason


def test_xml_text_makes_any_peer_string_writable() -> None:
    for value in ("a\x00b\udc80", b"\xff\x0bz"):
        text = mtom.soap.xml_text(value)
        etree.SubElement(etree.Element("r"), "t").text = text  # lxml refuses unsafe text
    assert mtom.soap.xml_text("plain é") == "plain é"


@pytest.mark.parametrize("xml", [
    "<e/>", '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
    '<Envelope xmlns="urn:a:b"/>', '<a xmlns=""/>', '<a:b xmlns:a="http://x/%7Bodd%7D"/>',
])
def test_namespace_of_is_what_qname_says(xml: str) -> None:
    element = etree.fromstring(xml)
    assert mtom.soap.namespace_of(element) == etree.QName(element).namespace


def test_namespace_of_a_comment_is_none() -> None:
    assert mtom.soap.namespace_of(etree.Comment("c")) is None
