"""XOP: reconstitute Includes from parts (and SwA references), optimise values into parts."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from pathlib import Path

import pytest
from _support import calls_during
from lxml import etree

import mtom
from mtom import (
    XMIME_NS,
    XOP_INCLUDE,
    XOP_NS,
    DanglingInclude,
    InvalidInclude,
    LimitExceeded,
    Limits,
    OutgoingPackage,
    OutgoingPart,
    find_swa_references,
    inline_base64,
    optimize,
    read_package,
    reconstitute,
)

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
XMIME_2004 = "http://www.w3.org/2004/11/xmlmime"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
SIG = b"\x00\r\n--sig--\r\n" * 10


def package(root: bytes, parts: Iterable[tuple[str, bytes]], *, start: str = "root@x",
            ct_extra: str = "", charset: str = "latin-1") -> mtom.Package:
    """A package read back from a hand-built CRLF multipart body (headers in ``charset``)."""
    body = (b"--B\r\nContent-Type: application/xop+xml; type=\"text/xml\"\r\n"
            + f"Content-ID: <{start}>\r\n\r\n".encode() + root + b"\r\n")
    for cid, data in parts:
        body += f"--B\r\nContent-ID: <{cid}>\r\n{ct_extra}\r\n".encode(charset) + data + b"\r\n"
    body += b"--B--\r\n"
    return read_package(body, f'multipart/related; type="application/xop+xml"; boundary="B"; '
                              f'start="<{start}>"')


def envelope(header: str = "", body: str = "") -> bytes:
    return (f'<s:Envelope xmlns:s="{S11}" xmlns:xop="{XOP_NS}" xmlns:xm="{XMIME_NS}">'
            f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


def inc(href: str) -> str:
    return f'<xop:Include href="{href}"/>'


# -- reconstitute ---------------------------------------------------------------------------

def test_includes_in_header_and_body_are_resolved() -> None:
    root = envelope(header=f"<sig>{inc('cid:sig@x')}</sig>",
                    body=f"<photo xm:contentType='image/png'>{inc('cid:png@x')}</photo>")
    with package(root, [("png@x", PNG), ("sig@x", SIG)]) as pkg:
        doc = pkg.root_element()
        result = reconstitute(doc, pkg)
        assert [(etree.QName(r.element).localname, r.attachment.read(), r.kind)
                for r in result.references] == [("sig", SIG, "xop"), ("photo", PNG, "xop")]
        assert not list(doc.iter(XOP_INCLUDE))
        photo = doc.find(".//photo")
        assert photo is not None and photo.text is None and len(photo) == 0
        assert result.value_of(photo) is pkg["png@x"]
        assert result.value_of(doc) is None
        assert result.references[1].content_type == "image/png"
        assert result.references[0].content_type == "application/octet-stream"
        assert result.unreferenced == [] and result.swa == []


def test_remove_includes_false_keeps_the_elements() -> None:
    with package(envelope(body=f"<a>{inc('cid:png@x')}</a>"), [("png@x", PNG)]) as pkg:
        doc = pkg.root_element()
        result = reconstitute(doc, pkg, remove_includes=False)
        assert len(list(doc.iter(XOP_INCLUDE))) == 1
        assert result.references[0].attachment.read() == PNG
        inline_base64(result.references)  # removes the Include, writes the value
        assert not list(doc.iter(XOP_INCLUDE))
        assert base64.b64decode(result.references[0].element.text or "") == PNG


@pytest.mark.parametrize(("cid", "href"), [
    ("http://tempuri.org/1/6", "cid:http%3A%2F%2Ftempuri.org%2F1%2F6"),
    ("http://tempuri.org/1/6", "cid:http://tempuri.org/1/6"),
    ("test_encoding cid%$}@", "cid:test_encoding%20cid%25%24%7D%40"),
    ("a@b", "CID:a@b"),
    ("a@b", "Cid:%61@b"),
    ("caf\xe9@x", "cid:caf%C3%A9@x"),
])
def test_href_forms(cid: str, href: str) -> None:
    with package(envelope(body=f"<a>{inc(href)}</a>"), [(cid, PNG)]) as pkg:
        result = reconstitute(pkg.root_element(), pkg)
        assert result.references[0].attachment is pkg.get(cid)
        assert result.references[0].href == href


def test_utf8_content_id_matches_utf8_percent_encoded_href() -> None:
    with package(envelope(body=f"<a>{inc('cid:caf%C3%A9@x')}</a>"), [("caf\xe9@x", PNG)],
                 charset="utf-8") as pkg:
        result = reconstitute(pkg.root_element(), pkg)
        assert result.references[0].attachment.read() == PNG


def test_whitespace_around_and_inside_include_is_accepted() -> None:
    body = '<a>\r\n  <xop:Include href="cid:p@x">\n  </xop:Include>\r\n</a>'
    with package(envelope(body=body), [("p@x", PNG)]) as pkg:
        assert len(reconstitute(pkg.root_element(), pkg).references) == 1


def test_default_namespace_include() -> None:
    body = f'<a><Include\nxmlns="{XOP_NS}" href="cid:p@x"/></a>'
    with package(envelope(body=body), [("p@x", PNG)]) as pkg:
        assert len(reconstitute(pkg.root_element(), pkg).references) == 1


def test_dangling_include() -> None:
    with package(envelope(body=f"<a>{inc('cid:1.B@apache.org')}</a>"),
                 [("11.B@apache.org", PNG)]) as pkg:
        with pytest.raises(DanglingInclude) as info:
            reconstitute(pkg.root_element(), pkg)
        assert info.value.href == "cid:1.B@apache.org"
        assert "cid:1.B@apache.org" in str(info.value)
        assert info.value.fault_role == "Sender"


def test_include_naming_the_root_is_dangling() -> None:
    with package(envelope(body=f"<a>{inc('cid:root@x')}</a>"), []) as pkg, \
            pytest.raises(DanglingInclude):
        reconstitute(pkg.root_element(), pkg)


@pytest.mark.parametrize("href", ["http://example.org/me.png", "https://x/y", "file:///etc/passwd",
                                  "mid:a@b", "p@x", "", "cid", "../p@x"])
def test_non_cid_href_is_invalid_and_never_fetched(href: str) -> None:
    """W3C XOP failure scenario: an http: (Content-Location style) href is not resolved."""
    parts = [("p@x", PNG)]
    with package(envelope(body=f"<a>{inc(href)}</a>"), parts) as pkg:
        with pytest.raises(InvalidInclude) as info:
            reconstitute(pkg.root_element(), pkg)
        assert "cid:" in str(info.value)


def test_include_without_href() -> None:
    with package(envelope(body="<a><xop:Include/></a>"), []) as pkg, \
            pytest.raises(InvalidInclude):
        reconstitute(pkg.root_element(), pkg)


@pytest.mark.parametrize("body", [
    '<a><xop:Include href="cid:p@x"><child/></xop:Include></a>',
    '<a><xop:Include href="cid:p@x"><xop:Include href="cid:p@x"/></xop:Include></a>',
    '<a>text <xop:Include href="cid:p@x"/></a>',
    '<a><xop:Include href="cid:p@x"/> tail text</a>',
    '<a><b/><xop:Include href="cid:p@x"/></a>',
    '<a><xop:Include href="cid:p@x"/><xop:Include href="cid:q@x"/></a>',
])
def test_include_that_is_not_the_whole_value_is_invalid(body: str) -> None:
    with package(envelope(body=body), [("p@x", PNG), ("q@x", SIG)]) as pkg, \
            pytest.raises(InvalidInclude):
        reconstitute(pkg.root_element(), pkg, limits=Limits(max_references_per_part=5))


def test_invalid_include_under_prefixed_parent_is_not_a_crash() -> None:
    root = (f'<r xmlns:xop="{XOP_NS}"><a:b>text<xop:Include href="cid:p@x"/></a:b>'
            '<c xmlns="rel"/></r>').encode()
    with package(root, [("p@x", PNG)]) as pkg:
        try:
            doc = pkg.root_element()
        except mtom.RootPartError:
            return
        with pytest.raises(InvalidInclude):
            reconstitute(doc, pkg)


def test_include_as_document_element() -> None:
    root = f'<xop:Include xmlns:xop="{XOP_NS}" href="cid:p@x"/>'.encode()
    with package(root, [("p@x", PNG)]) as pkg, pytest.raises(InvalidInclude):
        reconstitute(pkg.root_element(), pkg)


def test_max_includes() -> None:
    body = "".join(f"<v{i}>{inc(f'cid:p{i}@x')}</v{i}>" for i in range(5))
    parts = [(f"p{i}@x", bytes([i])) for i in range(5)]
    with package(envelope(body=body), parts) as pkg:
        assert len(reconstitute(pkg.root_element(), pkg,
                                limits=Limits(max_includes=5)).references) == 5
    with package(envelope(body=body), parts) as pkg:
        with pytest.raises(LimitExceeded) as info:
            reconstitute(pkg.root_element(), pkg, limits=Limits(max_includes=4))
        assert info.value.limit == "max_includes" and info.value.value == 4


def test_max_references_per_part() -> None:
    body = f"<a>{inc('cid:p@x')}</a><b>{inc('cid:p@x')}</b><c>{inc('cid:p@x')}</c>"
    with package(envelope(body=body), [("p@x", PNG)]) as pkg:
        with pytest.raises(LimitExceeded) as info:
            reconstitute(pkg.root_element(), pkg)
        assert info.value.limit == "max_references_per_part" and info.value.value == 1
    with package(envelope(body=body), [("p@x", PNG)]) as pkg:
        result = reconstitute(pkg.root_element(), pkg, limits=Limits(max_references_per_part=3))
        assert len({id(r.attachment) for r in result.references}) == 1
        assert len(result.references) == 3


def test_swa_references_and_unreferenced_parts() -> None:
    body = ('<data href="cid:href@x"/><ref>cid:text@x</ref><ref2> CID:text2@x </ref2>'
            '<gone href="cid:missing@x"/><loc href="http://x/y.txt"/>'
            f"<x>{inc('cid:xop@x')}</x>")
    parts = [("href@x", b"1"), ("text@x", b"2"), ("text2@x", b"3"), ("xop@x", b"4"),
             ("lonely@x", b"5")]
    with package(envelope(body=body), parts) as pkg:
        doc = pkg.root_element()
        result = reconstitute(doc, pkg)
        assert [(r.kind, r.attachment.read()) for r in result.swa] == [
            ("swa-href", b"1"), ("swa-ref", b"2"), ("swa-ref", b"3")]
        assert [a.read() for a in result.unreferenced] == [b"5"]
        assert [r.attachment.read() for r in result.references] == [b"4"]
        # find_swa_references on its own gives the same, and leaves the tree alone.
        again = find_swa_references(doc, pkg)
        assert [r.attachment for r in again] == [r.attachment for r in result.swa]
        assert doc.find(".//data").get("href") == "cid:href@x"  # type: ignore[union-attr]


def test_swa_off_lists_nothing_else() -> None:
    with package(envelope(body='<d href="cid:a@x"/>'), [("a@x", b"1"), ("b@x", b"2")]) as pkg:
        result = reconstitute(pkg.root_element(), pkg, swa=False)
        assert result.swa == [] and result.unreferenced == []


def test_inline_base64_gives_the_original_infoset() -> None:
    original = etree.fromstring(envelope(
        header=f"<h xm:contentType='application/pkcs7-signature'>"
               f"{base64.b64encode(SIG).decode()}</h>",
        body=f"<p xm:contentType='image/png'>{base64.b64encode(PNG).decode()}</p>"
             "<small xm:contentType='text/plain'>c21hbGw=</small>"))
    expected = etree.tostring(original, method="c14n")
    tree = etree.fromstring(expected)
    parts = optimize(tree, threshold=64)
    assert len(parts) == 2
    out = OutgoingPackage(etree.tostring(tree), parts)
    with read_package(out.to_bytes(), out.content_type) as pkg:
        doc = pkg.root_element()
        result = reconstitute(doc, pkg)
        inline_base64(result.references)
        assert etree.tostring(doc, method="c14n") == expected


def test_inline_base64_line_length() -> None:
    with package(envelope(body=f"<a>{inc('cid:p@x')}</a>"), [("p@x", PNG)]) as pkg:
        result = reconstitute(pkg.root_element(), pkg)
        inline_base64(result.references, line_length=76)
        text = result.references[0].element.text or ""
        assert max(len(line) for line in text.split("\n")) == 76
        assert base64.b64decode(text) == PNG


# -- optimize --------------------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_optimize_threshold() -> None:
    tree = etree.fromstring(envelope(body=(
        f"<under xm:contentType='a/b'>{b64(b'x' * 99)}</under>"
        f"<exact xm:contentType='a/b'>{b64(b'y' * 100)}</exact>"
        f"<over xm:contentType='a/b'>{b64(b'z' * 101)}</over>")))
    parts = optimize(tree, threshold=100)
    assert [p.source for p in parts] == [b"y" * 100, b"z" * 101]
    assert tree.find(".//under").text == b64(b"x" * 99)  # type: ignore[union-attr]
    for name, part in (("exact", parts[0]), ("over", parts[1])):
        el = tree.find(f".//{name}")
        assert el is not None and el.text is None and len(el) == 1
        assert el[0].tag == XOP_INCLUDE
        assert el[0].get("href") == mtom.cid_href(part.content_id)


def test_optimize_default_chooser_needs_xmime_content_type() -> None:
    tree = etree.fromstring(envelope(body=(
        f"<plain>{b64(PNG)}</plain><typed xm:contentType='image/png'>{b64(PNG)}</typed>"
        f"<old xmlns:x4='{XMIME_2004}' x4:contentType='image/gif'>{b64(PNG)}</old>")))
    parts = optimize(tree, threshold=1)
    assert [p.content_type for p in parts] == ["image/png", "image/gif"]
    assert tree.find(".//plain").text == b64(PNG)  # type: ignore[union-attr]


def test_optimize_select_and_content_id_factory() -> None:
    ids = iter(["first@t", "second@t"])
    tree = etree.fromstring(envelope(body=f"<a>{b64(PNG)}</a><b>{b64(SIG)}</b><c>{b64(SIG)}</c>"))
    parts = optimize(tree, threshold=1, select=lambda el: el.tag in ("a", "c"),
                     content_id=lambda: next(ids))
    assert [(p.content_id, p.source, p.content_type) for p in parts] == [
        ("first@t", PNG, "application/octet-stream"), ("second@t", SIG, "application/octet-stream")]
    assert tree.find(".//b").text == b64(SIG)  # type: ignore[union-attr]


def test_optimize_values_from_bytes_path_file_and_iterable(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(PNG)
    tree = etree.fromstring(envelope(body=(
        "<a xm:contentType='image/png'>placeholder</a><b>x</b><c>x</c><d><nested/></d>")))
    a, b, c, d = (tree.find(f".//{n}") for n in "abcd")
    assert a is not None and b is not None and c is not None and d is not None
    parts = optimize(tree, threshold=10, values={
        a: PNG, b: path, c: io.BytesIO(SIG), d: iter([b"chunk1", b"chunk2"])})
    assert [p.size for p in parts] == [len(PNG), len(PNG), len(SIG), None]
    assert parts[0].content_type == "image/png"
    assert [b"".join(bytes(x) for x in p.iter_content()) for p in parts] == [
        PNG, PNG, SIG, b"chunk1chunk2"]
    for el, part in zip((a, b, c, d), parts, strict=True):
        assert len(el) == 1 and el[0].get("href") == mtom.cid_href(part.content_id)
        assert el.text is None


def test_optimize_small_value_is_not_lost() -> None:
    tree = etree.fromstring(envelope(body="<a>placeholder</a>"))
    a = tree.find(".//a")
    assert a is not None
    parts = optimize(tree, threshold=1024, values={a: b"small"})
    if parts:
        assert parts[0].source == b"small"
    else:
        assert a.text == b64(b"small")


def test_optimize_rejects_text_with_bad_padding() -> None:
    tree = etree.fromstring(envelope(body=f"<a xm:contentType='a/b'>{'QUJDR' * 401}</a>"))
    with pytest.raises(InvalidInclude):
        optimize(tree, threshold=1)


def test_optimize_rejects_text_that_is_not_base64() -> None:
    tree = etree.fromstring(envelope(body=f"<a xm:contentType='a/b'>{'not base64! ' * 400}</a>"))
    with pytest.raises(InvalidInclude):
        optimize(tree, threshold=1)


def test_optimize_accepts_wrapped_base64() -> None:
    text = base64.encodebytes(PNG).decode()  # 76-character lines
    tree = etree.fromstring(envelope(body=f"<a xm:contentType='image/png'>\n{text}</a>"))
    parts = optimize(tree, threshold=1)
    assert parts[0].source == PNG


def test_include_helper_replaces_content() -> None:
    el = etree.fromstring("<a>text<b/>tail</a>")
    part = OutgoingPart(b"v", content_id="c d@x")
    mtom.include(el, part)
    assert el.text is None and len(el) == 1
    assert el[0].tag == XOP_INCLUDE and el[0].get("href") == "cid:c%20d@x"


def test_optimize_write_read_reconstitute_round_trip() -> None:
    tree = etree.fromstring(envelope(body=(
        f"<p xm:contentType='image/png'>{b64(PNG)}</p><s xm:contentType='x/y'>{b64(SIG)}</s>")))
    parts = optimize(tree, threshold=16)
    out = OutgoingPackage(etree.tostring(tree), parts, soap_version="1.2", action="urn:act")
    with read_package(out.iter_bytes(), out.content_type) as pkg:
        result = reconstitute(pkg.root_element(), pkg)
        assert [r.attachment.read() for r in result.references] == [PNG, SIG]
        assert [r.attachment.content_type for r in result.references] == ["image/png", "x/y"]
        assert [r.content_type for r in result.references] == ["image/png", "x/y"]


# -- issue 8: ambiguity and linear resolution ----------------------------------------------

def test_include_naming_a_shared_content_id_is_refused() -> None:
    """Two parts with one Content-ID and an Include naming it: refused (the first part
    used to win silently; an ambiguous reference can slip a part past a signature)."""
    root = envelope(body=f"<v>{inc('cid:dup@x')}</v>")
    with package(root, [("dup@x", b"signed"), ("dup@x", b"evil")]) as pkg:
        with pytest.raises(mtom.AmbiguousReference) as info:
            reconstitute(etree.fromstring(root), pkg)
        assert info.value.href == "cid:dup@x" and info.value.fault_role == "Sender"
        assert isinstance(info.value, mtom.MalformedXop)


def test_swa_reference_to_a_shared_content_id_is_refused() -> None:
    root = envelope(body='<v href="cid:dup@x"/>')
    with (package(root, [("dup@x", b"1"), ("dup@x", b"2")]) as pkg,
          pytest.raises(mtom.AmbiguousReference)):
        reconstitute(etree.fromstring(root), pkg)


def test_unreferenced_duplicates_stay_readable_with_a_warning() -> None:
    root = envelope(body=f"<v>{inc('cid:one@x')}</v>")
    with package(root, [("one@x", b"1"), ("dup@x", b"2"), ("dup@x", b"3")]) as pkg:
        found = reconstitute(etree.fromstring(root), pkg)
        assert [r.attachment.read() for r in found.references] == [b"1"]
        assert [a.read() for a in found.unreferenced] == [b"2", b"3"]
        assert any("share the Content-ID <dup@x>" in w for w in pkg.warnings)


def test_swa_resolution_is_linear_in_elements_and_parts() -> None:
    """16,000 elements with a non-cid href and 999 parts: each lookup is one dict access
    (it scanned every part per element: 4.3 s)."""
    def calls(elements: int, parts: int) -> int:
        body = "".join(f'<e href="http://x/{i}">v</e>' for i in range(elements))
        root = envelope(body=body)
        with package(root, [(f"p{i}@x", b"d") for i in range(parts)]) as pkg:
            tree = etree.fromstring(root)
            return calls_during(lambda: reconstitute(tree, pkg))
    small, many_parts, many_elements = calls(1000, 10), calls(1000, 999), calls(16000, 10)
    assert many_parts < small + 999 * 20, (small, many_parts)
    assert many_elements < 16 * small * 1.2, (small, many_elements)


def test_errors_quote_peer_text_escaped_and_cut() -> None:
    """A control character or a 1 MiB href in an error message must not reach a fault
    as is (Spyne could not write the fault; a 1 MiB href gave a 2 MiB fault)."""
    href = "cid:" + "x" * (1 << 20)
    root = envelope(body=f"<v>{inc(href)}</v>")
    with package(root, [("\x01bad\x7f@x", b"d")]) as pkg, pytest.raises(DanglingInclude) as info:
        reconstitute(etree.fromstring(root), pkg)
    text = str(info.value)
    assert len(text) < 3000 and text.isprintable(), len(text)
    assert "\\x01bad\\x7f@x" in text and "more characters" in text
    assert info.value.href == href  # the attribute keeps the raw value
