"""WS-Security: a signed request sent as MTOM still verifies after reconstitution."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import ECHO11, ECHO12, EchoApp, SharedServer, echo_service, pattern

import mtom

pytest.importorskip("xmlsec")
from zeep.wsse.signature import Signature, verify_envelope
from zeep.wsse.username import UsernameToken


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test key pair")
    d = tmp_path_factory.mktemp("keys")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj",
                    "/CN=soap-mtom-test"], check=True, capture_output=True)
    return d / "key.pem", d / "cert.pem"


class SignOnly(Signature):  # type: ignore[misc]
    """Signs requests; the echo service does not sign its replies."""

    def verify(self, envelope: Any) -> Any:
        return envelope


def _verify(received: Any, cert: Path) -> None:
    package = mtom.read_package(received.body, received.header("content-type"))
    root = package.root_element()
    result = mtom.reconstitute(root, package)
    assert result.references, "the request carried no xop:Include"
    mtom.inline_base64(result.references)
    verify_envelope(root, str(cert))


@pytest.mark.parametrize("binding", [ECHO11, ECHO12])
def test_signed_request_verifies_after_reconstitution(served: SharedServer, binding: str,
                                                      keys: tuple[Path, Path]) -> None:
    key, cert = keys
    values = [pattern(5000), pattern(3000, seed=4)]
    app = EchoApp()
    with echo_service(served, app, binding=binding, mtom=True,
                      wsse=SignOnly(str(key), str(cert))) as (svc, _):
        result = svc.Echo(name="signed", data=values, derived=values[1])
    assert result.data == values and result.derived == values[1]
    got = app.last
    assert got.multipart and all(v.via_include for v in got.values)
    assert b"Signature" in got.envelope
    _verify(got, cert)


def test_tampered_part_fails_verification(served: SharedServer,
                                          keys: tuple[Path, Path]) -> None:
    from zeep.exceptions import SignatureVerificationFailed

    key, cert = keys
    value = pattern(5000)
    app = EchoApp()
    with echo_service(served, app, mtom=True, wsse=SignOnly(str(key), str(cert))) as (svc, _):
        svc.Echo(data=[value])
    got = app.last
    assert got.body is not None
    marker = value[100:140]
    got.body = got.body.replace(marker, bytes(b ^ 1 for b in marker), 1)
    with pytest.raises(SignatureVerificationFailed):
        _verify(got, cert)


def test_username_token_keeps_the_fast_path(served: SharedServer) -> None:
    value = pattern(5000)
    app = EchoApp()
    with echo_service(served, app, mtom=True,
                      wsse=UsernameToken("user", "secret")) as (svc, _):
        assert svc.Echo(data=[value]).data == [value]
    assert b"UsernameToken" in app.last.envelope and app.last.values[0].via_include


@pytest.mark.parametrize("binding", [ECHO11, ECHO12])
def test_signed_mtom_reply_verifies_in_zeep(served: SharedServer, binding: str,
                                            keys: tuple[Path, Path]) -> None:
    key, cert = keys
    values = [pattern(5000), pattern(3000, seed=5)]
    app = EchoApp(sign=(str(key), str(cert)))
    with echo_service(served, app, binding=binding, mtom=True,
                      wsse=Signature(str(key), str(cert))) as (svc, transport):
        result = svc.Echo(name="both ways", data=values)
        assert result.data == values
        reply = transport.last_reply
        assert reply is not None and reply.is_xop and len(reply.references) == 2


def test_tampered_signed_reply_is_rejected(served: SharedServer,
                                           keys: tuple[Path, Path]) -> None:
    from zeep.exceptions import SignatureVerificationFailed

    key, cert = keys
    value = pattern(5000)
    app = EchoApp(sign=(str(key), str(cert)))
    inner = app.__call__

    def tamper(environ: dict[str, Any], start_response: Any) -> Any:
        body = b"".join(inner(environ, start_response))
        marker = value[200:240]
        return [body.replace(marker, bytes(b ^ 1 for b in marker), 1)]

    with echo_service(served, tamper, mtom=True,  # type: ignore[arg-type]
                      wsse=Signature(str(key), str(cert))) as (svc, _), \
            pytest.raises(SignatureVerificationFailed):
        svc.Echo(data=[value])
