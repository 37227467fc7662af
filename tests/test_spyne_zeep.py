"""Zeep client with ``zeep_mtom.MtomTransport`` → Spyne MTOM service, over real HTTP.

The transport turns MTOM on by itself from the WSDL's policy assertion; the
service reports whether each value arrived as a MIME part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import VERSIONS, make_wsgi, pattern, serve_wsgi, sha

import mtom

zeep = pytest.importorskip("zeep")
zeep_mtom = pytest.importorskip("zeep_mtom")


@pytest.fixture(scope="module", params=VERSIONS)
def client(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    wsgi = make_wsgi(request.param, in_options={"spool_threshold": 256 * 1024})
    with serve_wsgi(wsgi) as url:
        transport = zeep_mtom.MtomTransport()
        yield zeep.Client(url + "/?wsdl", transport=transport), transport
        transport.session.close()  # serve_wsgi waits for open keep-alive connections


def test_upload_file_from_path_arrives_as_a_part(client: tuple[Any, Any],
                                                 tmp_path: Path) -> None:
    zc, _ = client
    data = pattern(3 * 1024 * 1024 + 5, 1)
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    info = zc.service.upload(f=path)
    assert info.sha256 == sha(data) and info.size == len(data)
    assert info.spooled is True  # an attachment, spooled to disk on the server
    assert info.has_path is False


@pytest.mark.parametrize("size", [10, mtom.DEFAULT_THRESHOLD, 200_000])
def test_echo_bytes(client: tuple[Any, Any], size: int) -> None:
    zc, transport = client
    data = pattern(size, size)
    assert zc.service.echo(data=data) == data
    assert transport.last_reply.is_xop == (size >= mtom.DEFAULT_THRESHOLD)  # the service's


def test_download_file(client: tuple[Any, Any]) -> None:
    zc, transport = client
    got = zc.service.download(size=2_000_001, seed=3, content_type="application/pdf")
    assert bytes(got) == pattern(2_000_001, 3)
    assert transport.last_reply.is_xop and len(transport.last_reply.references) == 1


def test_many_values(client: tuple[Any, Any]) -> None:
    zc, _ = client
    values = [pattern(n * 997, n) for n in range(1, 40)]
    got = zc.service.digest_many(item=values)
    assert got == [f"{len(v)}:{sha(v)}" for v in values]


def test_w3c_echo_with_the_demo_service() -> None:
    from mtom_demo.service import wsgi_app

    for version in VERSIONS:
        with serve_wsgi(wsgi_app(version)) as url:
            transport = zeep_mtom.MtomTransport()
            zc = zeep.Client(url + "/?wsdl", transport=transport)
            data = pattern(40_000, 2)
            out = zc.service.EchoTest(Data=[{"_value_1": data, "contentType": "image/png"},
                                            {"_value_1": b"tiny"}])
            # Zeep unwraps the reply's one child (the list of Data).
            assert [(bytes(d._value_1), d.contentType) for d in out] == [
                (data, "image/png"), (b"tiny", None)]
            transport.session.close()
