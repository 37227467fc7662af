"""Replies: hand-made / captured replies served by requests-mock."""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests_mock
import zeep
from _support import DATA, ECHO11, ECHO12, INTEROP, NS, CannedApp, gsoap_echo_client, pattern
from _support import fds_under as _spool_fds
from lxml import etree

import mtom
import zeep_mtom
from interop.corpus import load_messages
from mtom import MtomOptions

URL = "mock://echo/service"


def envelope(version: mtom.SoapVersion, children: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="'
            f'{version.envelope_ns}"><env:Body><e:EchoResponse xmlns:e="{NS}">{children}'
            f"</e:EchoResponse></env:Body></env:Envelope>").encode()


def multipart(parts: list[tuple[list[str], bytes]], *, boundary: str = "b0und",
              nl: bytes = b"\r\n", preamble: bytes = b"") -> bytes:
    out = bytearray(preamble)
    for headers, body in parts:
        out += b"--" + boundary.encode() + nl
        out += b"".join(h.encode() + nl for h in headers) + nl + body + nl
    return bytes(out + b"--" + boundary.encode() + b"--" + nl)


ROOT11 = 'Content-Type: application/xop+xml; charset=UTF-8; type="text/xml"'
ROOT12 = 'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"'
XOP_CT = 'multipart/related; type="application/xop+xml"; boundary="b0und"'


def include(href: str) -> str:
    return f'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="{href}"/>'


@pytest.fixture
def mocked() -> Iterator[tuple[Any, zeep_mtom.MtomTransport, requests_mock.Adapter]]:
    transport = zeep_mtom.MtomTransport(mtom=True)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    client = zeep.Client(str(DATA / "echo.wsdl"), transport=transport)
    yield client.create_service(ECHO11, URL), transport, adapter
    transport.session.close()


def serve(adapter: requests_mock.Adapter, body: bytes, content_type: str,
          status: int = 200) -> None:
    adapter.register_uri("POST", URL, content=body, status_code=status,
                         headers={"Content-Type": content_type})


# -- how references are found ------------------------------------------------------------


VALUE = pattern(3000)
# Lines that start like the delimiter but are not one (a sender never puts the real
# delimiter inside a part; text that merely begins with it is content).
ODD = b"\r\n--b0undary\r\n" + VALUE + b"\r\n--b0und-x--\r\n"


@pytest.mark.parametrize(("name", "content_type", "parts", "children"), [
    ("content-ids without brackets", 'multipart/related; type="application/xop+xml"; '
     'boundary="b0und"; start="root@x"',
     [([ROOT11, "Content-ID: root@x"], b""), (["Content-ID: a@x"], VALUE)],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("root is not the first part", 'multipart/related; type="application/xop+xml"; '
     'boundary="b0und"; start="<root@x>"',
     [(["Content-ID: <a@x>"], VALUE), ([ROOT11, "Content-ID: <root@x>"], b"")],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("upper-case CID scheme", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>"], VALUE)],
     f"<e:data>{include('CID:a@x')}</e:data>"),
    ("%-encoded href", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a b%$}@x/1>"], VALUE)],
     f"<e:data>{include('cid:a%20b%25%24%7D%40x%2F1')}</e:data>"),
    ("base64 transfer encoding", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>", "Content-Transfer-Encoding: base64"],
                        base64.encodebytes(VALUE))],
     f"<e:data>{include('cid:a@x')}</e:data>"),
    ("value with CR/LF edges and delimiter text", XOP_CT,
     [([ROOT11], b""), (["Content-ID: <a@x>"], ODD)],
     f"<e:data>{include('cid:a@x')}</e:data>"),
])
def test_reference_styles(mocked: Any, name: str, content_type: str,
                          parts: list[tuple[list[str], bytes]], children: str) -> None:
    svc, transport, adapter = mocked
    root_index = next(i for i, (h, _) in enumerate(parts) if h[0].startswith("Content-Type: app"))
    parts[root_index] = (parts[root_index][0], envelope(mtom.SoapVersion.SOAP11, children))
    serve(adapter, multipart(parts), content_type)
    expected = ODD if "edges" in name else VALUE
    assert svc.Echo(name="x").data == [expected]
    assert transport.last_reply is not None and len(transport.last_reply.references) == 1


def test_lf_only_framing(mocked: Any) -> None:
    svc, _, adapter = mocked
    body = multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                          f"<e:data>{include('cid:a@x')}</e:data>")),
                      (["Content-ID: <a@x>"], VALUE)], nl=b"\n", preamble=b"\n")
    serve(adapter, body, XOP_CT)
    assert svc.Echo().data == [VALUE]


def test_soap12_reply_and_several_values(mocked: Any) -> None:
    transport = zeep_mtom.MtomTransport()
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO12, URL)
    values = [pattern(100 * i + 1, seed=i) for i in range(1, 6)]
    children = "".join(f"<e:data>{include(f'cid:{i}@x')}</e:data>" for i in range(5))
    parts = [([ROOT12], envelope(mtom.SoapVersion.SOAP12, children))]
    parts += [([f"Content-ID: <{i}@x>"], v) for i, v in enumerate(values)]
    serve(adapter, multipart(parts), XOP_CT + '; start-info="application/soap+xml"')
    assert svc.Echo().data == values


def test_inline_and_included_values_mix(mocked: Any) -> None:
    svc, _, adapter = mocked
    children = (f"<e:data>{base64.b64encode(b'inline').decode()}</e:data>"
                f"<e:data>{include('cid:a@x')}</e:data>"
                f'<e:typed xmlns:xm="http://www.w3.org/2005/05/xmlmime" '
                f'xm:contentType="image/png">{include("cid:b@x")}</e:typed>')
    serve(adapter, multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11, children)),
                              (["Content-ID: <a@x>"], VALUE),
                              (["Content-ID: <b@x>", "Content-Type: image/png"], b"\x89PNG")]),
          XOP_CT)
    result = svc.Echo()
    assert result.data == [b"inline", VALUE]
    assert result.typed._value_1 == b"\x89PNG" and result.typed.contentType == "image/png"


def test_swa_reply_attachments_are_reachable(mocked: Any) -> None:
    svc, transport, adapter = mocked
    children = ('<e:name href="cid:pic@x">picture</e:name><e:data>cid:doc@x</e:data>'
                "<e:data>\n  CID:pic@x </e:data><e:ref>cid:doc@x</e:ref>")
    body = multipart([(["Content-Type: text/xml; charset=utf-8"],
                       envelope(mtom.SoapVersion.SOAP11, children)),
                      (["Content-ID: <pic@x>", "Content-Type: image/jpeg"], VALUE),
                      (["Content-ID: <doc@x>"], b"document"),
                      (["Content-ID: <spare@x>"], b"nobody refers to me")])
    serve(adapter, body, 'multipart/related; type="text/xml"; boundary="b0und"')
    result = svc.Echo()
    assert result.ref == "cid:doc@x"
    # base64Binary elements holding a cid: URL (SwA, as rpc/encoded services send)
    assert result.data == [b"document", VALUE]
    reply = transport.last_reply
    assert reply is not None and reply.is_multipart and not reply.is_xop
    assert {(r.kind, r.attachment.content_id) for r in reply.swa} == {
        ("swa-href", "pic@x"), ("swa-ref", "doc@x"), ("swa-ref", "pic@x")}
    assert reply.get(result.ref).read() == b"document"  # type: ignore[union-attr]
    assert reply.get("pic@x").read() == VALUE  # type: ignore[union-attr]
    assert [a.content_id for a in reply.unreferenced] == ["spare@x"]
    assert len(reply.attachments) == 3


def test_plain_reply_passes_through(mocked: Any) -> None:
    svc, transport, adapter = mocked
    body = envelope(mtom.SoapVersion.SOAP11,
                    f"<e:data>{base64.b64encode(VALUE).decode()}</e:data>")
    serve(adapter, body, "text/xml; charset=utf-8")
    assert svc.Echo().data == [VALUE]
    assert transport.last_reply is not None and transport.last_reply.package is None


def test_one_way_202_without_body(mocked: Any) -> None:
    svc, _, adapter = mocked
    adapter.register_uri("POST", URL, content=b"", status_code=202)
    assert svc.Echo() is None


# -- errors ----------------------------------------------------------------------------------




BIG = pattern(50_000)


@pytest.mark.parametrize(("body", "content_type", "error"), [
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('cid:missing@x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)]), XOP_CT, mtom.DanglingInclude),
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('cid:a@x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)])[:-40], XOP_CT, mtom.TruncatedMessage),
    (b"--b0und\r\n\r\nno envelope\r\n--b0und--\r\n", XOP_CT, mtom.RootPartError),
    (b"whatever", "multipart/related; type=\"application/xop+xml\"", mtom.NoBoundary),
    (multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                    f"<e:data>{include('http://evil/x')}</e:data>")),
                (["Content-ID: <a@x>"], BIG)]), XOP_CT, mtom.InvalidInclude),
])
def test_malformed_replies_raise_typed_errors_and_leave_no_files(
        tmp_path: Path, body: bytes, content_type: str, error: type[Exception]) -> None:
    transport = zeep_mtom.MtomTransport(spool_threshold=1024, spool_dir=tmp_path)
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO11, URL)
    serve(adapter, body, content_type)
    with pytest.raises(error) as info:
        svc.Echo()
    assert isinstance(info.value, mtom.MtomError)
    assert _spool_fds(tmp_path) == []


def test_limits_apply_to_replies(mocked: Any) -> None:
    transport = zeep_mtom.MtomTransport(limits=mtom.Limits(max_attachment_size=1000))
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    svc = zeep.Client(str(DATA / "echo.wsdl"), transport=transport).create_service(ECHO11, URL)
    serve(adapter, multipart([([ROOT11], envelope(mtom.SoapVersion.SOAP11,
                                                  f"<e:data>{include('cid:a@x')}</e:data>")),
                              (["Content-ID: <a@x>"], VALUE)]), XOP_CT)
    with pytest.raises(mtom.LimitExceeded) as info:
        svc.Echo()
    assert info.value.limit == "max_attachment_size"


# -- the captured replies of the corpus ------------------------------------------------------


def _response_names(corpus: Path) -> list[str]:
    names = []
    for line in (corpus / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if line.startswith("| `") and len(cells) > 5 and cells[5] == "response":
            names.append(cells[1].strip("`"))
    return names


def _oracle(body: bytes, content_type: str) -> Any:
    try:
        package = mtom.read_package(body, content_type)
        root = package.root_element()
        return package, mtom.reconstitute(root, package)
    except mtom.MtomError as exc:
        return exc


def test_corpus_replies_decode_like_the_core(corpus_path: Path) -> None:
    names = _response_names(corpus_path)
    assert len(names) >= 6
    messages = {("negative/" if m.negative else "") + m.name: m
                for m in load_messages() + load_messages(negative=True)}
    envelope_el = etree.fromstring(envelope(mtom.SoapVersion.SOAP11, ""))
    for name in names:
        msg = messages[name]
        expected = _oracle(msg.body, msg.content_type)
        transport = zeep_mtom.MtomTransport()
        adapter = requests_mock.Adapter()
        transport.session.mount("mock://", adapter)
        serve(adapter, msg.body, msg.content_type)
        if isinstance(expected, mtom.MtomError):
            with pytest.raises(type(expected)):
                transport.post_xml(URL, envelope_el, {"Content-Type": "text/xml"})
            continue
        response = transport.post_xml(URL, envelope_el, {"Content-Type": "text/xml"})
        reply = response.mtom_reply
        assert reply is transport.last_reply and reply is not None, name
        package, xop = expected
        assert [p.read() for p in reply.package.parts[1:]] == [  # type: ignore[union-attr]
            p.read() for p in package.parts[1:]], name
        assert len(reply.references) == len(xop.references), name
        assert len(reply.swa) == len(xop.swa), name
        doc = etree.fromstring(response.content)
        assert next(doc.iter(mtom.XOP_INCLUDE), None) is None, name
        assert response.headers["Content-Type"].split(";")[0] in ("text/xml",
                                                                   "application/soap+xml")
        # every value resolves to the part's exact bytes
        reader = mtom.ReplyReader(200, msg.content_type, MtomOptions())
        reader.feed(msg.body)
        result = reader.close()
        ctx = mtom.ClientCall(MtomOptions(), optimise=False, placeholders=False)
        ctx.accept_reply(result.reply, result.values)
        for token, att in result.values.items():
            assert ctx.resolve(token) == att.read(), name
        transport.session.close()


def test_wcf_pdf_reply_through_zeep(corpus_path: Path) -> None:
    name = "gever_wcf-mtom-soap12-wsa10-pdf-response"
    body = (corpus_path / f"{name}.msg").read_bytes()
    content_type = (corpus_path / f"{name}.content-type").read_text("latin-1")
    transport = zeep_mtom.MtomTransport()
    adapter = requests_mock.Adapter()
    transport.session.mount("mock://", adapter)
    client = zeep.Client(str(DATA / "gever.wsdl"), transport=transport)
    adapter.register_uri("POST", "mock://gever/service", content=body,
                         headers={"Content-Type": content_type})
    result = client.service.GetContent(Id="1")
    pdf = mtom.read_package(body, content_type).attachments[0].read()
    assert len(pdf) == 42608 and result.Content == pdf
    assert result.Content.startswith(b"%PDF-1.4") and result.MimeType == "application/pdf"


def _capture_values(stem: str) -> list[tuple[int, str]]:
    import json

    meta = json.loads((INTEROP / "captures" / f"{stem}.json").read_text(encoding="utf-8"))
    return [(v["size"], v["sha256"]) for v in meta["values"]]


def test_axis_swa_href_reply_values_are_the_parts(wsgi_server: Any, tmp_path: Path) -> None:
    """Axis answers with empty elements carrying href="cid:…": each value is its part."""
    import hashlib

    stem = "axis-reply-soap11-swa-reply"
    app = CannedApp.from_capture((INTEROP / "captures" / f"{stem}.http").read_bytes())
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=False) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        result = client.service.EchoTest(Data=[{"_value_1": b"x"}])
        got = [(len(d._value_1), hashlib.sha256(d._value_1).hexdigest()) for d in result]
        assert got == _capture_values(stem)
        assert result[0].contentType == "image/png"
        reply = transport.last_reply
        assert reply is not None and [r.kind for r in reply.swa] == ["swa-href", "swa-href"]
        transport.session.close()


@pytest.mark.parametrize("version", ["11", "12"])
def test_nodesoap_fault_labelled_multipart_reaches_zeep_as_fault(
        wsgi_server: Any, tmp_path: Path, version: str, caplog: pytest.LogCaptureFixture) -> None:
    """node-soap copies the MTOM request's Content-Type onto its plain Fault."""
    from zeep.exceptions import Fault

    raw = (INTEROP / "captures" / "known" / f"nodesoap-reply-soap{version}-mtom-fault.http")
    app = CannedApp.from_capture(raw.read_bytes())
    caplog.set_level("WARNING", logger="zeep_mtom")
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=True, threshold=0) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        service = client.bind("EchoService", f"EchoPort{version}")
        with pytest.raises(Fault) as info:
            service.EchoTest(Data=[{"_value_1": b"payload"}])
        assert "Invalid XML" in str(info.value.message)
        assert app.received[0][0]["content-type"].startswith("multipart/related")
        reply = transport.last_reply
        assert reply is not None and reply.status_code == 500
        assert len(reply.warnings) == 1 and "holds no" in reply.warnings[0]
        transport.session.close()
    assert [r.getMessage() for r in caplog.records if r.name == "zeep_mtom"] == [
        f"the HTTP 500 reply from {url}/echo{version}: {reply.warnings[0]}"]


def test_dime_reply_is_refused_with_a_typed_error(wsgi_server: Any, tmp_path: Path) -> None:
    raw = (INTEROP / "captures" / "known" / "axis-reply-soap11-dime.http").read_bytes()
    app = CannedApp.from_capture(raw)
    with wsgi_server(app) as url, zeep_mtom.MtomTransport(mtom=False) as transport:
        client = gsoap_echo_client(tmp_path, url, transport)
        with pytest.raises(mtom.DimeNotSupported) as info:
            client.service.EchoTest(Data=[{"_value_1": b"payload"}])
        transport.session.close()
    message = str(info.value)
    assert "DIME (application/dime) is not supported; MTOM and SwA are" in message
    assert "ATTACHMENT_ENCAPSULATION_FORMAT_MIME" in message
    if sys.version_info >= (3, 11):  # BaseException.add_note is new in 3.11
        assert f"while reading the HTTP 200 reply from {url}/echo11" in info.value.__notes__
    assert transport.last_reply is None
