"""``python -m interop.record_known``: record the node-soap and Axis messages behind the known
issues of issue #11 into ``interop/captures/known/``, so the items can be worked on (and their
strict xfails in ``interop/test_captures_known.py`` flip) on a machine without Node.js or Java.

=====================================  ======  ============================================
capture                                item    what it is
=====================================  ======  ============================================
``nodesoap-reply-soap1x-mtom-fault``   4       node-soap's plain Fault to an MTOM request,
                                               labelled ``multipart/related``
``axis-request-soap11-swa-xsitype``    2       Axis SwA as Axis sends it (``href`` +
                                               ``xsi:type="ns1:DataHandler"``)
``axis-request-soap11-dime``           3       an Axis DIME request
``axis-reply-soap11-dime``             3       an Axis DIME reply (to a plain request)
=====================================  ======  ============================================

Each ``.http`` file is the exact bytes; the ``.json`` sidecar says which peer, which item, and
the values (size, sha256, xmime:contentType) that were sent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from interop import extra_peers, peerctl, scenarios
from interop.capture import CAPTURES_DIR, HttpMessage, RecordingProxy
from interop.cases import ValueSpec
from interop.clients import build_request

KNOWN_DIR = CAPTURES_DIR / "known"
VALUES = (ValueSpec(600, "image/png", 81), ValueSpec(300, None, 82))


def _record(base_url: str, send: Callable[[str], None], role: str) -> HttpMessage:
    """Run ``send(proxy_base_url)`` through a recording proxy; the peer's message."""
    with RecordingProxy.for_url(base_url) as proxy:
        send(proxy.url("/").rstrip("/"))
    posts = proxy.posts()
    if len(posts) != 1 or posts[0].response is None:
        raise RuntimeError(f"expected one recorded POST with a response, got {len(posts)}")
    message = posts[0].request if role == "client" else posts[0].response
    if not message.complete:
        raise RuntimeError("the message was not recorded whole")
    return message


def _write(out_dir: Path, stem: str, message: HttpMessage, meta: dict[str, Any]) -> Path:
    (out_dir / f"{stem}.http").write_bytes(message.raw)
    meta = {**meta, "content_type": message.content_type, "http_status": message.status,
            "values": [v.as_json() for v in VALUES]}
    path = out_dir / f"{stem}.json"
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def record(out_dir: Path = KNOWN_DIR) -> list[Path]:
    for name in extra_peers.EXTRA_PEER_NAMES:
        reason = extra_peers.peer_available(name)
        if reason is not None:
            raise peerctl.PeerError(f"cannot record {name}: {reason}")
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = scenarios.peer_versions()
    written: list[Path] = []
    scenario = scenarios.SCENARIOS["1b"]  # an MTOM request

    with extra_peers.serving("nodesoap") as node:
        for version in scenarios.VERSIONS:
            def mtom_post(base: str, version: scenarios.SoapVersion = version) -> None:
                with tempfile.TemporaryDirectory() as work:
                    headers, body = build_request(version, scenario, VALUES, Path(work))
                    data = body if isinstance(body, bytes) else body.stream()
                    requests.post(f"{base}/echo{version.replace('.', '')}", data=data,
                                  headers=headers, timeout=60).close()

            message = _record(node.base_url, mtom_post, "server")
            written.append(_write(out_dir, f"nodesoap-reply-soap{version.replace('.', '')}"
                                  "-mtom-fault", message, {
                                      "peer": "nodesoap", "peer_version": versions.get("nodesoap"),
                                      "direction": "response", "soap_version": version,
                                      "item": 4, "what": "node-soap's plain SOAP Fault to an "
                                      "MTOM request, labelled with the request's Content-Type"}))

    with tempfile.TemporaryDirectory() as work, scenarios.Endpoints() as endpoints:
        files: list[peerctl.ClientFile] = [
            (v.write(Path(work) / f"v{v.seed}.bin"), v.content_type) for v in VALUES]
        spyne = endpoints.get("spyne", False)
        axis_requests: tuple[tuple[str, extra_peers.AxisFormat, int, str], ...] = (
            ("axis-request-soap11-swa-xsitype", "swa", 2,
             "Axis SwA as Axis sends it: href plus xsi:type=\"ns1:DataHandler\""),
            ("axis-request-soap11-dime", "dime", 3, "an Axis 1.4 DIME request"))
        for stem, fmt, item, what in axis_requests:
            def axis_post(base: str, fmt: extra_peers.AxisFormat = fmt) -> None:
                extra_peers.run_client("axis", f"{base}/echo11", "1.1", files,
                                       axis_format=fmt, check=False)

            message = _record(spyne.base_url, axis_post, "client")
            written.append(_write(out_dir, stem, message, {
                "peer": "axis", "peer_version": versions.get("axis"), "direction": "request",
                "soap_version": "1.1", "item": item, "what": what}))

        with extra_peers.serving("axis", reply="dime") as axis:
            plain = scenarios.SCENARIOS["plain"]

            def plain_post(base: str) -> None:
                headers, body = build_request("1.1", plain, VALUES, Path(work))
                assert isinstance(body, bytes)
                requests.post(f"{base}/echo11", data=body, headers=headers, timeout=60).close()

            message = _record(axis.base_url, plain_post, "server")
            written.append(_write(out_dir, "axis-reply-soap11-dime", message, {
                "peer": "axis", "peer_version": versions.get("axis"), "direction": "response",
                "soap_version": "1.1", "item": 3,
                "what": "an Axis 1.4 DIME reply to a plain request"}))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.record_known",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=KNOWN_DIR)
    args = parser.parse_args(argv)
    for path in record(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
