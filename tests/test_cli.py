"""``mtom inspect`` end to end: exit codes, JSON shape, human output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mtom
from mtom.cli import main

PAYLOAD = b"\r\n\x00binary\xff\r\n"


def _message(tmp_path: Path) -> tuple[Path, str]:
    env = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
           b'<s:Body><d><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
           b'href="cid:one@x"/></d></s:Body></s:Envelope>')
    pkg = mtom.OutgoingPackage(env, [
        mtom.OutgoingPart(PAYLOAD, content_id="one@x", content_type="image/png"),
        mtom.OutgoingPart(b"extra", content_id="two@x", content_type="text/plain"),
    ], soap_version="1.2")
    path = tmp_path / "m.msg"
    path.write_bytes(pkg.to_bytes())
    return path, pkg.content_type


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    assert main(["inspect", str(path), "--content-type", ct, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["soap_version"] == "1.2"
    assert out["xop_includes"] == 1
    assert out["root"]["content_type"].startswith("application/xop+xml")
    assert [(p["content_id"], p["content_type"], p["size"], p["xop"]) for p in out["parts"]] == [
        ("one@x", "image/png", len(PAYLOAD), True), ("two@x", "text/plain", 5, False)]
    import hashlib
    assert out["parts"][0]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()


def test_human_output_names_parts_and_references(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    assert main(["inspect", str(path), "--content-type", ct]) == 0
    out = capsys.readouterr().out
    assert "MTOM/XOP, SOAP 1.2, 3 parts" in out
    assert "<one@x>" in out and "xop:Include from /Envelope/Body/d" in out
    assert "(not referenced from the root part)" in out


def test_boundary_is_sniffed_when_no_content_type(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _message(tmp_path)
    assert main(["inspect", str(path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["parts"]) == 2


def test_http_capture_gives_the_content_type(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    body = path.read_bytes()
    cap = tmp_path / "c.http"
    cap.write_bytes(b"HTTP/1.1 200 OK\r\nContent-Type: " + ct.encode() +
                    b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert main(["inspect", str(cap), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["soap_version"] == "1.2"


@pytest.mark.parametrize("as_json", [False, True])
def test_truncated_message_is_exit_2_with_one_line(tmp_path: Path, as_json: bool,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    path.write_bytes(path.read_bytes()[:-40])
    args = ["inspect", str(path), "--content-type", ct] + (["--json"] if as_json else [])
    assert main(args) == 2
    captured = capsys.readouterr()
    text = captured.out if as_json else captured.err
    assert len(text.strip().splitlines()) == 1
    if as_json:
        err = json.loads(text)["error"]
        assert err["type"] == "TruncatedMessage" and "close delimiter" in err["message"]
    else:
        assert "TruncatedMessage" in text


def test_dangling_include_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"cid:one@x", b"cid:nope@x"))
    assert main(["inspect", str(path), "--content-type", ct, "--json"]) == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert err["type"] == "DanglingInclude" and "cid:nope@x" in err["message"]


def test_missing_file_and_unknown_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "absent"), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["type"] == "OSError"
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a mime body")
    assert main(["inspect", str(junk), "--json"]) == 2
    assert "--content-type" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    path, ct = _message(tmp_path)
    out = subprocess.run([sys.executable, "-m", "mtom", "inspect", str(path), "--content-type",
                          ct, "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout)["xop_includes"] == 1


def test_corpus_messages_inspect_cleanly(corpus_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for msg in sorted(corpus_path.glob("*.msg")):
        ct = msg.with_suffix(".content-type").read_text("latin-1")
        assert main(["inspect", str(msg), "--content-type", ct, "--json"]) == 0, msg.name
        out = json.loads(capsys.readouterr().out)
        assert set(out) == {"soap_version", "root", "parts", "xop_includes"}


def test_negative_corpus_messages_fail_cleanly(corpus_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    expected_ok = {"cxf_xfire-mtom-soap11-part-after-close-delimiter-LF",
                   "saaj_swa-note-unquoted-type-param",
                   "metro_weblogic-swa-soap11-utf8-bom-preamble"}
    for msg in sorted((corpus_path / "negative").glob("*.msg")):
        ct = msg.with_suffix(".content-type").read_text("latin-1")
        code = main(["inspect", str(msg), "--content-type", ct, "--json"])
        out = json.loads(capsys.readouterr().out)
        if msg.stem in expected_ok:
            assert code == 0, (msg.name, out)
        else:
            assert code == 2 and "error" in out, msg.name


def _with_duplicate(tmp_path: Path, href: str) -> tuple[Path, str]:
    env = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><d>'
           '<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
           f'href="{href}"/></d></s:Body></s:Envelope>').encode()
    pkg = mtom.OutgoingPackage(env, [
        mtom.OutgoingPart(b"1", content_id="one@x"), mtom.OutgoingPart(b"2", content_id="dup@x"),
        mtom.OutgoingPart(b"3", content_id="dup@x")], soap_version="1.2")
    path = tmp_path / "dup.msg"
    path.write_bytes(pkg.to_bytes())
    return path, pkg.content_type


def test_only_the_part_an_include_resolved_to_is_marked_xop(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 8: both parts sharing a Content-ID used to be marked as xop."""
    path, ct = _with_duplicate(tmp_path, "cid:one@x")
    assert main(["inspect", str(path), "--content-type", ct, "--json"]) == 0
    parts = json.loads(capsys.readouterr().out)["parts"]
    assert [(p["content_id"], p["xop"]) for p in parts] == [
        ("one@x", True), ("dup@x", False), ("dup@x", False)]
    assert main(["inspect", str(path), "--content-type", ct]) == 0
    assert "share the Content-ID <dup@x>" in capsys.readouterr().out


def test_include_of_a_shared_content_id_is_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _with_duplicate(tmp_path, "cid:dup@x")
    assert main(["inspect", str(path), "--content-type", ct]) == 2
    assert "AmbiguousReference" in capsys.readouterr().err


def test_inspect_stores_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 8: inspect spooled every large part to disk and read it back to hash it
    (5.8x the cost of reading and hashing the file). Parts are hashed while read."""
    import hashlib
    import tempfile

    data = bytes(range(256)) * (24 * 1024)  # 6 MiB: above the 4 MiB spool threshold
    env = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><d>'
           b'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:big@x"/>'
           b"</d></s:Body></s:Envelope>")
    pkg = mtom.OutgoingPackage(env, [mtom.OutgoingPart(data, content_id="big@x")])

    def no_spool(*args: object, **kwargs: object) -> None:
        raise AssertionError("inspect spooled a part")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_spool)
    result = mtom.cli.inspect_bytes(pkg.to_bytes(), pkg.content_type)
    assert result.parts[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert result.parts[0]["size"] == len(data) and result.parts[0]["xop"]


def test_extract_writes_every_part_under_generated_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    out_dir = tmp_path / "out"
    assert main(["inspect", str(path), "--content-type", ct, "--extract", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "part-000-root.xml", "part-001.png", "part-002.txt"]
    assert (out_dir / "part-001.png").read_bytes() == PAYLOAD
    assert (out_dir / "part-002.txt").read_bytes() == b"extra"
    assert f"saved as {out_dir / 'part-001.png'}" in capsys.readouterr().out
    assert main(["inspect", str(path), "--content-type", ct, "--json", "--extract",
                 str(out_dir)]) == 0
    parts = json.loads(capsys.readouterr().out)["parts"]
    assert [Path(p["file"]).name for p in parts] == ["part-001.png", "part-002.txt"]


def test_extract_never_uses_a_header_as_a_path(tmp_path: Path) -> None:
    env = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    pkg = mtom.OutgoingPackage(env, [mtom.OutgoingPart(
        b"x" * 5000, content_id="../../evil@x", content_type="application/x-evil/../..",
        headers=[("Content-Disposition", 'attachment; filename="../../../etc/passwd"')])])
    path = tmp_path / "m.msg"
    path.write_bytes(pkg.to_bytes())
    out_dir = tmp_path / "deep" / "out"
    assert main(["inspect", str(path), "--content-type", pkg.content_type,
                 "--extract", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["part-000-root.xml", "part-001.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "m.msg"]


def test_part_to_stdout(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path, ct = _message(tmp_path)
    assert main(["inspect", str(path), "--content-type", ct, "--part", "cid:one@x"]) == 0
    assert capsysbinary.readouterr().out == PAYLOAD
    assert main(["inspect", str(path), "--content-type", ct, "--part", "two@x"]) == 0
    assert capsysbinary.readouterr().out == b"extra"
    assert main(["inspect", str(path), "--content-type", ct, "--part", "nope@x"]) == 2
    assert b"no part has Content-ID <nope@x>" in capsysbinary.readouterr().err


def test_standard_input(tmp_path: Path) -> None:
    path, ct = _message(tmp_path)
    out = subprocess.run([sys.executable, "-m", "mtom", "inspect", "-", "--content-type", ct,
                          "--json"], input=path.read_bytes(), capture_output=True, timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout)["xop_includes"] == 1


def test_plain_soap_message_is_described(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import base64
    value = bytes(range(256)) * 20  # 5,120 bytes
    text = base64.encodebytes(value).decode()
    env = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><d>'
           f"<img>{text}</img><small>QUJDREVGR0hJSktMTU5PUA==</small><name>plain words</name>"
           "<n>12341234123412341234</n><flag>true</flag>"
           "</d></s:Body></s:Envelope>").encode()
    path = tmp_path / "plain.xml"
    path.write_bytes(env)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "plain SOAP (not multipart), SOAP 1.2" in out
    assert "/Envelope/Body/d/img (line 1): 5,120 bytes" in out
    assert f"/Envelope/Body/d/small (line {text.count(chr(10)) + 1}): 16 bytes" in out
    assert "name" not in out and "/n " not in out and "flag" not in out
    saved = len(text) - len(value) - 210
    assert f"MTOM would save ~{saved:,} bytes" in out
    assert main(["inspect", str(path), "--content-type", "application/soap+xml", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["soap_version"] == "1.2" and data["parts"] == []
    assert [v["size"] for v in data["inline_base64"]] == [5120, 16]


def test_mtom_message_shows_the_bytes_saved(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path, ct = _message(tmp_path)
    assert main(["inspect", str(path), "--content-type", ct]) == 0
    assert "MTOM saves ~" in capsys.readouterr().out


def test_closed_output_ends_quietly(tmp_path: Path) -> None:
    """``mtom inspect big.msg | head`` ended in a BrokenPipeError traceback."""
    env = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>'
    pkg = mtom.OutgoingPackage(env, [mtom.OutgoingPart(bytes([i % 256]) * 10, content_id=f"{i}@x")
                                     for i in range(900)])
    path = tmp_path / "many.msg"
    path.write_bytes(pkg.to_bytes())
    proc = subprocess.Popen([sys.executable, "-m", "mtom", "inspect", str(path),
                             "--content-type", pkg.content_type],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like head after its first line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err
