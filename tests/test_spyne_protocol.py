"""Soap11Mtom / Soap12Mtom through a real WSGI server (waitress on 127.0.0.1).

Uploads and downloads are checked byte for byte (sha256), for SOAP 1.1 and
1.2, with values that start and end in CR/LF and contain delimiter look-alikes.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from _support import (
    CLOSE,
    ENV_NS,
    PLAIN_CT,
    TNS,
    VERSIONS,
    TestService,
    assert_client_fault,
    chunked,
    decode,
    envelope,
    fault_of,
    make_application,
    make_wsgi,
    pattern,
    post_mtom,
    post_plain,
    post_raw,
    serve_wsgi,
    sha,
    stream_post,
    xop,
)
from spyne import Application, ServiceBase, rpc
from spyne.model.binary import ByteArray, File
from spyne.protocol.soap import Soap11, Soap12

import mtom
from spyne_mtom import Soap11Mtom, Soap12Mtom, wsgi_application


@pytest.fixture(scope="module", params=VERSIONS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    version = request.param
    with serve_wsgi(make_wsgi(version, in_options={"spool_threshold": 64 * 1024})) as url:
        yield url, version


def _upload_bytes(url: str, version: str, data: bytes, **part_kw: object) -> requests.Response:
    part = mtom.OutgoingPart(data, **part_kw)  # type: ignore[arg-type]
    root = envelope(version, f"<t:digest><t:data>{xop(part)}</t:data></t:digest>")
    return post_mtom(url, version, root, [part])


# -- uploads ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 2, 1023, 1024, 65_535, 300_000, 3 * 1024 * 1024 + 7])
def test_bytearray_upload_is_byte_exact(server: tuple[str, str], size: int) -> None:
    url, version = server
    data = pattern(size, size)
    resp = _upload_bytes(url, version, data)
    assert resp.status_code == 200, resp.text[:500]
    reply = decode(resp)
    assert reply.package is None  # nothing binary in the answer: plain SOAP
    assert reply.text("sha256") == sha(data)
    assert int(reply.text("size") or -1) == size


@pytest.mark.parametrize("edge", [b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"--", b"\r\n--"])
def test_cr_lf_and_dash_edges_survive(server: tuple[str, str], edge: bytes) -> None:
    url, version = server
    data = edge + pattern(5000, 1) + edge
    resp = _upload_bytes(url, version, data)
    assert decode(resp).text("sha256") == sha(data)


def test_boundary_lookalike_content(server: tuple[str, str]) -> None:
    url, version = server
    part = mtom.OutgoingPart(b"x")
    pkg = mtom.OutgoingPackage(b"", [part], soap_version=version)
    # The value contains the very lines a delimiter of *another* package would use.
    data = (b"--" + pkg.boundary.encode() + b"X\r\n") * 100 + b"\r\n--MIMEBoundary--\r\n"
    resp = _upload_bytes(url, version, data)
    assert decode(resp).text("sha256") == sha(data)


def test_upload_in_small_tcp_writes_and_chunked_transfer(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(200_000, 3)
    part = mtom.OutgoingPart(data)
    root = envelope(version, f"<t:digest><t:data>{xop(part)}</t:data></t:digest>")
    pkg = mtom.OutgoingPackage(root, [part], soap_version=version)
    body = pkg.to_bytes()
    # Transfer-Encoding: chunked (requests streams a generator that way).
    resp = requests.post(url, data=chunked(body, 777), timeout=60,
                         headers={"Content-Type": pkg.content_type, **CLOSE})
    assert decode(resp).text("sha256") == sha(data)
    # Content-Length, many small writes.
    status, _, raw = stream_post(url, chunked(body, 1000), pkg.content_type, len(body))
    assert status == 200 and sha(data).encode() in raw


def test_many_attachments(server: tuple[str, str]) -> None:
    url, version = server
    values = [pattern(n * 37 % 5000, n) for n in range(300)]
    parts = [mtom.OutgoingPart(v) for v in values]
    items = "".join(f"<t:item>{xop(p)}</t:item>" for p in parts)
    resp = post_mtom(url, version, envelope(version, f"<t:digest_many>{items}</t:digest_many>"),
                     parts)
    assert resp.status_code == 200, resp.text[:500]
    got = [el.text for el in decode(resp).find_all("digest_manyResult")]
    assert got == [f"{len(v)}:{sha(v)}" for v in values]


def test_file_upload_is_path_less_and_typed(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(100_000, 9)
    part = mtom.OutgoingPart(data, content_type="image/png",
                             headers=[("Content-Disposition", 'attachment; filename="a.png"')])
    root = envelope(version, f"<t:upload><t:f>{xop(part)}</t:f></t:upload>")
    reply = decode(post_mtom(url, version, root, [part]))
    assert reply.text("sha256") == sha(data)
    assert reply.text("content_type") == "image/png"
    assert reply.text("name") == "a.png"
    assert reply.text("has_path") == "false"
    assert reply.text("spooled") == "true"  # over the 64 KiB spool threshold of this server


def test_file_xmime_content_type_wins_and_unsafe_name_dropped(server: tuple[str, str]) -> None:
    url, version = server
    part = mtom.OutgoingPart(b"abc" * 10, content_type="application/octet-stream",
                             headers=[("Content-Disposition",
                                       'attachment; filename="../../etc/passwd"')])
    root = envelope(version, '<t:upload><t:f xmime:contentType="text/plain">'
                    f"{xop(part)}</t:f></t:upload>")
    reply = decode(post_mtom(url, version, root, [part]))
    assert reply.text("content_type") == "text/plain"
    assert reply.text("name") is None
    assert reply.text("spooled") == "false"


def test_inline_file_is_decoded(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(3000, 2)
    root = envelope(version, '<t:upload><t:f xmime:contentType="image/gif">'
                    f"{base64.b64encode(data).decode()}</t:f></t:upload>")
    reply = decode(post_plain(url, version, root))
    assert reply.text("sha256") == sha(data)
    assert reply.text("content_type") == "image/gif"


@pytest.mark.parametrize("text, expected", [
    ("AAEC/w==", b"\x00\x01\x02\xff"),
    ("AAEC\n/w==\n", b"\x00\x01\x02\xff"),  # line breaks inside base64 are allowed
    ("YWJj", b"abc"),
])
def test_inline_byte_array_is_decoded(server: tuple[str, str], text: str,
                                      expected: bytes) -> None:
    url, version = server
    reply = decode(post_plain(url, version, envelope(version,
                                                     f"<t:digest><t:data>{text}</t:data></t:digest>")))
    assert reply.text("sha256") == sha(expected)


@pytest.mark.parametrize("text", ["YWJ", "AAEC/w=", "\u00e9\u00e9\u00e9\u00e9"])
def test_invalid_inline_base64_is_a_client_fault(server: tuple[str, str], text: str) -> None:
    url, version = server
    resp = post_plain(url, version, envelope(version,
                                             f"<t:digest><t:data>{text}</t:data></t:digest>"))
    info = assert_client_fault(resp, version)
    assert "base64" in info.string or "schema" in info.string


# -- downloads ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [mtom.DEFAULT_THRESHOLD, 2 * 1024 * 1024 + 3])
def test_file_download_from_path(server: tuple[str, str], size: int) -> None:
    url, version = server
    root = envelope(version, f"<t:download><t:size>{size}</t:size><t:seed>5</t:seed>"
                    "<t:content_type>image/jpeg</t:content_type></t:download>")
    resp = post_plain(url, version, root)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("multipart/related")
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    reply = decode(resp)
    (att,) = reply.values.values()
    assert att.read() == pattern(size, 5)
    assert att.content_type == "image/jpeg"
    start_info = mtom.parse_content_type(resp.headers["Content-Type"]).get("start-info")
    assert start_info == ("text/xml" if version == "1.1" else "application/soap+xml")


def test_file_download_from_handle(server: tuple[str, str]) -> None:
    url, version = server
    root = envelope(version, "<t:download_handle><t:size>70000</t:size><t:seed>4</t:seed>"
                    "</t:download_handle>")
    reply = decode(post_plain(url, version, root))
    (att,) = reply.values.values()
    assert att.read() == pattern(70000, 4)
    assert att.content_type == "application/x-handle"


def test_echo_file_streams_the_received_attachment(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(500_000, 11)  # spooled on the server, streamed back from its temp file
    part = mtom.OutgoingPart(data, content_type="application/pdf")
    root = envelope(version, f"<t:echo_file><t:f>{xop(part)}</t:f></t:echo_file>")
    resp = post_mtom(url, version, root, [part])
    (att,) = decode(resp).values.values()
    assert att.read() == data and att.content_type == "application/pdf"


@pytest.mark.parametrize("size", [1, 10, 1023])
def test_small_values_stay_inline_and_plain(server: tuple[str, str], size: int) -> None:
    url, version = server
    data = pattern(size, 1)
    root = envelope(version, f"<t:echo><t:data>{base64.b64encode(data).decode()}</t:data>"
                    "</t:echo>")
    resp = post_plain(url, version, root)
    assert resp.headers["Content-Type"].startswith(PLAIN_CT[version].split(";")[0])
    reply = decode(resp)
    assert reply.package is None
    assert reply.binary(reply.find_all("echoResult")[0]) == data


def test_plain_request_gets_mtom_response(server: tuple[str, str]) -> None:
    """W3C scenario 1a: XML in, MTOM out."""
    url, version = server
    data = pattern(50_000, 8)
    root = envelope(version, f"<t:echo><t:data>{base64.b64encode(data).decode()}</t:data>"
                    "</t:echo>")
    reply = decode(post_plain(url, version, root))
    assert reply.package is not None
    (el,) = reply.find_all("echoResult")
    assert reply.values[el].read() == data


def test_mtom_echo_round_trip(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(1_000_000, 12)
    part = mtom.OutgoingPart(data)
    root = envelope(version, f"<t:echo><t:data>{xop(part)}</t:data></t:echo>")
    resp = post_mtom(url, version, root, [part])
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    reply = decode(resp)
    assert reply.binary(reply.find_all("echoResult")[0]) == data


def test_many_values_out(server: tuple[str, str]) -> None:
    url, version = server
    values = [pattern(n * 101, n) for n in range(60)]  # below and above the threshold
    parts = [mtom.OutgoingPart(v) for v in values]
    items = "".join(f"<t:item>{xop(p)}</t:item>" for p in parts)
    reply = decode(post_mtom(url, version, envelope(version, f"<t:echo_many>{items}</t:echo_many>"),
                             parts))
    got = [reply.binary(el) for el in reply.find_all("echo_manyResult")]
    assert got == values
    assert len(reply.values) == sum(1 for v in values if len(v) >= mtom.DEFAULT_THRESHOLD)


def test_declared_content_type_is_the_part_type(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(4000, 1)
    part = mtom.OutgoingPart(data)
    resp = post_mtom(url, version, envelope(version, f"<t:png><t:img>{xop(part)}</t:img></t:png>"),
                     [part])
    (att,) = decode(resp).values.values()
    assert att.content_type == "image/png" and att.read() == data


# -- the root part ----------------------------------------------------------------------


@pytest.mark.parametrize("declaration", [True, False])
def test_root_charset_is_honoured(server: tuple[str, str], declaration: bool) -> None:
    url, version = server
    text = "Grüße, € ø"
    part = mtom.OutgoingPart(b"z" * 10)
    encoding = "iso-8859-15"
    root = envelope(version, f"<t:text><t:s>{text}</t:s></t:text>", declaration=declaration,
                    encoding=encoding)
    pkg = mtom.OutgoingPackage(root, [part], soap_version=version, charset=encoding)
    resp = requests.post(url, data=pkg.to_bytes(), headers={**pkg.headers, **CLOSE}, timeout=30)
    assert resp.status_code == 200, resp.text[:400]
    assert decode(resp).text("textResult") == text


def test_utf16_root_with_bom(server: tuple[str, str]) -> None:
    url, version = server
    text = "ǅemal"
    root = envelope(version, f"<t:text><t:s>{text}</t:s></t:text>", encoding="utf-16")
    part = mtom.OutgoingPart(b"unused")
    resp = post_mtom(url, version, root, [part])
    assert decode(resp).text("textResult") == text


def test_include_in_a_string_element_reads_as_base64(server: tuple[str, str]) -> None:
    """XOP: the infoset value of an optimised element is its base64 text."""
    url, version = server
    part = mtom.OutgoingPart(b"\x00\x01binary")
    root = envelope(version, f"<t:text><t:s>{xop(part)}</t:s></t:text>")
    reply = decode(post_mtom(url, version, root, [part]))
    assert reply.text("textResult") == base64.b64encode(b"\x00\x01binary").decode()


def test_base64_and_quoted_printable_parts(server: tuple[str, str]) -> None:
    url, version = server
    data = pattern(3000, 6)
    b64 = base64.encodebytes(data)
    root = envelope(version, '<t:digest><t:data><xop:Include href="cid:p1@x"/></t:data>'
                    "</t:digest>")
    body = (b"--B\r\nContent-Type: application/xop+xml; charset=utf-8; type=\""
            + mtom.SoapVersion.coerce(version).media_type.encode() + b"\"\r\n"
            b"Content-ID: <root@x>\r\n\r\n" + root + b"\r\n--B\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-ID: <p1@x>\r\n\r\n" + b64 + b"\r\n--B--\r\n")
    ct = 'multipart/related; type="application/xop+xml"; boundary=B; start="<root@x>"'
    resp = post_raw(url, body, ct)
    assert decode(resp).text("sha256") == sha(data)


def test_lf_only_framing(server: tuple[str, str]) -> None:
    url, version = server
    data = b"line1\nline2\r\n"
    root = envelope(version, '<t:digest><t:data><xop:Include href="cid:a"/></t:data></t:digest>')
    body = (b"--B\nContent-Type: application/xop+xml\nContent-ID: <r>\n\n" + root
            + b"\n--B\nContent-ID: a\n\n" + data + b"\n--B--\n")
    resp = post_raw(url, body, 'multipart/related; type="application/xop+xml"; boundary=B')
    assert decode(resp).text("sha256") == sha(data)


# -- validation -------------------------------------------------------------------------


def test_lxml_validation_accepts_xmime_and_emptied_elements(server: tuple[str, str]) -> None:
    url, version = server  # the fixture's input protocol validates with lxml
    data = pattern(2048, 3)
    part = mtom.OutgoingPart(data, content_type="image/png")
    root = envelope(version, f'<t:echo><t:data xmime:contentType="image/png">{xop(part)}'
                    "</t:data></t:echo>")
    reply = decode(post_mtom(url, version, root, [part]))
    assert reply.binary(reply.find_all("echoResult")[0]) == data
    # Inline with the attribute too.
    root = envelope(version, '<t:digest><t:data xmime:contentType="image/png">'
                    f"{base64.b64encode(data).decode()}</t:data></t:digest>")
    assert decode(post_plain(url, version, root)).text("sha256") == sha(data)


def test_lxml_validation_still_rejects_invalid_documents(server: tuple[str, str]) -> None:
    url, version = server
    part = mtom.OutgoingPart(b"x" * 2000)
    root = envelope(version, f"<t:digest><t:data>{xop(part)}</t:data><t:bogus/></t:digest>")
    info = assert_client_fault(post_mtom(url, version, root, [part]), version)
    assert "bogus" in info.string


# -- SwA ---------------------------------------------------------------------------------


def test_swa_href_and_swaref_resolve(server: tuple[str, str]) -> None:
    url, version = server
    a, b = pattern(4000, 1), pattern(3000, 2)
    pa, pb = mtom.OutgoingPart(a), mtom.OutgoingPart(b)
    root = envelope(version, f'<t:digest><t:data href="{mtom.cid_href(pa.content_id)}"/>'
                    "</t:digest>")
    resp = post_mtom(url, version, root, [pa], xop_package=False)
    assert decode(resp).text("sha256") == sha(a)
    root = envelope(version, f"<t:digest><t:data>{mtom.cid_href(pb.content_id)}</t:data>"
                    "</t:digest>")
    assert decode(post_mtom(url, version, root, [pb], xop_package=False)).text("sha256") == sha(b)


AXIS_XML_SOAP = "http://xml.apache.org/xml-soap"


@pytest.mark.parametrize("validator", ["lxml", None])
@pytest.mark.parametrize("xsi_type", ["ns1:DataHandler", "ns1:Vector", "ns1:Document"])
def test_axis_swa_reference_with_xml_soap_xsi_type_resolves(validator: str | None,
                                                             xsi_type: str) -> None:
    """Axis 1 writes ``href`` plus ``xsi:type="ns1:DataHandler"`` (any type of the
    xml-soap namespace): the attachment is the value, with or without the lxml validator."""
    data = pattern(6000, 4)
    part = mtom.OutgoingPart(data, content_type="image/png")
    for version in VERSIONS:
        root = envelope(version, (
            f'<t:digest><t:data href="{mtom.cid_href(part.content_id)}" xsi:type="{xsi_type}" '
            f'xmlns:ns1="{AXIS_XML_SOAP}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></t:digest>'))
        with serve_wsgi(make_wsgi(version, validator=validator)) as url:
            resp = post_mtom(url, version, root, [part], xop_package=False)
        assert resp.status_code == 200, resp.text[:800]
        assert decode(resp).text("sha256") == sha(data)


def test_other_xsi_types_on_a_reference_are_still_checked() -> None:
    """Only the xml-soap namespace is dropped: an unknown type elsewhere is still refused."""
    part = mtom.OutgoingPart(pattern(3000, 5))
    root = envelope("1.1", (
        f'<t:digest><t:data href="{mtom.cid_href(part.content_id)}" xsi:type="x:Nope" '
        'xmlns:x="urn:unknown" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
        "</t:digest>"))
    with serve_wsgi(make_wsgi("1.1")) as url:
        assert_client_fault(post_mtom(url, "1.1", root, [part], xop_package=False), "1.1")


def test_request_references_and_package_are_exposed(server: tuple[str, str]) -> None:
    url, version = server
    p1 = mtom.OutgoingPart(b"1" * 1500, content_type="image/gif")
    extra = mtom.OutgoingPart(b"unreferenced")
    root = envelope(version, f"<t:references><t:data>{xop(p1)}</t:data></t:references>")
    reply = decode(post_mtom(url, version, root, [p1, extra]))
    got = [el.text for el in reply.find_all("referencesResult")]
    assert got == ["package:2", "xop:data:image/gif:1500"]
    # A plain request has no package.
    root = envelope(version, "<t:references><t:data>AAAA</t:data></t:references>")
    assert [el.text for el in decode(post_plain(url, version, root)).find_all(
        "referencesResult")] == [
        "package:none"]


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_threshold_and_optimize_options(version: str) -> None:
    data = pattern(5000, 1)
    root = envelope(version, f"<t:echo><t:data>{base64.b64encode(data).decode()}</t:data>"
                    "</t:echo>")
    with serve_wsgi(make_wsgi(version, out_options={"optimize": ()})) as url:
        reply = decode(post_plain(url, version, root))
        assert reply.package is None
        assert reply.binary(reply.find_all("echoResult")[0]) == data
    with serve_wsgi(make_wsgi(version, out_options={"threshold": 10_000})) as url:
        assert decode(post_plain(url, version, root)).package is None
    with serve_wsgi(make_wsgi(version, out_options={"threshold": 0})) as url:
        small = envelope(version, "<t:echo><t:data>AAAA</t:data></t:echo>")
        reply = decode(post_plain(url, version, small))
        assert reply.package is not None and next(iter(reply.values.values())).read() == b"\0\0\0"


@pytest.mark.parametrize("version", VERSIONS)
def test_mixed_protocols(version: str) -> None:
    plain_cls, mtom_cls = (Soap11, Soap11Mtom) if version == "1.1" else (Soap12, Soap12Mtom)
    data = pattern(20_000, 2)
    # Plain in, MTOM out.
    app = make_application(version, in_protocol=plain_cls(),
                           out_protocol=mtom_cls(mtom_reply="always"))
    root = envelope(version, f"<t:echo><t:data>{base64.b64encode(data).decode()}</t:data>"
                    "</t:echo>")
    with serve_wsgi(wsgi_application(app)) as url:
        reply = decode(post_plain(url, version, root))
        assert reply.package is not None and next(iter(reply.values.values())).read() == data
    # MTOM in, plain out.
    app = make_application(version, in_protocol=mtom_cls(), out_protocol=plain_cls())
    part = mtom.OutgoingPart(data)
    with serve_wsgi(wsgi_application(app)) as url:
        resp = post_mtom(url, version, envelope(version, f"<t:echo><t:data>{xop(part)}</t:data>"
                                                "</t:echo>"), [part])
        reply = decode(resp)
        assert reply.package is None
        assert reply.binary(reply.find_all("echoResult")[0]) == data


def test_binary_values_in_soap_headers() -> None:
    from spyne import ComplexModel

    class Token(ComplexModel):  # type: ignore[misc]
        __namespace__ = TNS
        blob = ByteArray

    class HeaderService(ServiceBase):  # type: ignore[misc]
        __in_header__ = Token

        @rpc(_returns=ByteArray)
        def read_header(ctx):  # type: ignore[no-untyped-def]
            return ctx.in_header.blob

    app = Application([HeaderService], TNS, in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
    data = pattern(9000, 3)
    part = mtom.OutgoingPart(data)
    root = envelope("1.1", "<t:read_header/>", header=f"<t:Token><t:blob>{xop(part)}</t:blob>"
                    "</t:Token>")
    with serve_wsgi(wsgi_application(app)) as url:
        reply = decode(post_mtom(url, "1.1", root, [part]))
    assert next(iter(reply.values.values())).read() == data


# -- memory ------------------------------------------------------------------------------

_MEMORY_SERVER = textwrap.dedent("""
    import hashlib, os, resource, sys, threading
    from spyne_mtom import Soap11Mtom, wsgi_application  # first: Spyne 2.14 on 3.12+
    from spyne import Application, ServiceBase, rpc, File, Long, Unicode
    from waitress.server import create_server

    BIG = sys.argv[1]

    def rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    class S(ServiceBase):
        @rpc(File, _returns=Unicode)
        def up(ctx, f):
            h = hashlib.sha256()
            while c := f.handle.read(1 << 20):
                h.update(c)
            return h.hexdigest()

        @rpc(_returns=File)
        def down(ctx):
            return File.Value(path=BIG)

        @rpc(_returns=Long)
        def peak(ctx):
            return rss()

    app = Application([S], "urn:m", in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
    server = create_server(wsgi_application(app, max_content_length=4 << 30), host="127.0.0.1",
                           port=0, threads=2, max_request_body_size=4 << 30)
    print(server.effective_port, flush=True)
    server.run()
""")


def _peak(url: str) -> int:
    root = envelope("1.1", "<m:peak xmlns:m='urn:m'/>")
    reply = decode(post_plain(url, "1.1", root))
    return int(reply.text("peakResult") or 0)


@pytest.mark.slow
def test_file_streaming_memory_is_bounded(tmp_path: Path) -> None:
    """Upload and download 256 MiB as File in a fresh server process: peak RSS grows < 48 MiB."""
    size = 256 * 1024 * 1024
    big = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with big.open("wb") as f:
        for _ in range(size >> 20):
            f.write(block)
    proc = subprocess.Popen([sys.executable, "-c", _MEMORY_SERVER, str(big)],
                            stdout=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parent.parent))
    try:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
        base = _peak(url)
        part = mtom.OutgoingPart(big)
        root = envelope("1.1", f"<m:up xmlns:m='urn:m'><m:f>{xop(part)}</m:f></m:up>")
        pkg = mtom.OutgoingPackage(root, [part])
        assert pkg.content_length is not None
        status, _, body = stream_post(url, pkg.iter_bytes(), pkg.content_type,
                                      pkg.content_length)
        assert status == 200
        digest = sha(block * (size >> 20))
        assert digest.encode() in body
        after_up = _peak(url)
        resp = requests.post(url, data=envelope("1.1", "<m:down xmlns:m='urn:m'/>"),
                             headers={"Content-Type": PLAIN_CT["1.1"],
                                      "Accept": "application/xop+xml, text/xml"},
                             stream=True, timeout=300)
        assert int(resp.headers["Content-Length"]) > size
        reader = mtom.PackageReader(resp.headers["Content-Type"])
        for chunk in resp.iter_content(1 << 20):
            reader.feed(chunk)
        with reader.close() as package:
            assert package.attachments[0].sha256() == digest
        after_down = _peak(url)
        assert after_up - base < 48, (base, after_up)
        assert after_down - base < 48, (base, after_down)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_envelope_namespace_constants() -> None:
    assert ENV_NS["1.1"] == mtom.SOAP11_ENV_NS
    assert TestService is not None and File is not None


def test_spooling_policy_follows_the_operations() -> None:
    """Parts are spooled only when some operation takes a File (ByteArray ends in memory)."""

    class BytesOnly(ServiceBase):  # type: ignore[misc]
        @rpc(ByteArray, _returns=ByteArray)
        def e(ctx, d):  # type: ignore[no-untyped-def]
            return d

    app = Application([BytesOnly], TNS, in_protocol=Soap11Mtom(), out_protocol=Soap11Mtom())
    spool = app.in_protocol.mtom_options.spool_threshold
    assert spool > mtom.DEFAULT_LIMITS.max_attachment_size
    spool = make_application("1.1").in_protocol.mtom_options.spool_threshold
    assert spool == mtom.DEFAULT_SPOOL_THRESHOLD
    for given in ({"spool_threshold": 10}, {"options": mtom.MtomOptions(spool_threshold=10)}):
        fixed = Application([BytesOnly], TNS, in_protocol=Soap11Mtom(**given),
                            out_protocol=Soap11Mtom())
        assert fixed.in_protocol.mtom_options.spool_threshold == 10


# -- reply negotiation (mtom_reply, require_mtom) ----------------------------------------

_BIG = pattern(50_000, 9)


def _plain_echo(version: str) -> bytes:
    return envelope(version, f"<t:echo><t:data>{base64.b64encode(_BIG).decode()}</t:data>"
                    "</t:echo>")


def _mtom_echo(url: str, version: str) -> requests.Response:
    part = mtom.OutgoingPart(_BIG)
    return post_mtom(url, version, envelope(
        version, f"<t:echo><t:data>{xop(part)}</t:data></t:echo>"), [part])


# (mtom_reply, request, Accept) -> MTOM reply?
NEGOTIATION = [
    ("auto", "plain", None, False),
    ("auto", "plain", "text/xml, application/xop+xml", True),
    ("auto", "mtom", None, True),
    ("always", "plain", None, True),
    ("always", "mtom", None, True),
    ("never", "mtom", "application/xop+xml", False),
    ("never", "plain", None, False),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("mode", "request_kind", "accept", "expect_mtom"), NEGOTIATION)
def test_mtom_reply_modes(version: str, mode: str, request_kind: str, accept: str | None,
                          expect_mtom: bool) -> None:
    """JAX-WS RI's rule by default: MTOM only when the request was MTOM or Accept asks."""
    app = make_wsgi(version, out_options={"mtom_reply": mode})
    accept = {"Accept": accept} if accept else {}
    with serve_wsgi(app) as url:
        if request_kind == "plain":
            resp = requests.post(url, data=_plain_echo(version), timeout=60, headers={
                "Content-Type": PLAIN_CT[version], **accept, **CLOSE})
        else:
            part = mtom.OutgoingPart(_BIG)
            pkg = mtom.OutgoingPackage(envelope(version, (
                f"<t:echo><t:data>{xop(part)}</t:data></t:echo>")), [part], soap_version=version)
            resp = requests.post(url, data=pkg.to_bytes(), timeout=60,
                                 headers={**pkg.headers, **accept, **CLOSE})
    reply = decode(resp)
    assert resp.status_code == 200
    assert (reply.package is not None) is expect_mtom
    assert reply.binary(reply.find_all("echoResult")[0]) == _BIG


def test_swa_request_gets_a_plain_reply_by_default() -> None:
    """SwA is not MTOM: "auto" answers it plainly (JAX-WS RI does the same)."""
    part = mtom.OutgoingPart(_BIG)
    with serve_wsgi(make_wsgi("1.1", out_options={"mtom_reply": "auto"})) as url:
        root = envelope("1.1", f'<t:echo><t:data href="{mtom.cid_href(part.content_id)}"/>'
                        "</t:echo>")
        reply = decode(post_mtom(url, "1.1", root, [part], xop_package=False))
    assert reply.package is None and reply.binary(reply.find_all("echoResult")[0]) == _BIG


def test_mtom_false_means_never() -> None:
    with serve_wsgi(make_wsgi("1.1", out_options={"mtom": False, "mtom_reply": "always"})) as url:
        assert decode(_mtom_echo(url, "1.1")).package is None


@pytest.mark.parametrize("version", VERSIONS)
def test_require_mtom_answers_plain_requests_415(version: str) -> None:
    app = make_wsgi(version, in_options={"require_mtom": True})
    with serve_wsgi(app) as url:
        resp = post_plain(url, version, _plain_echo(version))
        assert resp.status_code == 415
        info = fault_of(resp, version)
        assert info.code == ("Client" if version == "1.1" else "Sender")
        assert info.subcode == "UnsupportedMediaType"
        assert 'multipart/related; type="application/xop+xml"' in info.string
        reply = decode(_mtom_echo(url, version))  # MTOM still works
        assert reply.status == 200 and reply.package is not None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mtom_reply": "sometimes"}, "mtom_reply must be"),
    ({"mtom_reply": True}, "mtom_reply must be"),
    ({"require_mtom": "yes"}, "require_mtom must be"),
    ({"progress": 3}, "progress must be a callable"),
])
def test_negotiation_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Soap11Mtom(**kwargs)


# -- big inline values (huge_tree) -----------------------------------------------------------


def test_inline_value_over_the_text_node_limit_names_huge_tree() -> None:
    data = pattern(8 * 1024 * 1024, 3)  # 11.2 MB of base64: over libxml2's 10 MB text node
    root = envelope("1.1", f"<t:digest><t:data>{base64.b64encode(data).decode()}</t:data>"
                    "</t:digest>")
    with serve_wsgi(make_wsgi("1.1")) as url:
        info = assert_client_fault(post_plain(url, "1.1", root), "1.1", "XMLSyntaxError")
    assert "huge_tree=True" in info.string and "memory" in info.string
    assert "xop:Include" in info.string
    with serve_wsgi(make_wsgi("1.1", in_options={"huge_tree": True})) as url:
        assert decode(post_plain(url, "1.1", root)).text("sha256") == sha(data)


# -- progress and the per-request report ----------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_progress_events_for_request_and_reply(version: str) -> None:
    size = 3 * 1024 * 1024 + 5
    received: list[mtom.Progress] = []
    sent: list[mtom.Progress] = []
    app = make_wsgi(version, in_options={"progress": received.append},
                    out_options={"progress": sent.append})
    data = pattern(size, 6)
    part = mtom.OutgoingPart(data)
    root = envelope(version, f"<t:echo><t:data>{xop(part)}</t:data></t:echo>")
    with serve_wsgi(app) as url:
        resp = post_mtom(url, version, root, [part])
        reply = decode(resp)
    assert reply.binary(reply.find_all("echoResult")[0]) == data
    request_length = len(mtom.OutgoingPackage(root, [part], soap_version=version).to_bytes())
    for events, total in ((received, request_length), (sent, len(resp.content))):
        assert 2 <= len(events) <= 110  # bounded: never one per chunk
        assert [e.done for e in events] == sorted(e.done for e in events)
        assert events[-1].finished and events[-1].done == total == events[-1].total
        assert not any(e.finished for e in events[:-1])
    assert {e.direction for e in received} == {"receive"}
    assert {e.direction for e in sent} == {"send"}
    assert part.content_id in {e.content_id for e in received}


def test_progress_for_a_plain_request() -> None:
    events: list[mtom.Progress] = []
    body = _plain_echo("1.1")
    with serve_wsgi(make_wsgi("1.1", in_options={"progress": events.append})) as url:
        assert post_plain(url, "1.1", body).status_code == 200
    assert events[-1].finished and events[-1].done == len(body) == events[-1].total


def test_one_info_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="spyne_mtom")
    data = pattern(40_000, 2)
    part = mtom.OutgoingPart(data)
    root = envelope("1.1", f"<t:echo><t:data>{xop(part)}</t:data></t:echo>")
    with serve_wsgi(make_wsgi("1.1")) as url:
        resp = post_mtom(url, "1.1", root, [part])
        plain = post_plain(url, "1.1", envelope("1.1", "<t:text><t:s>hi</t:s></t:text>"))
        fault = post_raw(url, b"<nope", PLAIN_CT["1.1"])
    lines = [r for r in caplog.records if r.name == "spyne_mtom"]
    assert len(lines) == 3 and all(r.levelname == "INFO" for r in lines)
    request_length = len(mtom.OutgoingPackage(root, [part]).to_bytes())
    mtom_line, plain_line, fault_line = (r.getMessage() for r in lines)
    # The server sends the reply and receives the request (mtom.WireReport.summary).
    inline_request = len(root) + 4 * ((len(data) + 2) // 3)
    assert (f"; received MTOM, 1 part, {request_length} bytes (inline base64: "
            f"{inline_request}); ") in mtom_line
    assert mtom_line.startswith(f"sent MTOM, 1 part, {len(resp.content)} bytes (inline base64: ")
    assert plain_line.startswith(f"sent plain, {len(plain.content)} bytes; received plain, "
                                 f"{len(plain.request.body or b'')} bytes; ")
    assert fault_line.startswith(f"sent plain, {len(fault.content)} bytes; received plain, 5 bytes")
    assert all(line.endswith(" s") for line in (mtom_line, plain_line, fault_line))
    assert base64.b64encode(data[:30]).decode() not in mtom_line and "<t:" not in plain_line
