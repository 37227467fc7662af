"""Zeep with a default ``MtomTransport()`` (``mtom=None``) follows the MTOM WS-Policy of the
WSDL it loaded from the live server: JAX-WS RI and the Spyne echo advertise
``wsoma:OptimizedMimeSerialization``, so requests go out as MTOM; gSOAP's hand-written WSDL has
no policy, so they stay plain. Checked on the wire through the recording proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from interop import scenarios
from interop.capture import RecordingProxy
from interop.conftest import require_case

EXPECTED_MTOM = {"jaxws": True, "gsoap": False, "spyne": True}


@pytest.mark.parametrize("version", scenarios.VERSIONS)
@pytest.mark.parametrize("server", [
    pytest.param("jaxws", marks=pytest.mark.live),
    pytest.param("gsoap", marks=pytest.mark.live),
    "spyne",
])
def test_default_transport_follows_wsdl_policy(server: str, version: scenarios.SoapVersion,
                                               interop_endpoints: scenarios.Endpoints,
                                               interop_workdir: Path) -> None:
    require_case(scenarios.Case(scenarios.Direction("zeep", server), version,
                                scenarios.SCENARIOS["1b"]))
    import zeep
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

    from zeep_mtom import MtomTransport

    endpoint = interop_endpoints.get(server, True)
    spec = scenarios.ValueSpec(5000, None, 99)
    transport = MtomTransport()
    try:
        client = zeep.Client(endpoint.wsdl_url(version), transport=transport)  # type: ignore[no-untyped-call]
        kind = Soap11Binding if version == "1.1" else Soap12Binding
        (name,) = [n for n, b in client.wsdl.bindings.items() if type(b) is kind]
        assert transport.sends_mtom(name) is EXPECTED_MTOM[server]
        with RecordingProxy.for_url(endpoint.base_url) as proxy:
            service = client.create_service(name, proxy.url(endpoint.url(version)))  # type: ignore[no-untyped-call]
            reply = service.EchoTest(Data=[{"_value_1": spec.payload()}])
    finally:
        transport.session.close()
    (exchange,) = proxy.posts()
    assert scenarios.is_mtom_content_type(exchange.request.content_type) is EXPECTED_MTOM[server]
    items = getattr(reply, "Data", reply)
    assert [bytes(i["_value_1"]) for i in items] == [spec.payload()]
