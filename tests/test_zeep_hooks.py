"""The Zeep hooks: inert for other transports, active for ours (the per-call value decisions
they ask for are tests/test_mtom_call.py's)."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from _support import (
    DATA,
    ECHO11,
    ECHO12,
    INTEROP,
    NS,
    CannedApp,
    EchoApp,
    SharedServer,
    echo_service,
    gsoap_echo_client,
)
from lxml import etree
from zeep.cache import InMemoryCache
from zeep.plugins import HistoryPlugin
from zeep.wsdl.bindings import soap as zeep_soap
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd.types.builtins import Base64Binary, String

import mtom
import zeep_mtom
from zeep_mtom import hooks

RAW = bytes(range(256)) * 20  # 5120 bytes


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
                        (SoapBinding, "send"), (SoapBinding, "send_async"),
                        (String, "render")):
        wrapper = getattr(owner, name)
        assert getattr(wrapper, "__zeep_mtom_original__", None) is not None
        assert getattr(wrapper.__zeep_mtom_original__, "__zeep_mtom_original__", None) is None
    # The reply parse: only the name process_reply looks up, never zeep.loader's own.
    import zeep.loader
    assert zeep_soap.parse_xml.__zeep_mtom_original__ is zeep.loader.parse_xml
    assert getattr(zeep.loader.parse_xml, "__zeep_mtom_original__", None) is None


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


def test_outside_a_call_values_are_zeeps_business(tmp_path: Path) -> None:
    # Inert outside our calls: a Path is what Zeep makes of it (a TypeError), even for
    # a client of an MtomTransport when it only builds a message (no call, no context).
    zeep_mtom.install()
    path = tmp_path / "v.bin"
    path.write_bytes(RAW)
    client = zeep.Client(str(DATA / "echo.wsdl"), transport=zeep_mtom.MtomTransport())
    svc = client.create_service(ECHO11, "http://127.0.0.1:9/")
    envelope = client.create_message(svc, "Echo", data=[RAW])
    assert [e.text for e in envelope.iter(f"{{{NS}}}data")] == [base64.b64encode(RAW).decode()]
    assert etree.QName(envelope).localname == "Envelope"
    for value in (path, io.BytesIO(RAW)):
        with pytest.raises(TypeError):
            client.create_message(svc, "Echo", data=[value])


# -- usage errors over real HTTP: nothing is sent, the message names the field -------------


@pytest.fixture(scope="module")
def served() -> Iterator[SharedServer]:
    with SharedServer.start() as server:
        yield server


def _refused(served: SharedServer, match: str, **kwargs: Any) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, _):
        with pytest.raises(mtom.UsageError, match=match):
            svc.Echo(**kwargs)
        assert not app.received
        assert svc.Echo(data=[RAW]).data == [RAW]  # the transport is fine afterwards


def test_directory_path_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    _refused(served, r"field 'Echo\.data': .* is a directory, not a file; expected bytes, "
             "a pathlib.Path to a file", data=[tmp_path])


def test_text_mode_file_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x" * 5000)
    with path.open("r") as text:
        _refused(served, r"field 'Echo\.data': the file .* is open in text mode; open it in "
                 "binary mode", data=[text])


def test_closed_file_is_a_usage_error(served: SharedServer, tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(RAW)
    with path.open("rb") as closed:
        pass
    _refused(served, r"field 'Echo\.data': the file .*a\.bin' is closed", data=[closed])
    with path.open("rb") as closed:
        pass
    _refused(served, r"field 'Echo\.derived': the file .* is closed", derived=closed)


def test_path_for_a_string_field_is_a_usage_error_with_mtom(served: SharedServer,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(RAW)
    _refused(served, r"field 'Echo\.name' is an xs:string but was given a path "
             r"\('.*video\.mp4'\); files go into xs:base64Binary fields", name=path)
    app = EchoApp()
    with echo_service(served, app, mtom=False) as (svc, _):  # Zeep's behaviour otherwise
        assert svc.Echo(name=path).name == str(path)


def test_str_for_a_binary_field_warns_but_is_sent_as_base64(served: SharedServer) -> None:
    app = EchoApp()
    with echo_service(served, app, mtom=True) as (svc, _), pytest.warns(
            mtom.UsageWarning, match=r"field 'Echo\.data' .* given a str.*pass "
                                     r"bytes \(text\.encode\(\)\).*pathlib\.Path"):
        svc.Echo(data=[base64.b64encode(RAW).decode()])
    assert app.last.values[0].data == RAW  # Zeep's convention stays: base64 text


# -- one parse of a reply's envelope ---------------------------------------------------


class _ZeepParses:
    """Counts the parses Zeep's own ``parse_xml`` does for ``process_reply``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = hooks._ORIGINALS["parse_xml"]

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)
        monkeypatch.setitem(hooks._ORIGINALS, "parse_xml", counting)


def _outcome(call: Any) -> tuple[str, object]:
    try:
        return "value", zeep.helpers.serialize_object(call(), dict)
    except Exception as exc:  # the outcome compared: type and message
        return type(exc).__name__, str(exc)


def _both_ways(monkeypatch: pytest.MonkeyPatch, call: Any) -> tuple[tuple[str, object], int, int]:
    """The call's outcome when Zeep is handed the transport's tree, which must equal the
    outcome of Zeep parsing the bytes itself; and Zeep's parses each way."""
    parses = _ZeepParses(monkeypatch)
    single = _outcome(call)
    handed = parses.count
    with monkeypatch.context() as m:
        m.setattr(mtom.ClientCall, "parsed_reply", lambda self, content: None)
        parses.count = 0
        assert _outcome(call) == single
    return single, handed, parses.count


@pytest.mark.parametrize(("reply", "binding"), [
    ("mtom", ECHO11), ("mtom", ECHO12), ("plain", ECHO11), ("fault", ECHO11), ("fault", ECHO12)])
def test_replies_give_the_same_values_with_one_parse(
        served: SharedServer, monkeypatch: pytest.MonkeyPatch, reply: str, binding: str) -> None:
    app = EchoApp(reply=reply, reply_threshold=1024)
    with echo_service(served, app, binding=binding, mtom=True) as (svc, _):
        outcome, handed, parsed = _both_ways(
            monkeypatch, lambda: svc.Echo(data=[RAW, b"small"], derived=RAW))
    if reply == "fault":
        assert outcome == ("Fault", "echo refused")
    else:
        assert outcome[0] == "value" and isinstance(outcome[1], dict)
        assert outcome[1]["data"] == [RAW, b"small"] and outcome[1]["derived"] == RAW
    # A multipart reply is parsed once, by the transport; a plain one once, by Zeep.
    assert (handed, parsed) == ((1, 1) if reply == "plain" else (0, 1))


@pytest.mark.parametrize("capture", [
    "gsoap-reply-soap11-1a", "axis-reply-soap11-swa-reply",
    "known/nodesoap-reply-soap11-mtom-fault"])
def test_peer_replies_give_the_same_values_with_one_parse(
        wsgi_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capture: str) -> None:
    app = CannedApp.from_capture((INTEROP / "captures" / f"{capture}.http").read_bytes())
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=True, threshold=0) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        service = client.bind("EchoService", "EchoPort11")
        outcome, handed, parsed = _both_ways(
            monkeypatch, lambda: service.EchoTest(Data=[{"_value_1": b"payload"}]))
    assert (handed, parsed) == (0, 1)
    if "fault" in capture:
        assert outcome[0] == "Fault"
    else:
        assert outcome[0] == "value" and isinstance(outcome[1], list) and outcome[1]
        assert all(isinstance(d["_value_1"], bytes) and d["_value_1"] for d in outcome[1])


def test_comments_go_as_zeeps_parser_drops_them_after_the_xop_checks(
        wsgi_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    part = mtom.OutgoingPart(RAW)
    root = (f'<e:Envelope xmlns:e="{mtom.SOAP11_ENV_NS}"><e:Body><x:EchoResponse xmlns:x="{NS}">'
            f'<x:data><!-- a comment --><xop:Include xmlns:xop="{mtom.XOP_NS}" '
            f'href="{mtom.cid_href(part.content_id)}"/></x:data><x:derived>'
            f'<!-- c -->{base64.b64encode(b"abc").decode()}</x:derived>'
            '</x:EchoResponse></e:Body></e:Envelope>').encode()
    # A comment beside an xop:Include is refused as before (the XOP check sees it).
    package = mtom.OutgoingPackage(root, [part])
    app = CannedApp(("200 OK", list(package.headers.items()), package.to_bytes()))
    with echo_service(wsgi_server, app, mtom=True) as (svc, _), \
            pytest.raises(mtom.InvalidInclude):
        svc.Echo(data=[b"x"])
    package = mtom.OutgoingPackage(root.replace(b"<!-- a comment -->", b""), [part])
    app = CannedApp(("200 OK", list(package.headers.items()), package.to_bytes()))
    history = HistoryPlugin()
    with echo_service(wsgi_server, app, mtom=True, plugins=[history]) as (svc, _):
        outcome, handed, parsed = _both_ways(monkeypatch, lambda: svc.Echo(data=[b"x"]))
    assert b"<!--" not in etree.tostring(history.last_received["envelope"])
    assert outcome[0] == "value" and isinstance(outcome[1], dict)
    assert outcome[1]["data"] == [RAW] and outcome[1]["derived"] == b"abc"
    assert (handed, parsed) == (0, 1)
