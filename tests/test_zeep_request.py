"""Requests: optimising Zeep's finished envelope, headers, and bodies requests can stream."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
import requests.utils
from lxml import etree

import mtom
from mtom import MtomOptions
from zeep_mtom.hooks import CallContext
from zeep_mtom.request import ACCEPT, prepare, soap_version_of

NS = "urn:t"
XMIME = "http://www.w3.org/2005/05/xmlmime"
RAW = bytes(range(256)) * 8  # 2048 bytes


def _envelope(version: mtom.SoapVersion = mtom.SoapVersion.SOAP11) -> etree._Element:
    env = version.envelope_ns
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"soap-env": env})
    etree.SubElement(root, f"{{{env}}}Body")
    return root


def _child(root: etree._Element, local: str, text: str | None = None,
           **attrs: str) -> etree._Element:
    el = etree.SubElement(root[0], f"{{{NS}}}{local}", attrs)
    el.text = text
    return el


def optimise_envelope(root: etree._Element, ctx: CallContext | None,
                      options: MtomOptions) -> list[mtom.OutgoingPart]:
    """The parts :func:`prepare` moves out of ``root`` (an MTOM call)."""
    if ctx is None:
        options = MtomOptions(mtom=True, optimize_elements=options.optimize_elements)
    prepared = prepare(root, {"Content-Type": "text/xml"}, ctx, options)
    return prepared.package.parts if prepared.package is not None else []


def test_placeholders_become_includes_without_base64() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    data = _child(root, "data")
    ctx.render(data, RAW)
    typed = _child(root, "typed", **{f"{{{XMIME}}}contentType": "image/png"})
    ctx.render(typed, mtom.Attachment.from_bytes(RAW, content_type="text/plain"))
    parts = optimise_envelope(root, ctx, ctx.options)
    assert parts[0].source is RAW
    assert [p.content_type for p in parts] == ["application/octet-stream", "image/png"]
    for el, part in zip((data, typed), parts, strict=True):
        include = el[0]
        assert include.tag == mtom.XOP_INCLUDE and el.text is None
        assert include.get("href") == mtom.cid_href(part.content_id)
    assert not ctx.pending


def test_text_values_are_moved_after_signing_and_by_hints() -> None:
    ctx = CallContext(MtomOptions(optimize_elements=[f"{{{NS}}}forced"]), optimise=True,
                      placeholders=False)
    root = _envelope()
    signed = _child(root, "signed")
    ctx.render(signed, RAW)  # rendered as base64, remembered
    hinted = _child(root, "hinted", base64.b64encode(RAW).decode(),
                    **{f"{{{XMIME}}}contentType": "audio/ogg"})
    small_hint = _child(root, "smallhint", "QUJD", **{f"{{{XMIME}}}contentType": "a/b"})
    forced = _child(root, "forced", "QUJD")
    other = _child(root, "other", base64.b64encode(RAW).decode())
    parts = optimise_envelope(root, ctx, ctx.options)
    assert [p.source for p in parts] == [RAW, RAW, b"ABC"]
    assert parts[1].content_type == "audio/ogg"
    assert len(signed) == len(hinted) == len(forced) == 1
    assert small_hint.text == "QUJD" and other.text == base64.b64encode(RAW).decode()


def test_forced_element_that_is_not_base64_is_an_error() -> None:
    root = _envelope()
    _child(root, "forced", "not base64 at all!")
    with pytest.raises(mtom.InvalidInclude):
        optimise_envelope(root, None, MtomOptions(optimize_elements=[f"{{{NS}}}forced"]))


def test_no_context_follows_the_mtom_option() -> None:
    for option, multipart in ((None, False), (False, False), (True, True)):
        root = _envelope()
        _child(root, "d", base64.b64encode(RAW).decode(),
               **{f"{{{XMIME}}}contentType": "image/png"})
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"a"'}
        prepared = prepare(root, headers, None, MtomOptions(mtom=option))
        assert prepared.is_mtom is multipart


def test_soap11_headers() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), RAW)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:a"',
               "content-length": "99"}
    prepared = prepare(root, headers, ctx, ctx.options)
    assert prepared.headers is headers  # updated in place, as Zeep's plugins saw it
    ct = mtom.parse_content_type(headers["Content-Type"])
    assert (ct.media_type, ct.get("type"), ct.get("start-info"), ct.get("action")) == (
        "multipart/related", "application/xop+xml", "text/xml", None)
    assert headers["SOAPAction"] == '"urn:a"'
    assert "content-length" not in headers
    assert prepared.package is not None
    assert headers["Content-Length"] == str(prepared.package.content_length)
    body = prepared.package.to_bytes()
    assert len(body) == int(headers["Content-Length"])
    package = mtom.read_package(body, headers["Content-Type"])
    assert package.attachments[0].read() == RAW
    assert b"xop:Include" in prepared.envelope


def test_soap12_action_moves_into_the_multipart_content_type() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope(mtom.SoapVersion.SOAP12)
    ctx.render(_child(root, "data"), RAW)
    headers = {"Content-Type": 'application/soap+xml; charset=utf-8; action="urn:op"',
               "SOAPAction": '"urn:op"'}
    prepare(root, headers, ctx, ctx.options)
    ct = mtom.parse_content_type(headers["Content-Type"])
    assert ct.get("start-info") == "application/soap+xml"
    assert ct.get("action") == "urn:op"


def test_plain_when_nothing_qualifies() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), b"small")
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    prepared = prepare(root, headers, ctx, ctx.options)
    # Plain on the wire, but the call says it reads XOP (JAX-WS then answers with MTOM).
    assert not prepared.is_mtom and headers == {"Content-Type": "text/xml; charset=utf-8",
                                                "Accept": ACCEPT}
    assert prepared.content() == prepared.envelope
    assert prepared.envelope.startswith(b"<?xml version='1.0' encoding='utf-8'?>")


@pytest.mark.parametrize(("version", "content_type", "expected"), [
    (mtom.SoapVersion.SOAP11, "application/soap+xml", mtom.SoapVersion.SOAP11),
    (mtom.SoapVersion.SOAP12, "text/xml", mtom.SoapVersion.SOAP12),
])
def test_version_comes_from_the_envelope(version: mtom.SoapVersion, content_type: str,
                                         expected: mtom.SoapVersion) -> None:
    assert soap_version_of(_envelope(version), content_type) is expected
    assert soap_version_of(etree.Element("x"), "application/soap+xml") is (
        mtom.SoapVersion.SOAP12)


def test_package_stream_gives_requests_the_content_length() -> None:
    package = mtom.OutgoingPackage(b"<r/>", [mtom.OutgoingPart(RAW)])
    body = package.stream()
    assert requests.utils.super_len(body) == package.content_length
    prepared = requests.Request("POST", "http://h/", data=package.stream()).prepare()
    assert prepared.headers["Content-Length"] == str(package.content_length)
    assert "Transfer-Encoding" not in prepared.headers
    assert b"".join(iter(lambda: body.read(1000), b"")) == package.to_bytes()
    assert b"".join(package.stream()) == package.to_bytes()


def test_unknown_length_goes_chunked() -> None:
    ctx = CallContext(MtomOptions(), optimise=True, placeholders=True)
    root = _envelope()
    ctx.render(_child(root, "data"), mtom.OutgoingPart(iter([RAW])))
    prep = prepare(root, {"Content-Type": "text/xml"}, ctx, ctx.options)
    assert prep.package is not None and prep.package.content_length is None
    prepared_body: Any = prep.content()
    assert not isinstance(prepared_body, (bytes, mtom.PackageStream))
    req = requests.Request("POST", "http://h/", data=prepared_body,
                           headers=dict(prep.headers)).prepare()
    assert req.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in req.headers


def test_accept_names_xop_only_when_mtom_is_on_and_keeps_the_users() -> None:
    for option, expected in ((True, ACCEPT), (False, None), (None, None)):
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        prepare(_envelope(), headers, None, MtomOptions(mtom=option))
        assert headers.get("Accept") == expected
    headers = {"Content-Type": "text/xml; charset=utf-8", "accept": "text/xml"}
    prepare(_envelope(), headers, None, MtomOptions(mtom=True))
    assert headers == {"Content-Type": "text/xml; charset=utf-8", "accept": "text/xml"}
