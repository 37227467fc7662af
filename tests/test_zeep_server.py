"""The echo service the Zeep adapter tests talk to (``_support.EchoApp``): its own checks."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from _support import EchoApp, pattern, post, request_envelope

import mtom


@pytest.mark.parametrize("reply", ["mtom", "plain"])
def test_echo_app_answers_mtom_request(wsgi_server: Any, reply: str) -> None:
    payload = pattern(5000)
    app = EchoApp(reply=reply)
    envelope, parts = request_envelope(mtom.SoapVersion.SOAP11, payload, include=True)
    package = mtom.OutgoingPackage(envelope, parts)
    with wsgi_server(app) as url:
        status, headers, content = post(url, package.to_bytes(), package.headers)
    assert status == 200
    assert app.last.values[0].data == payload and app.last.values[0].via_include
    if reply == "mtom":
        got = mtom.read_package(content, headers["Content-Type"])
        assert got.attachments[0].read() == payload
    else:
        assert headers["Content-Type"].startswith("text/xml")
        assert base64.b64encode(payload) in content


def test_echo_app_answers_plain_soap12(wsgi_server: Any) -> None:
    payload = pattern(100)
    app = EchoApp(reply="plain")
    envelope, _ = request_envelope(mtom.SoapVersion.SOAP12, payload, include=False)
    with wsgi_server(app) as url:
        _, headers, _ = post(url, envelope, {"Content-Type": "application/soap+xml; charset=utf-8"})
    assert headers["Content-Type"].startswith("application/soap+xml")
    assert app.last.values[0].data == payload and not app.last.values[0].via_include


def test_pattern_has_crlf_edges_and_boundary_text() -> None:
    p = pattern(4096)
    assert len(p) == 4096 and p[:2] == b"\r\n" and p[-2:] == b"\r\n"
    assert b"\r\n--MIMEBoundary_" in p and b"--uuid:abc--" in p
    assert pattern(4096, seed=1) != p


