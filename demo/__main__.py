"""Demo of the core codec: write an MTOM message, then inspect it as a peer would.

Builds a SOAP 1.2 envelope carrying a generated binary file, optimises it
into an XOP package with the ``mtom`` core, saves the body, decodes it back
byte-exact, and prints what ``mtom inspect`` shows plus the bytes saved
against inline base64.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

import mtom
from mtom.cli import main as mtom_cli

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
        el = decoded.root_element()
        refs = mtom.reconstitute(el, decoded).references
        same = refs[0].attachment.sha256() == digest
    took = time.perf_counter() - t0

    print(f"soap-mtom demo (core codec): a {size:,}-byte file in a SOAP 1.2 message\n")
    print(f"  inline base64 message : {len(inline):>12,} bytes")
    print(f"  MTOM/XOP message      : {len(body):>12,} bytes "
          f"({100 * (1 - len(body) / len(inline)):.1f}% smaller)")
    print(f"  encode + decode took  : {took * 1000:.1f} ms; sha256 match: {same}\n")
    print(f"  Content-Type: {package.content_type}\n")
    with tempfile.TemporaryDirectory(prefix="mtom-demo-") as tmp:
        saved = Path(tmp) / "message.msg"
        saved.write_bytes(body)
        print("What `mtom inspect` says about it:\n")
        sys.stdout.flush()
        mtom_cli(["inspect", str(saved), "--content-type", package.content_type])
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    ap.add_argument("--size", type=int, default=3 * 1024 * 1024, help="payload bytes")
    args = ap.parse_args(argv)
    return core_demo(args.size)


if __name__ == "__main__":
    sys.exit(main())
