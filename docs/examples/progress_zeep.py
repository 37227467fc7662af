"""Progress bars and the wire report, Zeep: upload and download a file with tqdm bars.

Start the demo service (``python -m mtom_demo.service --port 8080``), then
``python progress_zeep.py http://127.0.0.1:8080/?wsdl``. Needs ``pip install tqdm``.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys
import tempfile
from typing import Any

import zeep
from tqdm import tqdm  # type: ignore[import-untyped]

import mtom
from zeep_mtom import MtomTransport


class TqdmProgress:
    """A ``progress=`` callback drawing one tqdm bar per transfer (request, then reply)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, event: mtom.Progress) -> None:
        if self.bar is None:  # a new transfer: its first event
            self.bar = tqdm(total=event.total, desc=event.direction, unit="B",
                            unit_scale=True, unit_divisor=1024)
        self.bar.update(event.done - self.bar.n)  # events carry totals so far
        if event.finished:
            self.bar.close()
            self.bar = None


def main(wsdl: str) -> None:
    # One INFO line per call on the "zeep_mtom" logger: MTOM or plain, parts, bytes, time.
    logging.basicConfig(format="%(name)s: %(message)s")
    logging.getLogger("zeep_mtom").setLevel(logging.INFO)

    transport = MtomTransport(mtom=True, progress=TqdmProgress())
    client = zeep.Client(wsdl, transport=transport)  # type: ignore[no-untyped-call]

    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp, "scan.bin")
        path.write_bytes(os.urandom(8 * 1024 * 1024))
        result = client.service.Upload(name=path.name, data=path)

        report = transport.last_report  # what the call looked like on the wire
        assert report is not None
        print(f"uploaded {result.size} bytes: {report.sent.wire_bytes} on the wire as "
              f"{'MTOM' if report.sent.mtom else 'plain SOAP'}, "
              f"{report.sent.saved} fewer than inline base64")

        data = client.service.Download(id=result.id)  # > 4 MiB: a file-backed Attachment
        with data:
            assert data.sha256() == result.sha256
            report = transport.last_report
            assert report is not None
            print(f"downloaded {data.size} bytes: {report.summary()}")
    transport.close()


if __name__ == "__main__":
    main(sys.argv[1])
