"""The soap-mtom demo: a Zeep client and a Spyne service exchanging a file over MTOM.

Starts the example Spyne service (``mtom_demo.service``, SOAP 1.2, MTOM
protocols) under waitress on 127.0.0.1, uploads a generated file with a Zeep
client using ``zeep_mtom.MtomTransport``, downloads it again, checks SHA-256
both ways, repeats the upload with plain inline base64 for comparison, and
prints what crossed the wire — then stops the service and exits 0.

``--core-only`` shows the codec alone (no HTTP): write, decode, inspect.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

import mtom
from mtom.cli import main as mtom_cli

MiB = 1024 * 1024


# -- a WSGI tap: counts what crosses the wire and keeps the last request ------

@dataclass
class Exchange:
    request_bytes: int = 0
    response_bytes: int = 0
    request_type: str = ""
    response_type: str = ""
    request_body: bytearray = field(default_factory=bytearray)


class WireTap:
    """WSGI middleware recording sizes and Content-Types of each exchange."""

    def __init__(self, app: Callable[..., Iterable[bytes]], keep_body: int = 64 * MiB):
        self.app = app
        self.keep_body = keep_body
        self.exchanges: list[Exchange] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterator[bytes]:
        ex = Exchange(request_type=environ.get("CONTENT_TYPE", ""))
        self.exchanges.append(ex)
        environ["wsgi.input"] = _TeeInput(environ["wsgi.input"], ex, self.keep_body)

        def recording_start(status: str, headers: list[tuple[str, str]], *a: Any) -> Any:
            ex.response_type = dict((k.lower(), v) for k, v in headers).get("content-type", "")
            return start_response(status, headers, *a)

        for chunk in self.app(environ, recording_start):
            ex.response_bytes += len(chunk)
            yield chunk


class _TeeInput:
    def __init__(self, raw: Any, ex: Exchange, keep: int):
        self.raw, self.ex, self.keep = raw, ex, keep

    def read(self, *args: Any) -> bytes:
        data: bytes = self.raw.read(*args)
        self.ex.request_bytes += len(data)
        if len(self.ex.request_body) < self.keep:
            self.ex.request_body += data
        return data

    def readline(self, *args: Any) -> bytes:
        data: bytes = self.raw.readline(*args)
        self.ex.request_bytes += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.read, b"")


@contextlib.contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    from waitress.server import create_server

    # recv_bytes: waitress reads 8 KiB per recv() by default; 256 KiB takes a 64 MiB
    # MTOM echo from 2.7x to 2.0-2.1x the raw socket floor (docs/performance.md).
    server = create_server(app, host="127.0.0.1", port=0, threads=2, recv_bytes=256 * 1024,
                           max_request_body_size=1024 * MiB, ident="soap-mtom-demo")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/"  # type: ignore[union-attr]
    finally:
        # Join the worker threads before closing: a worker finishing a keep-alive
        # task pulls the trigger, which close() would already have closed.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)  # type: ignore[union-attr]
        server.close()
        thread.join(timeout=5)


# -- the demo ------------------------------------------------------------------

def full_demo(size: int) -> int:
    import zeep
    from zeep.transports import Transport

    from mtom_demo.service import wsgi_app
    from zeep_mtom import MtomTransport

    workdir = Path(tempfile.mkdtemp(prefix="soap-mtom-demo-"))
    service = wsgi_app("1.2", threshold=1024)
    tap = WireTap(service)
    try:
        source = workdir / "report.bin"
        with source.open("wb") as f:
            f.write(b"\r\n")  # CR/LF at the edges: what Zeep's own MTOM code loses
            f.write(os.urandom(size - 4))
            f.write(b"\r\n")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        print(f"soap-mtom demo: Zeep client <-> Spyne service, SOAP 1.2, a {size:,}-byte file\n")
        with serving(tap) as url:
            print(f"  Spyne MTOM service on {url} (WSDL: {url}?wsdl)")
            client = zeep.Client(url + "?wsdl", transport=MtomTransport(mtom=True))

            t0 = time.perf_counter()
            uploaded = client.service.Upload(name="report.bin", data=source)
            t_up = time.perf_counter() - t0
            up = tap.exchanges[-1]

            t0 = time.perf_counter()
            data = client.service.Download(id=uploaded.id)
            t_down = time.perf_counter() - t0
            down = tap.exchanges[-1]

            plain_client = zeep.Client(url + "?wsdl", transport=Transport())
            t0 = time.perf_counter()
            plain_result = plain_client.service.Upload(name="report.bin",
                                                       data=source.read_bytes())
            t_plain = time.perf_counter() - t0
            plain = tap.exchanges[-1]

        ok_up = uploaded.sha256 == digest and uploaded.size == size
        ok_down = hashlib.sha256(data).hexdigest() == digest
        ok_plain = plain_result.sha256 == digest
        print(f"  upload   (MTOM)         {up.request_bytes:>12,} bytes on the wire  "
              f"{t_up * 1000:8.1f} ms  sha256 {'OK' if ok_up else 'MISMATCH'}")
        print(f"  download (MTOM)         {down.response_bytes:>12,} bytes on the wire  "
              f"{t_down * 1000:8.1f} ms  sha256 {'OK' if ok_down else 'MISMATCH'}")
        print(f"  upload   (inline base64){plain.request_bytes:>12,} bytes on the wire  "
              f"{t_plain * 1000:8.1f} ms  sha256 {'OK' if ok_plain else 'MISMATCH'}")
        saved = 100 * (1 - up.request_bytes / plain.request_bytes)
        print(f"\n  MTOM sent {saved:.1f}% fewer bytes than inline base64.")
        print(f"\n  upload request Content-Type:\n    {up.request_type}")
        print(f"  download response Content-Type:\n    {down.response_type}\n")
        capture = workdir / "upload-request.msg"
        capture.write_bytes(bytes(up.request_body))
        print("The upload request as `mtom inspect` shows it:\n")
        sys.stdout.flush()
        code = mtom_cli(["inspect", str(capture), "--content-type", up.request_type])
        print("\nService stopped.")
        return 0 if ok_up and ok_down and ok_plain and code == 0 else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(service.app.store_dir, ignore_errors=True)


ENVELOPE = (
    '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:xmime="http://www.w3.org/2005/05/xmlmime"><env:Body>'
    '<m:EchoTest xmlns:m="http://example.org/mtom/data">'
    '<m:Data xmime:contentType="application/pdf">{data}</m:Data>'
    "</m:EchoTest></env:Body></env:Envelope>"
)


def core_demo(size: int) -> int:
    payload = os.urandom(size)
    digest = hashlib.sha256(payload).hexdigest()
    inline = ENVELOPE.format(data=base64.b64encode(payload).decode()).encode()

    t0 = time.perf_counter()
    root = etree.fromstring(inline)
    parts = mtom.optimize(root, threshold=1024)
    package = mtom.OutgoingPackage(etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                                   parts, soap_version="1.2", action="urn:example:echo")
    body = package.to_bytes()
    with mtom.read_package(body, package.content_type) as decoded:
        refs = mtom.reconstitute(decoded.root_element(), decoded).references
        same = refs[0].attachment.sha256() == digest
    took = time.perf_counter() - t0

    print(f"soap-mtom demo (core codec): a {size:,}-byte file in a SOAP 1.2 message\n")
    print(f"  inline base64 message : {len(inline):>12,} bytes")
    print(f"  MTOM/XOP message      : {len(body):>12,} bytes "
          f"({100 * (1 - len(body) / len(inline)):.1f}% smaller)")
    print(f"  encode + decode took  : {took * 1000:.1f} ms; sha256 match: {same}\n")
    with tempfile.TemporaryDirectory(prefix="mtom-demo-") as tmp:
        saved = Path(tmp) / "message.msg"
        saved.write_bytes(body)
        print("What `mtom inspect` says about it:\n")
        sys.stdout.flush()
        mtom_cli(["inspect", str(saved), "--content-type", package.content_type])
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    ap.add_argument("--size", type=int, default=4 * MiB, help="file size in bytes")
    ap.add_argument("--core-only", action="store_true", help="the codec alone, no HTTP")
    args = ap.parse_args(argv)
    if args.core_only:
        return core_demo(args.size)
    return full_demo(args.size)


if __name__ == "__main__":
    sys.exit(main())
