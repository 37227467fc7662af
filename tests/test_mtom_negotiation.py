"""mtom.negotiation: refusals, what to resend as, what a client remembers, foreign faults."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from _support import VERSION_MISMATCH_11 as VM11
from _support import VERSION_MISMATCH_12 as VM12

import mtom
from mtom.negotiation import (
    EndpointMemory,
    Negotiator,
    fault_reason,
    foreign_fault,
    refusal,
    refused_message,
)


def test_memory_is_bounded_and_keeps_the_recent() -> None:
    memory: EndpointMemory[str] = EndpointMemory(size=3)
    for i in range(5):
        memory.remember(f"http://h/{i}", "plain")
    assert memory.get("http://h/2") == "plain"  # refreshed
    memory.remember("http://h/9", "mtom")
    assert len(memory) == 3
    assert [memory.get(f"http://h/{i}") for i in (0, 1, 2, 3, 4, 9)] == [
        None, None, "plain", None, "plain", "mtom"]


@pytest.mark.parametrize(("sent", "status", "reason", "headers", "body", "want"), [
    ("mtom", 415, "Unsupported Media Type", {}, b"", "plain"),
    ("mtom", 500, "", {}, b"not xml", None),
    ("mtom", 200, "OK", {}, b"", None),
    ("plain", 415, "Unsupported Media Type", {}, b"", None),
    ("plain", 415, "", {"Accept": "multipart/related"}, b"", "mtom"),
    ("plain", 415, "expected multipart/related", {}, b"", "mtom"),
    ("plain", 415, "", {}, b"<html>application/xop+xml required</html>", "mtom"),
    ("plain", 400, "", {}, b"multipart/related", None),
])
def test_refusal_rules(sent: Any, status: int, reason: str, headers: dict[str, str], body: bytes,
                       want: str | None) -> None:
    assert refusal(sent, status, reason, headers, body) == want


# -- faults in the other SOAP version (VersionMismatch) ----------------------------------------


def test_same_version_faults_are_left_to_zeep() -> None:
    assert foreign_fault("http://schemas.xmlsoap.org/soap/envelope/", 500, VM11) is None
    assert foreign_fault("http://www.w3.org/2003/05/soap-envelope", 500, VM12) is None
    assert foreign_fault("http://www.w3.org/2003/05/soap-envelope", 500, b"<html/>") is None


def test_foreign_faults_keep_the_peers_code_and_reason() -> None:
    fault = foreign_fault(mtom.SOAP11_ENV_NS, 500, VM12)
    assert fault is not None and fault.code == "env:VersionMismatch"
    assert fault.message is not None and fault.message.startswith("Couldn't create SOAP")
    assert "(Upgrade: ns1:Envelope)" in fault.message and fault.actor is None
    assert foreign_fault(mtom.SOAP11_ENV_NS, 200, VM12) is None  # not a fault status
    node_soap = (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
                 b"<e:Fault><faultcode>e:Sender</faultcode><faultstring>bad</faultstring>"
                 b"<detail>why</detail></e:Fault></e:Body></e:Envelope>")
    fault = foreign_fault(mtom.SOAP12_ENV_NS, 500, node_soap)
    assert fault is not None and (fault.message, fault.code) == ("bad", "e:Sender")
    assert fault.detail is not None and fault.detail.text == "why"


def test_fault_reason_and_refused_message() -> None:
    assert fault_reason(VM11) == "Wrong SOAP version: expected " + mtom.SOAP11_ENV_NS
    assert fault_reason(b"<html/>") is None and fault_reason(b"Fault, not xml") is None
    text = refused_message("http://h/s", "mtom", 415, resent=True, content=VM11)
    assert text.startswith("http://h/s answered HTTP 415 (Unsupported Media Type) to an MTOM")
    assert "the server said 'Wrong SOAP version" in text and "refused as well" in text
    assert "pass mtom=False" in text
    text = refused_message("http://h/s", "plain", 415, resent=False, why_not="no")
    assert "a plain SOAP request" in text and "pass mtom=True" in text
    assert "it was not resent as plain SOAP: no" in text


# -- the Negotiator: one client's state -------------------------------------------------------


def test_negotiator_remembers_an_accepted_resend(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("mtom.test")
    caplog.set_level(logging.DEBUG, logger="mtom.test")
    negotiator = Negotiator(True, log, size=2)
    assert negotiator.steer("http://h/a", "mtom") is None
    assert negotiator.resend_as("mtom", 415, "Unsupported", {}, b"") == "plain"
    negotiator.settle("http://h/a", "mtom", 415, "", {}, b"", resent=True)  # refused again
    assert len(negotiator.memory) == 0
    negotiator.settle("http://h/a", "plain", 200, "OK", {}, b"", resent=False)  # no resend
    assert len(negotiator.memory) == 0
    negotiator.settle("http://h/a", "plain", 200, "OK", {}, b"", resent=True)
    assert negotiator.steer("http://h/a", "mtom") == "plain"
    assert negotiator.steer("http://h/a", "plain") is None
    assert [r.levelname for r in caplog.records] == ["INFO", "DEBUG"]


def test_a_negotiator_that_is_off_never_resends_or_steers() -> None:
    negotiator = Negotiator(False, logging.getLogger("mtom.test"))
    negotiator.memory.remember("http://h/a", "plain")
    assert negotiator.steer("http://h/a", "mtom") is None
    assert negotiator.resend_as("mtom", 415, "Unsupported", {}, b"") is None


def test_resending_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mtom.test")
    Negotiator(True, logging.getLogger("mtom.test")).resending("http://h/a", 415, "mtom", "plain")
    assert [r.getMessage() for r in caplog.records] == [
        "http://h/a answered HTTP 415 refusing the mtom request's media type: resending it "
        "once as plain"]
