"""Quick start, Zeep: upload a file and download it again over MTOM.

Start the demo service (``python -m mtom_demo.service --port 8080``), then
``python quickstart_zeep.py http://127.0.0.1:8080/?wsdl``.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys
import tempfile

import zeep

from zeep_mtom import MtomTransport


def main(wsdl: str) -> None:
    # MTOM where the WSDL's policy asks for it; mtom=True sends it to any service.
    client = zeep.Client(wsdl, transport=MtomTransport(mtom=True))  # type: ignore[no-untyped-call]

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp, "scan.bin")
        path.write_bytes(os.urandom(3 * 1024 * 1024))

        # A Path is streamed from disk as a MIME part: never loaded into memory.
        result = client.service.Upload(name=path.name, data=path)
        print(f"uploaded {result.size} bytes as {result.id}")

        # The reply's part comes back as bytes, byte-exact.
        data = client.service.Download(id=result.id)
        assert hashlib.sha256(data).hexdigest() == result.sha256
        assert data == path.read_bytes()
        print(f"downloaded {len(data)} bytes, sha256 {result.sha256[:16]}...")


if __name__ == "__main__":
    main(sys.argv[1])
