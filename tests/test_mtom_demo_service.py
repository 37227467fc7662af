"""The demo service: W3C MTOM interop scenarios 1a-3b, the failure cases, upload/download."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import (
    ENV_NS,
    VERSIONS,
    assert_client_fault,
    decode,
    free_port,
    pattern,
    post_mtom,
    post_plain,
    serve_wsgi,
    server_process,
    sha,
    xop,
)
from lxml import etree

import mtom
from mtom_demo.service import (
    NAMESPACE,
    SOAP_ENV,
    STORE_ENV,
    main,
    make_application,
    wsgi_app,
)

X = f'xmlns:x="{NAMESPACE}" xmlns:xmime="http://www.w3.org/2005/05/xmlmime"'
XMIME_CT = "{http://www.w3.org/2005/05/xmlmime}contentType"


def _env(version: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="{ENV_NS[version]}" '
            f'xmlns:xop="{mtom.XOP_NS}"><e:Body>{body}</e:Body></e:Envelope>').encode()


@pytest.fixture(scope="module", params=VERSIONS)
def demo(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    app = wsgi_app(request.param)
    try:
        with serve_wsgi(app) as url:
            yield url, request.param
    finally:
        shutil.rmtree(app.app.store_dir, ignore_errors=True)


def _data_values(reply: object) -> list[tuple[bytes, str | None]]:
    root = reply.body_child()  # type: ignore[attr-defined]
    assert root.tag == f"{{{NAMESPACE}}}EchoTest"  # the W3C reply root
    out = []
    for el in reply.find_all("Data"):  # type: ignore[attr-defined]
        out.append((reply.binary(el), el.get(XMIME_CT)))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("count", [1, 3])
def test_scenarios_1a_2a_xml_in_mtom_out(demo: tuple[str, str], count: int) -> None:
    url, version = demo
    values = [pattern(4000 + i, i) for i in range(count)]
    items = "".join(f"<x:Data>{base64.b64encode(v).decode()}</x:Data>" for v in values)
    reply = decode(post_plain(url, version, _env(version, f"<x:EchoTest {X}>{items}"
                                                 "</x:EchoTest>")))
    assert reply.package is not None and len(reply.values) == count
    assert _data_values(reply) == [(v, None) for v in values]


@pytest.mark.parametrize("count", [1, 3])
def test_scenarios_1b_2b_mtom_in(demo: tuple[str, str], count: int) -> None:
    url, version = demo
    values = [pattern(3000 * (i + 1), i) for i in range(count)]
    parts = [mtom.OutgoingPart(v) for v in values]
    items = "".join(f"<x:Data>{xop(p)}</x:Data>" for p in parts)
    reply = decode(post_mtom(url, version, _env(version, f"<x:EchoTest {X}>{items}"
                                                "</x:EchoTest>"), parts))
    assert _data_values(reply) == [(v, None) for v in values]


def test_scenario_3a_content_type_becomes_the_part_type(demo: tuple[str, str]) -> None:
    url, version = demo
    data = pattern(5000, 9)
    body = (f'<x:EchoTest {X}><x:Data xmime:contentType="image/png">'
            f"{base64.b64encode(data).decode()}</x:Data></x:EchoTest>")
    reply = decode(post_plain(url, version, _env(version, body)))
    (el,) = reply.find_all("Data")
    assert reply.values[el].content_type == "image/png"
    assert reply.values[el].read() == data
    assert el.get(XMIME_CT) == "image/png"


def test_scenario_3b_content_type_comes_back(demo: tuple[str, str]) -> None:
    url, version = demo
    data = pattern(5000, 4)
    part = mtom.OutgoingPart(data, content_type="image/jpeg")
    body = (f'<x:EchoTest {X}><x:Data xmime:contentType="image/jpeg">{xop(part)}</x:Data>'
            "</x:EchoTest>")
    reply = decode(post_mtom(url, version, _env(version, body), [part]))
    assert _data_values(reply) == [(data, "image/jpeg")]
    assert next(iter(reply.values.values())).content_type == "image/jpeg"


def test_small_values_come_back_inline(demo: tuple[str, str]) -> None:
    url, version = demo
    body = f'<x:EchoTest {X}><x:Data xmime:contentType="text/plain">aGk=</x:Data></x:EchoTest>'
    reply = decode(post_plain(url, version, _env(version, body)))
    assert reply.package is None
    assert _data_values(reply) == [(b"hi", "text/plain")]


def test_failure_dangling_include(demo: tuple[str, str]) -> None:
    url, version = demo
    part = mtom.OutgoingPart(b"x" * 2000)
    body = f"<x:EchoTest {X}><x:Data>{xop('not-there@x')}</x:Data></x:EchoTest>"
    assert_client_fault(post_mtom(url, version, _env(version, body), [part]), version,
                        "DanglingInclude")


def test_failure_reference_by_content_location(demo: tuple[str, str]) -> None:
    url, version = demo
    part = mtom.OutgoingPart(b"x" * 2000, headers=[("Content-Location", "data.bin")])
    body = f'<x:EchoTest {X}><x:Data><xop:Include href="cid:data.bin"/></x:Data></x:EchoTest>'
    assert_client_fault(post_mtom(url, version, _env(version, body), [part]), version,
                        "DanglingInclude")
    body = f'<x:EchoTest {X}><x:Data><xop:Include href="data.bin"/></x:Data></x:EchoTest>'
    assert_client_fault(post_mtom(url, version, _env(version, body), [part]), version,
                        "InvalidInclude")


def test_echo_needs_one_data(demo: tuple[str, str]) -> None:
    url, version = demo
    assert_client_fault(post_plain(url, version, _env(version, f"<x:EchoTest {X}/>")), version)


def test_upload_then_download(demo: tuple[str, str]) -> None:
    url, version = demo
    data = pattern(3 * 1024 * 1024, 5)
    part = mtom.OutgoingPart(data, headers=[("Content-Disposition",
                                             'attachment; filename="../evil"')])
    body = f"<x:Upload {X}><x:name>a.bin</x:name><x:data>{xop(part)}</x:data></x:Upload>"
    reply = decode(post_mtom(url, version, _env(version, body), [part]))
    assert reply.text("sha256") == sha(data) and reply.text("size") == str(len(data))
    file_id = reply.text("id")
    assert file_id and all(c in "0123456789abcdef" for c in file_id)
    resp = post_plain(url, version, _env(version, f"<x:Download {X}><x:id>{file_id}</x:id>"
                                         "</x:Download>"))
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    reply = decode(resp)
    (att,) = reply.values.values()
    assert att.sha256() == sha(data)


@pytest.mark.parametrize("bad", ["../etc/passwd", "0" * 32, "ZZ"])
def test_download_unknown_id(demo: tuple[str, str], bad: str) -> None:
    url, version = demo
    resp = post_plain(url, version, _env(version, f"<x:Download {X}><x:id>{bad}</x:id>"
                                         "</x:Download>"))
    assert_client_fault(resp, version, "NotFound")


def test_make_application_options(tmp_path: object) -> None:
    app = make_application("1.2", store_dir=str(tmp_path), threshold=10, validator=None)
    assert app.store_dir == str(tmp_path)
    assert app.out_protocol.threshold == 10 and app.in_protocol.soap_version == "1.2"
    with pytest.raises(KeyError):
        make_application("1.3")


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--port" in capsys.readouterr().out


def test_wsdl_describes_the_w3c_shape(demo: tuple[str, str]) -> None:
    import requests
    from _support import CLOSE

    url, _ = demo
    root = etree.fromstring(requests.get(url + "/?wsdl", timeout=30, headers=CLOSE).content)
    names = {el.get("name") for el in root.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {"EchoTest", "Upload", "Download"} <= names


# -- deployment: one upload store for every process -------------------------------------

PAYLOAD = pattern(300_000, 7)


def _zeep_client(url: str) -> Any:
    import zeep

    from zeep_mtom import MtomTransport

    return zeep.Client(url + "/?wsdl", transport=MtomTransport(mtom=True))


def test_store_dir_from_the_environment_is_shared(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Two applications (two processes' worth) with one store: upload on A, download on B."""
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    first, second = wsgi_app("1.1"), wsgi_app("1.1")
    assert first.app.store_dir == second.app.store_dir == str(tmp_path / "store")
    with serve_wsgi(first) as url_a, serve_wsgi(second) as url_b:
        result = _zeep_client(url_a).service.Upload(name="x.bin", data=PAYLOAD)
        assert _zeep_client(url_b).service.Download(id=result.id) == PAYLOAD
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [result.id]  # no .part


def test_store_option_wins_over_the_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "env"))
    app = make_application("1.2", store_dir=str(tmp_path / "opt"))
    assert app.store_dir == str(tmp_path / "opt") and (tmp_path / "opt").is_dir()


@pytest.mark.slow
def test_gunicorn_two_workers_share_the_store(tmp_path: Path) -> None:
    """gunicorn, 2 sync workers: an Upload handled by one worker is downloaded from the other.

    Sync workers close every connection, so each call is a new connection that either
    worker may accept. Each call carries an ``X-Call`` header and the access log records
    it with the worker's pid. Calls go on (at most 25 Upload/Download pairs, 90 s) until
    some Upload and its Download were served by different workers.
    """
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, STORE_ENV: str(tmp_path / "store"), SOAP_ENV: "1.2"}
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
           "--timeout", "300", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log),
           "--access-logformat", "%({x-call}i)s %(p)s %(s)s",
           "mtom_demo.service:application()"]

    def served_by() -> dict[str, tuple[str, str]]:
        """X-Call -> (worker pid, HTTP status), for the calls logged so far."""
        entries = [line.split() for line in log.read_text().splitlines()]
        return {e[0]: (e[1], e[2]) for e in entries if len(e) == 3 and e[0] != "-"}

    pairs = 0
    crossed: list[int] = []
    with server_process(cmd, port, env=env) as url:
        client = _zeep_client(url)
        headers = client.transport.session.headers
        deadline = time.monotonic() + 90
        while not crossed and pairs < 25 and time.monotonic() < deadline:
            headers["X-Call"] = f"up{pairs}"
            result = client.service.Upload(name="x.bin", data=PAYLOAD)
            headers["X-Call"] = f"down{pairs}"
            assert client.service.Download(id=result.id) == PAYLOAD
            pairs += 1
            time.sleep(0.05)  # a worker writes its log line just after its response
            logged = served_by()
            crossed = [i for i in range(pairs) if f"up{i}" in logged and f"down{i}" in logged
                       and logged[f"up{i}"][0] != logged[f"down{i}"][0]]
    logged = served_by()
    assert all(status == "200" for _, status in logged.values()), logged
    assert len({pid for pid, _ in logged.values()}) == 2, f"one worker served every call: {logged}"
    assert crossed, logged


@pytest.mark.slow
def test_waitress_serve_with_the_factory(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, STORE_ENV: str(tmp_path / "store"), SOAP_ENV: "1.2"}
    cmd = [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4",
           f"--max-request-body-size={1 << 30}", "--call",
           "mtom_demo.service:application"]
    with server_process(cmd, port, env=env) as url:
        client = _zeep_client(url)
        assert [type(b).__name__ for b in client.wsdl.bindings.values()] == ["Soap12Binding"]
        result = client.service.Upload(name="x.bin", data=PAYLOAD)
        assert client.service.Download(id=result.id) == PAYLOAD
    assert (tmp_path / "store" / result.id).read_bytes() == PAYLOAD
