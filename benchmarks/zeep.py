"""Zeep adapter benchmarks: MTOM upload and download through ``zeep_mtom`` vs plain HTTP.

Strategy: one server process (waitress on 127.0.0.1) answers three
endpoints — ``/upload`` swallows the request body, ``/download`` answers
with an MTOM reply whose one part is generated on the fly (so the server
holds no payload), ``/inline`` answers the same value as inline base64.
Every client case runs in a fresh Python process (``python -m
benchmarks.zeep --case …``) that reports its wall time and the peak RSS
growth over its RSS just before the measured call — the interpreter, Zeep
and the WSDL are not counted, the payload and everything the call
allocates are. Times are the best of two rounds of three runs each, the cases of a
round interleaved (one run at 1 GiB). The server runs on the first CPU and the
clients on the others when there are at least two.

Targets (issue 3): upload <= 2x a plain ``requests`` POST of the same bytes (and a
1 GiB file uploads with bounded memory);
download <= 2x reading the same reply with ``requests`` streaming, peak RSS
growth <= payload + 32 MiB (memory mode); ``stream_attachments`` at 1 GiB:
peak RSS growth <= 64 MiB. Zeep's built-in MTOM reply handling and inline
base64 are measured on the same payload for comparison.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import common
from .common import MiB, Result, child, current_rss_mib, peak_rss_mib, pin


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mib() -> float:
    """VmHWM when /proc has it (honours :func:`_reset_peak`), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()

NS = "urn:soap-mtom:test:echo"
WSDL = Path(__file__).resolve().parent.parent / "tests" / "data" / "zeep" / "echo.wsdl"
BINDING = f"{{{NS}}}Echo11Binding"
_BLOCK = random.Random(20261121).randbytes(MiB)
# Zeep's built-in reader strips CR/LF at a part's edges: keep them out of the
# payload so its figures are for a correct result.
_BLOCK = b"P" + _BLOCK[1:-1] + b"Q"


def payload_chunks(size: int) -> Iterator[bytes]:
    """The deterministic payload of ``size`` bytes, 1 MiB at a time."""
    return common.payload_chunks(size, _BLOCK)


def payload_sha256(size: int) -> str:
    return common.payload_sha256(size, _BLOCK)


# -- the server ----------------------------------------------------------------------------

_HEAD = (b'<?xml version="1.0" encoding="utf-8"?><env:Envelope '
         b'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>'
         b'<e:EchoResponse xmlns:e="' + NS.encode() + b'"><e:name>ok</e:name><e:data>')
_TAIL = b"</e:data></e:EchoResponse></env:Body></env:Envelope>"


def _size_of(environ: dict[str, Any]) -> int:
    for item in environ.get("QUERY_STRING", "").split("&"):
        key, _, value = item.partition("=")
        if key == "size":
            return int(value)
    return MiB


def _drain(environ: dict[str, Any]) -> int:
    n, stream = 0, environ["wsgi.input"]
    while chunk := stream.read(MiB):
        n += len(chunk)
    return n


def _inline_chunks(size: int) -> Iterator[bytes]:
    yield _HEAD
    rest = b""
    for chunk in payload_chunks(size):
        data = rest + chunk
        cut = len(data) - len(data) % 3
        yield base64.b64encode(data[:cut])
        rest = data[cut:]
    yield base64.b64encode(rest) + _TAIL


def server_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    import mtom

    path = environ.get("PATH_INFO", "")
    _drain(environ)
    size = _size_of(environ)
    if path == "/download":
        root = _HEAD + b'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" ' \
            b'href="cid:payload@bench"/>' + _TAIL
        part = mtom.OutgoingPart(payload_chunks(size), content_id="payload@bench", size=size)
        package = mtom.OutgoingPackage(root, [part])
        start_response("200 OK", list(package.headers.items()))
        return package.iter_bytes()
    if path == "/inline":
        length = len(_HEAD) + (size + 2) // 3 * 4 + len(_TAIL)
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                                  ("Content-Length", str(length))])
        return _inline_chunks(size)
    body = _HEAD.replace(b"<e:data>", b"") + _TAIL.replace(b"</e:data>", b"")
    start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """Run :func:`server_app` in a child process; yield its base URL."""
    with child("benchmarks.zeep", "--serve") as (url, _):
        yield url




def _serve_forever() -> None:
    from waitress.server import create_server

    pin(server=True)
    server = create_server(server_app, host="127.0.0.1", port=0, threads=4,
                           max_request_body_size=8 * 1024**3, ident="bench")
    print(f"http://127.0.0.1:{server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()


# -- client cases (each in its own process) ------------------------------------------------

_REQUEST = (b'<?xml version="1.0" encoding="utf-8"?><env:Envelope '
            b'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><e:Echo xmlns:e="'
            + NS.encode() + b'"><e:name>x</e:name></e:Echo></env:Body></env:Envelope>')


def _client(transport: Any, settings: Any = None) -> Any:
    import zeep

    client = zeep.Client(str(WSDL), transport=transport, settings=settings)
    return client


def _plain_transport() -> Any:
    """Zeep's own Transport; the xmlmime schema the WSDL imports comes from its cache
    (plain Zeep would fetch it from www.w3.org, which fails offline)."""
    import zeep
    from zeep.cache import InMemoryCache

    from zeep_mtom import schema_for

    cache = InMemoryCache()
    url = "http://www.w3.org/2005/05/xmlmime"
    cache.add(url, schema_for(url))
    return zeep.Transport(cache=cache)


def _run_case(case: str, url: str, size: int, repeat: int) -> dict[str, Any]:
    import requests
    import zeep

    from zeep_mtom import MtomTransport

    state: dict[str, Any] = {}
    call: Callable[[], object]
    if case == "requests-upload":
        data = b"".join(payload_chunks(size))
        session = requests.Session()

        def call() -> object:
            return session.post(f"{url}/upload", data=data,
                                headers={"Content-Type": "application/octet-stream"}).content
    elif case in ("mtom-upload", "mtom-upload-file", "zeep-inline-upload"):
        transport = (_plain_transport() if case == "zeep-inline-upload"
                     else MtomTransport(mtom=True))
        svc = _client(transport).create_service(BINDING, f"{url}/upload")
        if case == "mtom-upload-file":
            fd, name = tempfile.mkstemp(prefix="bench-")
            with os.fdopen(fd, "wb") as tmp:
                for c in payload_chunks(size):
                    tmp.write(c)
            value: Any = Path(name)
            state["cleanup"] = name
        else:
            value = b"".join(payload_chunks(size))

        def call() -> object:
            return svc.Echo(name="x", data=[value])
    elif case == "requests-download":
        session = requests.Session()

        def call() -> object:
            n = 0
            with session.post(f"{url}/download?size={size}", data=_REQUEST, stream=True,
                              headers={"Content-Type": "text/xml; charset=utf-8"}) as r:
                for chunk in r.iter_content(MiB):
                    n += len(chunk)
            return n
    elif case in ("mtom-download", "mtom-download-stream", "zeep-builtin-download",
                  "zeep-inline-download"):
        settings = zeep.Settings(xml_huge_tree=True)
        if case.startswith("zeep-"):
            transport = _plain_transport()
        else:
            transport = MtomTransport(stream_attachments=case.endswith("stream"))
        endpoint = "inline" if case == "zeep-inline-download" else "download"
        svc = _client(transport, settings).create_service(BINDING,
                                                          f"{url}/{endpoint}?size={size}")

        def call() -> object:
            result = svc.Echo(name="x")
            value = result.data[0] if not hasattr(result, "root") else result.root.data[0]
            if isinstance(value, bytes):
                state["sha"] = hashlib.sha256(value).hexdigest()
                state["size"] = len(value)
            else:  # a file-backed mtom.Attachment
                state["sha"] = value.sha256()
                state["size"] = value.size
                value.close()
            return None
    else:
        raise SystemExit(f"unknown case {case!r}")

    _reset_peak()  # imports and WSDL loading are not part of the measurement
    before = current_rss_mib()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    if "cleanup" in state:
        os.unlink(state.pop("cleanup"))
    return {"seconds": best, "peak_rss_mib": _peak_mib(), "before_mib": before,
            "sha": state.get("sha"), "size": state.get("size")}


def _measure(case: str, url: str, size: int, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.zeep", "--case", case, "--url", url,
         "--size", str(size), "--repeat", str(repeat)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _row(case: str, size: int, m: dict[str, Any], *, target: str = "",
         ok: bool | None = None, note: str = "") -> Result:
    if "error" in m:
        return Result("zeep", case, float("nan"), size, None, f"error: {m['error']}", target,
                      False if target else None)
    growth = m["peak_rss_mib"] - m["before_mib"]
    extra = {"rss_growth_mib": round(growth, 1), "rss_before_mib": round(m["before_mib"], 1)}
    notes = [f"RSS growth {growth:.0f} MiB"]
    if m.get("sha") is not None:
        correct = m["sha"] == payload_sha256(size) and m["size"] == size
        notes.append("value byte-exact" if correct else f"value WRONG ({m['size']} bytes)")
    if note:
        notes.append(note)
    return Result("zeep", case, m["seconds"], size, m["peak_rss_mib"], "; ".join(notes),
                  target, ok, extra)


def run(args: argparse.Namespace) -> list[Result]:
    size = 4 * MiB if args.quick else 64 * MiB
    big = None if args.quick else 1024 * MiB
    rows: list[Result] = []
    with serve() as url:
        m: dict[str, dict[str, Any]] = {}
        # Two rounds, interleaved, best of each: a baseline and the case compared with it
        # see the same machine load (the box may be shared).
        for _ in range(2):
            for case in ("requests-upload", "mtom-upload", "mtom-upload-file",
                         "zeep-inline-upload", "requests-download", "mtom-download",
                         "mtom-download-stream", "zeep-builtin-download",
                         "zeep-inline-download"):
                got = _measure(case, url, size, 3)
                if case not in m or "error" in m[case] or (
                        "error" not in got and got["seconds"] < m[case]["seconds"]):
                    m[case] = got
        if big:
            m["mtom-upload-file-1g"] = _measure("mtom-upload-file", url, big, 1)
            m["mtom-download-stream-1g"] = _measure("mtom-download-stream", url, big, 1)

        def ratio(a: str, b: str) -> float | None:
            if "error" in m[a] or "error" in m[b]:
                return None
            return float(m[a]["seconds"] / m[b]["seconds"])

        def growth(case: str) -> float:
            return float(m[case]["peak_rss_mib"] - m[case]["before_mib"])

        mib = size // MiB
        rows.append(_row("upload: requests POST of the bytes (baseline)", size,
                         m["requests-upload"]))
        for case, label in (("mtom-upload", "upload: MtomTransport, bytes value"),
                            ("mtom-upload-file", "upload: MtomTransport, Path value")):
            r = ratio(case, "requests-upload")
            rows.append(_row(label, size, m[case], target="<= 2x requests POST",
                             ok=r is not None and r <= 2.0,
                             note=f"{r:.2f}x baseline" if r is not None else ""))
        rows.append(_row("upload: zeep Transport, inline base64", size,
                         m["zeep-inline-upload"]))
        rows.append(_row("download: requests streaming read (baseline)", size,
                         m["requests-download"]))
        r = ratio("mtom-download", "requests-download")
        ok = (r is not None and r <= 2.0 and "error" not in m["mtom-download"]
              and growth("mtom-download") <= mib + 32)
        rows.append(_row("download: MtomTransport -> bytes", size, m["mtom-download"],
                         target=f"<= 2x baseline, RSS growth <= {mib + 32} MiB", ok=ok,
                         note=f"{r:.2f}x baseline" if r is not None else ""))
        rows.append(_row("download: MtomTransport stream_attachments", size,
                         m["mtom-download-stream"]))
        rows.append(_row("download: zeep built-in MTOM handling", size,
                         m["zeep-builtin-download"]))
        rows.append(_row("download: zeep inline base64 (xml_huge_tree)", size,
                         m["zeep-inline-download"]))
        if big:
            case = "mtom-upload-file-1g"
            ok = "error" not in m[case] and growth(case) <= 64
            rows.append(_row("upload 1 GiB: MtomTransport, Path value", big, m[case],
                             target="RSS growth <= 64 MiB", ok=ok))
            case = "mtom-download-stream-1g"
            ok = "error" not in m[case] and growth(case) <= 64
            rows.append(_row("download 1 GiB: MtomTransport stream_attachments", big,
                             m[case], target="RSS growth <= 64 MiB", ok=ok))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.zeep")
    ap.add_argument("--serve", action="store_true", help="run the benchmark server")
    ap.add_argument("--case")
    ap.add_argument("--url")
    ap.add_argument("--size", type=int, default=MiB)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.serve:
        _serve_forever()
        return 0
    if args.case:
        pin(server=False)
        print(json.dumps(_run_case(args.case, args.url, args.size, args.repeat)))
        return 0
    ap.error("use python -m benchmarks zeep")
    return 2


if __name__ == "__main__":
    threading.excepthook = lambda a: None  # waitress shutdown noise in the server process
    sys.exit(main())
