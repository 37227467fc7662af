"""WS-Policy MTOM detection: PolicyIndex on its own, and what a plain MtomTransport() sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zeep
from _support import DATA, NS, EchoApp, SharedServer, echo_service, pattern
from lxml import etree

from mtom.policy import WSOMA_NS, WSP12_NS, WSP15_NS
from zeep_mtom import MtomPolicy, MtomTransport, PolicyIndex


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


def _binding(local: str) -> str:
    return f"{{{NS}}}{local}"


@pytest.mark.parametrize(("wsdl", "expected"), [
    ("echo.wsdl", {"Echo11Binding": MtomPolicy.NONE, "Echo12Binding": MtomPolicy.NONE}),
    ("echo-policy.wsdl", {"Echo11Binding": MtomPolicy.REQUIRED,
                          "Echo12Binding": MtomPolicy.REQUIRED,
                          "EchoPortPolicyBinding": MtomPolicy.REQUIRED,
                          "EchoPlainBinding": MtomPolicy.NONE}),
    ("echo-policy-optional.wsdl", {"Echo11Binding": MtomPolicy.OPTIONAL,
                                   "Echo12Binding": MtomPolicy.OPTIONAL}),
])
def test_policies_of_the_test_wsdls(wsdl: str, expected: dict[str, MtomPolicy]) -> None:
    transport = MtomTransport()
    client = zeep.Client(str(DATA / wsdl), transport=transport)
    assert set(client.wsdl.bindings) == {_binding(b) for b in expected}
    for local, policy in expected.items():
        assert transport.binding_policy(_binding(local)) is policy
        assert transport.binding_policy(etree.QName(NS, local)) is policy
        assert transport.sends_mtom(_binding(local)) is policy.enabled


@pytest.mark.parametrize(("wsdl", "binding", "options", "multipart"), [
    ("echo-policy.wsdl", "Echo11Binding", {}, True),
    ("echo-policy.wsdl", "Echo12Binding", {}, True),
    ("echo-policy.wsdl", "EchoPortPolicyBinding", {}, True),
    ("echo-policy.wsdl", "EchoPlainBinding", {}, False),
    ("echo-policy.wsdl", "Echo11Binding", {"mtom": False}, False),
    ("echo-policy.wsdl", "EchoPlainBinding", {"mtom": True}, True),
    ("echo-policy-optional.wsdl", "Echo11Binding", {}, True),
    ("echo.wsdl", "Echo11Binding", {}, False),
    ("echo.wsdl", "Echo12Binding", {"mtom": True}, True),
])
def test_what_goes_on_the_wire(served: SharedServer, wsdl: str, binding: str,
                               options: dict[str, Any], multipart: bool) -> None:
    value = pattern(4000)
    app = EchoApp()
    with echo_service(served, app, wsdl=wsdl, binding=_binding(binding), **options) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    assert app.last.multipart is multipart
    assert app.last.values[0].via_include is multipart


# -- PolicyIndex on its own --------------------------------------------------------------------

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"


def _wsdl(body: str, wsp: str = WSP15_NS, extra: str = "") -> bytes:
    return (f'<definitions xmlns="{WSDL_NS}" xmlns:wsp="{wsp}" xmlns:wsoma="{WSOMA_NS}" '
            f'xmlns:wsu="{WSU}" xmlns:t="urn:t" targetNamespace="urn:t" {extra}>{body}'
            "</definitions>").encode()


MTOM = "<wsoma:OptimizedMimeSerialization/>"


@pytest.mark.parametrize(("doc", "policy"), [
    (_wsdl(f'<binding name="B"><wsp:Policy>{MTOM}</wsp:Policy></binding>'),
     MtomPolicy.REQUIRED),
    (_wsdl(f'<binding name="B"><wsp:Policy>{MTOM}</wsp:Policy></binding>', WSP12_NS),
     MtomPolicy.REQUIRED),
    (_wsdl(f'<wsp:Policy wsu:Id="p">{MTOM}</wsp:Policy>'
           '<binding name="B"><wsp:PolicyReference URI="#p"/></binding>'), MtomPolicy.REQUIRED),
    (_wsdl(f'<wsp:Policy xml:id="p">{MTOM}</wsp:Policy>'
           '<binding name="B"><wsp:PolicyReference URI="#p"/></binding>'), MtomPolicy.REQUIRED),
    (_wsdl(f'<wsp:Policy Name="urn:policies:mtom">{MTOM}</wsp:Policy>'
           '<binding name="B"><wsp:PolicyReference URI="urn:policies:mtom"/></binding>'),
     MtomPolicy.REQUIRED),
    (_wsdl(f'<wsp:Policy wsu:Id="p">{MTOM}</wsp:Policy><binding name="B" wsp:PolicyURIs="#p"/>'),
     MtomPolicy.REQUIRED),
    (_wsdl(f'<wsp:Policy wsu:Id="inner">{MTOM}</wsp:Policy>'
           '<wsp:Policy wsu:Id="outer"><wsp:PolicyReference URI="#inner"/></wsp:Policy>'
           '<binding name="B"><wsp:PolicyReference URI="#outer"/></binding>'),
     MtomPolicy.REQUIRED),
    (_wsdl('<binding name="B"><wsp:Policy><wsoma:OptimizedMimeSerialization '
           'wsp:Optional="true"/></wsp:Policy></binding>'), MtomPolicy.OPTIONAL),
    (_wsdl(f"<binding name=\"B\"><wsp:Policy><wsp:ExactlyOne><wsp:All>{MTOM}</wsp:All><wsp:All/>"
           "</wsp:ExactlyOne></wsp:Policy></binding>"), MtomPolicy.OPTIONAL),
    (_wsdl(f"<binding name=\"B\"><wsp:Policy><wsp:ExactlyOne><wsp:All>{MTOM}<x:A xmlns:x='urn:x'/>"
           f"</wsp:All><wsp:All>{MTOM}</wsp:All></wsp:ExactlyOne></wsp:Policy></binding>"),
     MtomPolicy.REQUIRED),
    (_wsdl("<binding name=\"B\"><wsp:Policy><x:Other xmlns:x='urn:x'><wsp:Policy>"
           f"{MTOM}</wsp:Policy></x:Other></wsp:Policy></binding>"), MtomPolicy.NONE),
    (_wsdl('<binding name="B"><wsp:PolicyReference URI="#missing"/></binding>'),
     MtomPolicy.NONE),
    (_wsdl('<wsp:Policy wsu:Id="a"><wsp:PolicyReference URI="#b"/></wsp:Policy>'
           '<wsp:Policy wsu:Id="b"><wsp:PolicyReference URI="#a"/></wsp:Policy>'
           '<binding name="B"><wsp:PolicyReference URI="#a"/></binding>'), MtomPolicy.NONE),
    (_wsdl(f'<binding name="B"/><service name="S"><port name="P" binding="t:B">'
           f"<wsp:Policy>{MTOM}</wsp:Policy></port></service>"), MtomPolicy.REQUIRED),
    (_wsdl('<binding name="B"/>'), MtomPolicy.NONE),
])
def test_policy_expressions(doc: bytes, policy: MtomPolicy) -> None:
    index = PolicyIndex()
    index.add_document(doc, "file:///x.wsdl")
    assert index.binding_policy("{urn:t}B") is policy


def test_policy_defined_in_another_document() -> None:
    index = PolicyIndex()
    index.add_document(_wsdl('<binding name="B"><wsp:PolicyReference '
                             'URI="http://example/policies.xml#mtom"/></binding>'))
    index.add_document(f'<wsp:Policy xmlns:wsp="{WSP15_NS}" xmlns:wsoma="{WSOMA_NS}" '
                       f'xmlns:wsu="{WSU}" wsu:Id="mtom">{MTOM}</wsp:Policy>'.encode(),
                       "http://example/policies.xml")
    assert index.binding_policy("{urn:t}B") is MtomPolicy.REQUIRED


@pytest.mark.parametrize("doc", [b"", b"not xml <policy", b"<x>olicy</x>",
                                 b'<!DOCTYPE d [<!ENTITY e "policy">]><d>&e;</d>'])
def test_documents_without_policies_are_ignored(doc: bytes) -> None:
    index = PolicyIndex()
    index.add_document(doc)
    assert len(index) == 0
    assert index.binding_policy("{urn:t}B") is MtomPolicy.NONE
