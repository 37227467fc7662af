"""Package assembly: which part is the root, safe XML parsing, clean-up on error."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from _support import fds_under, split_feeds

import mtom
from mtom import (
    AmbiguousReference,
    LimitExceeded,
    Limits,
    MalformedMime,
    NoBoundary,
    NotMultipart,
    PackageReader,
    RootPartError,
    SoapVersion,
    TruncatedMessage,
    UsageError,
    parse_xml,
    read_package,
)

ENV11 = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
ENV12 = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
CT = 'multipart/related; type="application/xop+xml"; boundary="b"'


def message(*parts: tuple[str, bytes], boundary: str = "b") -> bytes:
    """A CRLF-framed body from (header lines joined by CRLF, content) pairs."""
    out = b""
    for headers, content in parts:
        out += f"--{boundary}\r\n{headers}\r\n\r\n".encode("latin-1") + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()






TWO = message(("Content-ID: <att@x>\r\nContent-Type: image/png", b"\x89PNG"),
              ("Content-ID: <root@x>\r\nContent-Type: text/xml", ENV11))


# -- choosing the root -----------------------------------------------------------------

@pytest.mark.parametrize("start", ['"<root@x>"', "<root@x>", '"root@x"', "root@x", '" <root@x> "'])
def test_root_by_start_with_or_without_brackets(start: str) -> None:
    for chunks in split_feeds(TWO):
        with read_package(chunks, f"{CT}; start={start}") as pkg:
            assert pkg.root.content_id == "root@x"
            assert pkg.parts.index(pkg.root) == 1  # the root is not first
            assert [a.content_id for a in pkg.attachments] == ["att@x"]
            assert pkg.root.read() == ENV11
            assert pkg.warnings == []


def test_missing_start_means_first_part() -> None:
    with read_package(TWO, CT) as pkg:
        assert pkg.root is pkg.parts[0]
        assert pkg.root.content_id == "att@x"
        assert pkg.warnings == []


def test_start_naming_no_part_falls_back_to_first_with_warning() -> None:
    with read_package(TWO, f'{CT}; start="<nowhere@x>"') as pkg:
        assert pkg.root is pkg.parts[0]
        assert len(pkg.warnings) == 1 and "nowhere@x" in pkg.warnings[0]


def test_fallback_root_that_was_spooled_is_kept_intact(tmp_path: Path) -> None:
    big = ENV11.replace(b"<s:Body/>", b"<s:Body>" + b"x" * 5000 + b"</s:Body>")
    body = message(("Content-ID: <r@x>", big), ("Content-ID: <a@x>", b"A" * 5000))
    with read_package(body, f'{CT}; start="<other@x>"', spool_threshold=100,
                      spool_dir=tmp_path) as pkg:
        assert pkg.root.read() == big
        assert pkg.root.in_memory
        assert pkg.root_element().tag.endswith("Envelope")
        assert not pkg.attachments[0].in_memory
        assert len(fds_under(tmp_path)) == 1
    assert fds_under(tmp_path) == []


def test_no_parts_is_a_root_part_error() -> None:
    for body in (b"--b--\r\n", b"preamble\r\n--b--"):
        with pytest.raises(RootPartError):
            read_package(body, CT)


def test_root_multipart_is_a_root_part_error() -> None:
    inner = b"--in\r\nContent-Type: text/plain\r\n\r\nx\r\n--in--"
    body = message(("Content-Type: multipart/mixed; boundary=in", inner))
    with pytest.raises(RootPartError) as info:
        read_package(body, CT)
    assert info.value.part == 0


def test_attachment_that_is_multipart_is_kept_opaque() -> None:
    inner = b"--in\r\nContent-Type: text/plain\r\n\r\nx\r\n--in--"
    body = message(("Content-Type: text/xml", ENV11),
                   ("Content-Type: multipart/mixed; boundary=in", inner))
    with read_package(body, CT) as pkg:
        assert pkg.attachments[0].read() == inner


# -- outer Content-Type -------------------------------------------------------------------

@pytest.mark.parametrize(("ct", "error"), [
    ("text/xml; charset=utf-8", NotMultipart),
    ("", NotMultipart),
    ("multipart/related", NoBoundary),
    ('multipart/related; boundary=""', NoBoundary),
    ("multipart/related; boundary=" + "x" * 201, NoBoundary),
    ('multipart/related; boundary="unterminated', MalformedMime),
])
def test_unusable_content_type(ct: str, error: type[Exception]) -> None:
    with pytest.raises(mtom.MtomError) as info:
        read_package(TWO, ct)
    assert type(info.value) is error


def test_non_latin1_boundary_from_the_peer() -> None:
    with pytest.raises(mtom.ProtocolError):
        read_package("--\u20ac\r\n\r\nx\r\n--\u20ac--".encode(),
                     'multipart/related; boundary="\u20ac"')


def test_content_type_as_bytes_or_parsed() -> None:
    for ct in (CT.encode(), mtom.parse_content_type(CT)):
        with read_package(TWO, ct) as pkg:
            assert len(pkg) == 2


# -- package API ---------------------------------------------------------------------------

def test_lookup_iteration_and_is_xop() -> None:
    body = message(("Content-Type: application/xop+xml; type=\"text/xml\"\r\nContent-ID: <r>",
                    ENV11),
                   ("Content-ID: <a b%>", b"1"), ("Content-ID: <d>", b"2"), ("", b"3"))
    with read_package(body, 'multipart/related; boundary="b"') as pkg:
        assert len(pkg) == 4 and list(pkg) == pkg.parts
        assert pkg.get("a b%") is pkg.parts[1]
        assert pkg.get("<a b%>") is pkg.parts[1]
        assert pkg.get("cid:a%20b%25") is pkg.parts[1]
        assert pkg.get("CID:a%20b%25") is pkg.parts[1]
        assert pkg.get("missing") is None
        with pytest.raises(KeyError):
            pkg["cid:missing"]
        assert pkg.is_xop
        assert pkg.parts[3].content_id is None
        assert pkg.parts[3].content_type == "application/octet-stream"
        assert pkg.warnings == []


def test_duplicate_content_ids_are_readable_but_never_resolved() -> None:
    """Issue 8: the first of two parts with one Content-ID used to win silently."""
    body = message(("Content-Type: text/xml\r\nContent-ID: <r>", ENV11),
                   ("Content-ID: <a b%>", b"1"), ("Content-ID: <a b%>", b"2"),
                   ("Content-Location: x.bin", b"3"), ("Content-Location: x.bin ", b"4"))
    with read_package(body, CT) as pkg:
        assert [p.read() for p in pkg.attachments] == [b"1", b"2", b"3", b"4"]
        assert any("parts 1, 2 share the Content-ID <a b%>" in w for w in pkg.warnings)
        for ref in ("a b%", "cid:a%20b%25", "<a b%>"):
            with pytest.raises(AmbiguousReference) as info:
                pkg.get(ref)
            assert info.value.href == ref and info.value.fault_role == "Sender"
        with pytest.raises(AmbiguousReference):
            pkg.get_by_location("x.bin")
        with pytest.raises(AmbiguousReference) as info:
            pkg.by_content_id("a b%", "cid:a%20b%25")
        assert info.value.href == "cid:a%20b%25"
        # A Content-ID is looked up as it is: never read as a cid: URL or %-decoded.
        assert pkg.by_content_id("a%20b%25") is None and pkg.by_content_id("<r>") is None
        assert pkg.by_content_id("r") is pkg.root


def test_soap_version_from_envelope() -> None:
    for env, version in ((ENV11, SoapVersion.SOAP11), (ENV12, SoapVersion.SOAP12)):
        with read_package(message(("Content-Type: text/xml", env)), CT) as pkg:
            assert pkg.soap_version is version
            assert not pkg.is_xop or pkg.content_type.get("type") == "application/xop+xml"


def test_transfer_encodings_are_decoded() -> None:
    body = message(("Content-Type: text/xml\r\nContent-Transfer-Encoding: base64",
                    base64.encodebytes(ENV11)),
                   ("Content-ID: <q>\r\nContent-Transfer-Encoding: Quoted-Printable",
                    b"caf=C3=A9 soft=\r\nbreak"),
                   ("Content-ID: <u>\r\nContent-Transfer-Encoding: undefined", b"=41 kept"))
    for chunks in split_feeds(body):
        with read_package(chunks, CT) as pkg:
            assert pkg.root.read() == ENV11
            assert pkg["q"].read() == "café softbreak".encode()
            assert pkg["u"].read() == b"=41 kept"
            assert any("undefined" in w for w in pkg.warnings)


def test_read_package_accepts_chunks_with_empty_ones() -> None:
    with read_package(iter([b"", TWO[:10], b"", TWO[10:]]), CT) as pkg:
        assert len(pkg.parts) == 2


def test_package_reader_feed_after_close() -> None:
    reader = PackageReader(CT)
    reader.feed(TWO)
    pkg = reader.close()
    with pytest.raises(UsageError):
        reader.feed(b"more")
    pkg.close()


def test_package_reader_feed_empty_then_close() -> None:
    reader = PackageReader(CT)
    reader.feed(memoryview(TWO))
    reader.feed(b"")
    with reader.close() as pkg:
        assert len(pkg) == 2


def test_close_releases_all_parts(tmp_path: Path) -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a" * 500),
                   ("Content-ID: <b>", b"b" * 500))
    pkg = read_package(body, CT, spool_threshold=100, spool_dir=tmp_path)
    assert len(fds_under(tmp_path)) == 2
    pkg.close()
    assert all(p.closed for p in pkg.parts)
    assert fds_under(tmp_path) == []


# -- clean-up on error -----------------------------------------------------------------------

def test_truncated_message_leaves_no_spooled_file(tmp_path: Path) -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a" * 5000))
    truncated = body[:-200]
    reader = PackageReader(CT, spool_threshold=100, spool_dir=tmp_path)
    reader.feed(truncated)
    assert fds_under(tmp_path)
    with pytest.raises(TruncatedMessage):
        reader.close()
    assert fds_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_limit_error_mid_message_leaves_no_spooled_file(tmp_path: Path) -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a" * 5000),
                   ("Content-ID: <b>", b"b" * 5000))
    reader = PackageReader(CT, spool_threshold=100, spool_dir=tmp_path,
                           limits=Limits(max_attachment_size=4000))
    with pytest.raises(LimitExceeded) as info:
        for i in range(0, len(body), 1000):
            reader.feed(body[i:i + 1000])
    assert info.value.limit == "max_attachment_size" and info.value.part == 1
    assert fds_under(tmp_path) == []


def test_context_manager_cleans_up_when_the_caller_fails(tmp_path: Path) -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a" * 5000))
    with pytest.raises(RuntimeError), PackageReader(CT, spool_threshold=100,
                                                    spool_dir=tmp_path) as reader:
        reader.feed(body[:3000])
        assert fds_under(tmp_path)
        raise RuntimeError("caller gave up")
    assert fds_under(tmp_path) == []


def test_max_root_size() -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a" * 5000))
    with read_package(body, CT, limits=Limits(max_root_size=len(ENV11))) as pkg:
        assert pkg.root.read() == ENV11
    with pytest.raises(LimitExceeded) as info:
        read_package(body, CT, limits=Limits(max_root_size=len(ENV11) - 1))
    assert info.value.limit == "max_root_size" and info.value.part == 0


def test_max_root_size_of_a_fallback_root() -> None:
    body = message(("Content-Type: text/xml", ENV11), ("Content-ID: <a>", b"a"))
    with pytest.raises(LimitExceeded) as info:
        read_package(body, f'{CT}; start="<nowhere>"', limits=Limits(max_root_size=10))
    assert info.value.limit == "max_root_size"


# -- parsing the root safely -----------------------------------------------------------------

@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b']><r>&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/evil">]><r>&x;</r>',
    b"<!DOCTYPE r><r/>",
])
def test_parse_xml_rejects_dtds_and_entities(doc: bytes) -> None:
    with pytest.raises(RootPartError) as info:
        parse_xml(doc)
    assert "root:x:0:0" not in str(info.value)


@pytest.mark.parametrize("doc", [b"", b"  \r\n", b"<a><b></a>", b"not xml", b"<a/><b/>",
                                 b"\x00\x01"])
def test_parse_xml_rejects_malformed(doc: bytes) -> None:
    with pytest.raises(RootPartError):
        parse_xml(doc)


def test_package_root_with_dtd_is_rejected() -> None:
    body = message(("Content-Type: text/xml", b'<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>'))
    with read_package(body, CT) as pkg, pytest.raises(RootPartError):
        pkg.root_element()


@pytest.mark.parametrize(("charset", "encoding"), [
    ("UTF-16LE", "utf-16-le"), ("utf-16be", "utf-16-be"), ("ISO-8859-1", "latin-1"),
    ("windows-1252", "cp1252"),
])
def test_charset_is_honoured_without_declaration(charset: str, encoding: str) -> None:
    text = '<r xmlns="urn:x">caf\xe9 \u20ac</r>' if encoding in ("utf-16-le", "utf-16-be",
                                                                 "cp1252") else \
        '<r xmlns="urn:x">caf\xe9</r>'
    doc = text.encode(encoding)
    body = message((f"Content-Type: text/xml; charset={charset}", doc))
    with read_package(body, CT) as pkg:
        assert pkg.root_element().text == text.split(">")[1].split("<")[0]
    assert parse_xml(doc, charset=charset).text == text.split(">")[1].split("<")[0]


def test_declaration_and_bom_win_over_charset() -> None:
    declared = '<?xml version="1.0" encoding="ISO-8859-1"?><r>caf\xe9</r>'.encode("latin-1")
    assert parse_xml(declared, charset="utf-8").text == "caf\xe9"
    bom16 = "<r>caf\xe9</r>".encode("utf-16")  # with BOM
    assert parse_xml(bom16, charset="latin-1").text == "caf\xe9"
    bom8 = b"\xef\xbb\xbf<r>caf\xc3\xa9</r>"
    assert parse_xml(bom8, charset="latin-1").text == "caf\xe9"


def test_unknown_charset_is_a_root_part_error() -> None:
    with pytest.raises(RootPartError):
        parse_xml(b"<r/>", charset="no-such-charset")


def test_unknown_root_charset_from_the_peer_is_a_root_part_error() -> None:
    body = message(("Content-Type: text/xml; charset=x-bogus", ENV11))
    with read_package(body, CT) as pkg, pytest.raises(RootPartError):
        pkg.root_element()


def test_root_with_undeclared_prefix_is_not_a_crash() -> None:
    doc = b'<soapenv:Envelope><soapenv:Body><a xmlns="rel"/></soapenv:Body></soapenv:Envelope>'
    with read_package(message(("Content-Type: text/xml", doc)), CT) as pkg:
        try:
            pkg.root_element()
        except RootPartError:
            return
        assert pkg.soap_version is None


@pytest.mark.parametrize("charset", ["no-such-charset", "b'U-ID: <x>'", "utf\x00-8"])
def test_unknown_or_malformed_root_charset_is_a_root_part_error(charset: str) -> None:
    """Found by fuzzing: lxml's parser constructor raised LookupError/ValueError."""
    with pytest.raises(mtom.RootPartError, match="charset"):
        mtom.parse_xml(b"<a/>", charset=charset)


def test_spool_threshold_can_be_decided_per_part(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def decide(start: mtom.PartStart) -> int:
        seen.append(start.content_id)
        return 0 if start.content_type.media_type == "image/png" else 1 << 30

    pkg = mtom.OutgoingPackage(b"<a/>", [
        mtom.OutgoingPart(b"x" * 100, content_id="png@x", content_type="image/png"),
        mtom.OutgoingPart(b"y" * 100, content_id="txt@x", content_type="text/plain")])
    with read_package(pkg.to_bytes(), pkg.content_type, spool_threshold=decide,
                      spool_dir=tmp_path) as package:
        assert [a.in_memory for a in package.attachments] == [False, True]
        assert package["png@x"].read() == b"x" * 100
    assert seen == ["png@x", "txt@x"]  # asked for every part but the root


def test_keep_attachments_false_keeps_the_root_only() -> None:
    body = message(("Content-Type: text/xml\r\nContent-ID: <r>", ENV11),
                   ("Content-ID: <a>", b"payload"))
    with read_package(body, CT, keep_attachments=False) as pkg:
        assert pkg.root.read() == ENV11 and pkg.root_element() is not None
        assert pkg.attachments[0].size == 7
        with pytest.raises(UsageError):
            pkg.attachments[0].read()
    # A start naming no part makes part 0 the root by fallback: it is kept.
    with read_package(body, f'{CT}; start="<nowhere>"', keep_attachments=False) as pkg:
        assert pkg.root.read() == ENV11


def test_plain_envelope_labelled_multipart_is_read_as_plain() -> None:
    """node-soap copies the request's Content-Type onto its reply: a plain SOAP Fault
    arrives labelled multipart/related with no delimiter (issue 11)."""
    fault = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/'
             b'envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>'
             b"Invalid XML</faultstring></s:Fault></s:Body></s:Envelope>")
    ct = f'{CT}; start="<root@x>"; start-info="text/xml"'
    for chunks in split_feeds(fault):
        for kind in (bytes, bytearray, memoryview):
            reader = PackageReader(ct)
            for c in chunks:
                buffer = bytearray(c)
                reader.feed(kind(buffer))
                buffer[:] = b"\0" * len(buffer)  # a caller's buffer, reused: never kept
            with reader.close() as pkg:
                assert pkg.root.read() == fault and len(pkg) == 1
                assert pkg.soap_version is SoapVersion.SOAP11
                assert any("holds no '--b' delimiter" in w for w in pkg.warnings)


@pytest.mark.parametrize("extra", [0, 1])
def test_a_plain_document_is_read_up_to_the_preamble_limit_only(extra: int) -> None:
    # The fallback keeps at most max_preamble_bytes: one byte more and it is not a document
    # the reader can give back whole, in every chunking (the bytes fed are kept by reference).
    doc = b"<e>" + b"x" * 50 + b"</e>"
    limits = Limits(max_preamble_bytes=len(doc) - 1 + extra)
    for chunks in split_feeds(doc):
        reader = PackageReader(CT, limits=limits)
        if not extra:
            with pytest.raises(NoBoundary):
                for c in chunks:
                    reader.feed(c)
                reader.close()
            continue
        for c in chunks:
            reader.feed(c)
        with reader.close() as pkg:
            assert pkg.root.read() == doc


@pytest.mark.parametrize("body", [b"not xml at all", b"", b"--other\r\n\r\nx\r\n--other--"])
def test_a_body_without_delimiter_that_is_no_document_is_still_no_boundary(body: bytes) -> None:
    with pytest.raises(NoBoundary):
        read_package(body, CT)


def test_dime_is_refused_with_415() -> None:
    """Axis 1 and WSE 2 can send DIME; it is named, and a server answers 415 (issue 11)."""
    from mtom import DimeNotSupported
    with pytest.raises(DimeNotSupported) as info:
        PackageReader("application/dime")
    assert "DIME (application/dime) is not supported; MTOM and SwA are" in str(info.value)
    assert info.value.http_status("1.1") == info.value.http_status("1.2") == 415
    assert info.value.fault_role == "Sender" and isinstance(info.value, NotMultipart)


def test_parse_xml_reuses_a_parser_per_thread_and_options_invisibly() -> None:
    import threading

    from mtom.package import _parser

    a = _parser({"huge_tree": False, "encoding": None})
    assert _parser({"encoding": None, "huge_tree": False}) is a  # same options, same parser
    assert _parser({"huge_tree": True, "encoding": None}) is not a
    # A failed parse leaves nothing behind for the next one (error_log is per parse).
    with pytest.raises(RootPartError, match="prefix x"):
        parse_xml(b"<a><x:b/></a>")
    assert parse_xml(b"<a><b/></a>").tag == "a"
    with pytest.raises(RootPartError, match="DTD"):
        parse_xml(b"<!DOCTYPE a []><a/>")
    assert parse_xml(b"<a/>").tag == "a"
    other: list[object] = []
    t = threading.Thread(target=lambda: other.append(_parser({"huge_tree": False,
                                                              "encoding": None})))
    t.start()
    t.join()
    assert other and other[0] is not a  # lxml parsers are not shared between threads


def test_text_node_over_the_libxml2_limit_says_what_to_do() -> None:
    doc = b"<a>" + b"QUJD" * 2_600_000 + b"</a>"  # a 10.4 MB text node
    with pytest.raises(mtom.RootPartError) as info:
        mtom.parse_xml(doc, what="request")
    message = str(info.value)
    assert "huge_tree=True" in message and "memory" in message and "xop:Include" in message
    assert mtom.parse_xml(doc, huge_tree=True).tag == "a"
