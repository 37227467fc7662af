"""The Zeep hooks: inert for other transports, active for ours, per thread and task."""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

import zeep
from _support import DATA, ECHO11, NS
from lxml import etree
from zeep.cache import InMemoryCache
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.types.builtins import Base64Binary

import zeep_mtom
from zeep_mtom import hooks

RAW = bytes(range(256)) * 10


def _plain_client() -> zeep.Client:
    cache = InMemoryCache()
    url = "http://www.w3.org/2005/05/xmlmime"
    cache.add(url, zeep_mtom.schema_for(url))
    return zeep.Client(str(DATA / "echo.wsdl"), transport=zeep.Transport(cache=cache))


def test_install_is_idempotent_and_wraps_zeep() -> None:
    zeep_mtom.install()
    zeep_mtom.install()
    assert hooks.installed()
    for owner, name in ((Base64Binary, "render"), (Base64Binary, "pythonvalue"),
                        (Base64Binary, "xmlvalue"), (SoapBinding, "send"),
                        (SoapBinding, "send_async")):
        wrapper = getattr(owner, name)
        assert getattr(wrapper, "__zeep_mtom_original__", None) is not None
        assert getattr(wrapper.__zeep_mtom_original__, "__zeep_mtom_original__", None) is None


def test_other_transports_serialise_exactly_as_before() -> None:
    zeep_mtom.install()
    client = _plain_client()
    svc = client.create_service(ECHO11, "http://127.0.0.1:9/")
    envelope = client.create_message(svc, "Echo", data=[RAW], derived=RAW)
    texts = [e.text for e in envelope.iter(f"{{{NS}}}data", f"{{{NS}}}derived")]
    assert texts == [base64.b64encode(RAW).decode()] * 2
    assert hooks.current_call() is None
    base64_type = client.wsdl.types.get_type("{http://www.w3.org/2001/XMLSchema}base64Binary")
    assert base64_type.pythonvalue(base64.b64encode(RAW).decode()) == RAW
    original = Base64Binary.pythonvalue.__zeep_mtom_original__
    for text in ("cid:looks@like.a.token", "Y2lkOng="):
        try:
            expected: object = original(base64_type, text)
        except binascii.Error as exc:
            expected = type(exc)
        try:
            got: object = base64_type.pythonvalue(text)
        except binascii.Error as exc:
            got = type(exc)
        assert got == expected


def test_files_and_paths_are_accepted_outside_a_call(tmp_path: Path) -> None:
    zeep_mtom.install()
    path = tmp_path / "v.bin"
    path.write_bytes(RAW)
    client = zeep.Client(str(DATA / "echo.wsdl"), transport=zeep_mtom.MtomTransport())
    svc = client.create_service(ECHO11, "http://127.0.0.1:9/")
    envelope = client.create_message(svc, "Echo", data=[path, io.BytesIO(RAW)])
    assert [e.text for e in envelope.iter(f"{{{NS}}}data")] == [
        base64.b64encode(RAW).decode()] * 2
    assert etree.QName(envelope).localname == "Envelope"
