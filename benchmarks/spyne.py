"""Spyne adapter benchmarks: MTOM in and out of a Spyne service vs a bare WSGI app.

Strategy: every case starts a fresh server process (``python -m
benchmarks.spyne --serve KIND``: waitress on 127.0.0.1, pinned to the first
CPU) and a fresh client process (``--client CASE``, on the other CPUs). The
server reports its own RSS at ``/_rss`` before and after the client ran, so
the figures are the *server's* peak RSS — interpreter, Spyne and lxml
included — and its growth. Times are wall time of the whole HTTP exchange as
the client sees it; the cases compared with each other run round-robin
against their servers (A, B, A, B, ...) and the best of five counts, so load
from other processes hits them alike (one run at 1 GiB). Values are checked
byte for byte in a separate, untimed call.

Server kinds: ``bare`` (a WSGI function that only reads the request body,
or serves the file with ``wsgi.file_wrapper``), ``mtom-bytes`` and
``mtom-file`` (Spyne with ``Soap11Mtom``, operations taking ``ByteArray`` or
``File``), ``builtin`` (Spyne's own ``Soap11(huge_tree=True)``: inline
base64, Spyne's built-in path). waitress reads the socket 256 KiB at a time
(``recv_bytes``; its 8 KiB default caps every server, bare included, near
130 MiB/s and would hide the adapter's own cost).

Targets (issue 4): 64 MiB MTOM upload into ``ByteArray`` <= 2x the bare app
reading the same body; a ``File`` service holds peak RSS <= 64 MiB while
receiving 1 GiB; a 64 MiB ``File`` download streams at >= 50% of the bare app
serving the same file (with ``wsgi.file_wrapper``). ``--quick`` (4 MiB, no
1 GiB) reports the figures without verdicts: at that size Spyne's fixed cost
per request (~1.5 ms) outweighs the transfer.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from . import common
from .common import ROOT, MiB, Result, child, current_rss_mib, peak_rss_mib, pin

NS = "urn:soap-mtom:bench:spyne"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XOP = "http://www.w3.org/2004/08/xop/include"
_BLOCK = random.Random(20261122).randbytes(MiB)


def payload_chunks(size: int) -> Iterator[bytes]:
    """The deterministic payload of ``size`` bytes, 1 MiB at a time."""
    return common.payload_chunks(size, _BLOCK)


def payload_sha256(size: int) -> str:
    return common.payload_sha256(size, _BLOCK)


def _envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="{ENV}" '
            f'xmlns:b="{NS}"><e:Body>{body}</e:Body></e:Envelope>').encode()


# -- servers -------------------------------------------------------------------------------


def _rss_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    peak = peak_rss_mib()  # VmHWM: ru_maxrss would carry the parent's peak across exec
    body = json.dumps({"peak": peak, "now": current_rss_mib()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _bare_app(path: str) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        stream = environ["wsgi.input"]
        while stream.read(MiB):
            pass
        where = environ.get("PATH_INFO")
        if where in ("/download", "/download-iter"):
            f = open(path, "rb")  # noqa: SIM115 - the server closes the file wrapper
            start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                      ("Content-Length", str(os.path.getsize(path)))])
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is not None and where == "/download":
                return wrapper(f, MiB)  # waitress sends straight from the file

            def chunks() -> Iterator[bytes]:
                with f:
                    while chunk := f.read(MiB):
                        yield chunk
            return chunks()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", "2")])
        return [b"ok"]
    return app


def _spyne_app(kind: str, path: str) -> Any:
    """``mtom-bytes``: ByteArray operations only (so, by default, nothing is spooled);
    ``mtom-file``: File operations; ``builtin``: ByteArray with Spyne's own Soap11."""
    from spyne import Application, ByteArray, File, Long, ServiceBase, Unicode, rpc
    from spyne.protocol.soap import Soap11

    from spyne_mtom import Soap11Mtom, wsgi_application

    class BytesBench(ServiceBase):  # type: ignore[misc]
        @rpc(ByteArray, _returns=Long)  # type: ignore[untyped-decorator]
        def upload(ctx: Any, data: Any) -> int:
            return sum(len(c) for c in data)

        @rpc(ByteArray, _returns=Unicode)  # type: ignore[untyped-decorator]
        def digest(ctx: Any, data: Any) -> str:
            h = hashlib.sha256()
            for c in data:
                h.update(c)
            return h.hexdigest()

        @rpc(_returns=ByteArray)  # type: ignore[untyped-decorator]
        def download_bytes(ctx: Any) -> bytes:
            with open(path, "rb") as f:
                return f.read()

    class FileBench(ServiceBase):  # type: ignore[misc]
        @rpc(File, _returns=Unicode)  # type: ignore[untyped-decorator]
        def upload_file(ctx: Any, f: Any) -> str:
            h = hashlib.sha256()
            while chunk := f.handle.read(MiB):
                h.update(chunk)
            return h.hexdigest()

        @rpc(_returns=File)  # type: ignore[untyped-decorator]
        def download_file(ctx: Any) -> Any:
            return File.Value(path=path)

    # The download rows send a plain request and measure an MTOM reply: "always" (the
    # default, "auto", would answer a plain request with inline base64).
    if kind == "mtom-bytes":
        app = Application([BytesBench], NS, in_protocol=Soap11Mtom(),
                          out_protocol=Soap11Mtom(mtom_reply="always"))
    elif kind == "mtom-file":
        app = Application([FileBench], NS, in_protocol=Soap11Mtom(),
                          out_protocol=Soap11Mtom(mtom_reply="always"))
    else:
        app = Application([BytesBench], NS, in_protocol=Soap11(huge_tree=True),
                          out_protocol=Soap11())
    return wsgi_application(app, max_content_length=4 << 30)


def _serve_forever(kind: str, path: str) -> None:
    from waitress.server import create_server

    pin(server=True)
    inner = _bare_app(path) if kind == "bare" else _spyne_app(kind, path)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/_rss":
            return _rss_app(environ, start_response)
        return inner(environ, start_response)

    # recv_bytes: waitress reads the socket 8 KiB at a time by default, which caps
    # every server here (bare included) near 130 MiB/s on loopback; the "fast
    # ingest" rows raise it to see the adapter's own cost.
    server = create_server(app, host="127.0.0.1", port=0, threads=4,
                           max_request_body_size=8 * 1024**3, ident="bench",
                           recv_bytes=int(os.environ.get("BENCH_RECV_BYTES", 8192)))
    print(f"http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()




@contextlib.contextmanager
def serve(kind: str, path: str, recv_bytes: int | None = None) -> Iterator[str]:
    env = dict(os.environ)
    if recv_bytes:
        env["BENCH_RECV_BYTES"] = str(recv_bytes)
    with child("benchmarks.spyne", "--serve", kind, "--path", path, env=env) as (url, _):
        yield url


def _rss(url: str) -> dict[str, float]:
    status, _, body = _post(url + "/_rss", [b""], "text/plain", 0, read=True)
    assert status == 200
    return dict(json.loads(body))


# -- client --------------------------------------------------------------------------------


def _post(url: str, chunks: Any, content_type: str, length: int, *,
          read: bool = True) -> tuple[int, dict[str, str], bytes]:
    """POST with a Content-Length; read the reply (``read=False``: count and drop it)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=600)
    try:
        conn.request("POST", u.path or "/", body=chunks, encode_chunked=False,
                     headers={"Content-Type": content_type, "Content-Length": str(length)})
        resp = conn.getresponse()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        if read:
            return resp.status, headers, resp.read()
        n = 0
        while chunk := resp.read(MiB):
            n += len(chunk)
        return resp.status, headers, str(n).encode()
    finally:
        conn.close()


def _mtom_upload(op: str, arg: str, size: int) -> tuple[Any, str, int]:
    import mtom

    part = mtom.OutgoingPart(payload_chunks(size), size=size, content_id="payload@bench")
    root = _envelope(f'<b:{op}><b:{arg}><xop:Include xmlns:xop="{XOP}" '
                     f'href="cid:payload@bench"/></b:{arg}></b:{op}>')
    pkg = mtom.OutgoingPackage(root, [part])
    assert pkg.content_length is not None
    return pkg, pkg.content_type, pkg.content_length


def _inline_upload(size: int) -> bytes:
    data = b"".join(payload_chunks(size))
    return _envelope(f"<b:upload><b:data>{base64.b64encode(data).decode()}</b:data></b:upload>")


def _prepare(case: str, url: str, size: int) -> tuple[Callable[[], object], Callable[[], bool]]:
    """The timed call and the untimed byte-exactness check of one client case."""
    import mtom

    call: Callable[[], object]
    verify: Callable[[], bool]
    if case in ("bare-upload", "mtom-upload-bytes", "mtom-upload-file"):
        op, arg = ("upload_file", "f") if case == "mtom-upload-file" else ("upload", "data")
        pkg, ctype, length = _mtom_upload(op, arg, size)
        big = size > 256 * MiB
        body: Any = None if big else b"".join(pkg.iter_bytes())
        target = url + ("/upload" if case == "bare-upload" else "/")

        def call() -> object:
            chunks = pkg.iter_bytes() if big else [body]
            status, _, out = _post(target, chunks, ctype, length)
            assert status == 200, out[:300]
            return out

        def verify() -> bool:
            if case == "bare-upload":
                return True
            vop, varg = ("upload_file", "f") if case == "mtom-upload-file" else ("digest", "data")
            vpkg, vct, vlen = _mtom_upload(vop, varg, size)
            _, _, out = _post(url + "/", vpkg.iter_bytes(), vct, vlen)
            return payload_sha256(size).encode() in out
    elif case == "builtin-upload":
        body = _inline_upload(size)

        def call() -> object:
            status, _, out = _post(url + "/", [body], "text/xml; charset=utf-8", len(body))
            assert status == 200, out[:300]
            return out

        def verify() -> bool:
            _, _, out = _post(url + "/", [body], "text/xml; charset=utf-8", len(body))
            return f">{size}<".encode() in out
    elif case in ("bare-download", "bare-download-iter", "mtom-download-file",
                  "builtin-download-bytes"):
        op = "download_file" if case == "mtom-download-file" else "download_bytes"
        req = _envelope(f"<b:{op}/>")
        target = url + {"bare-download": "/download",
                        "bare-download-iter": "/download-iter"}.get(case, "/")

        def call() -> object:
            status, _, out = _post(target, [req], "text/xml; charset=utf-8", len(req),
                                   read=False)
            assert status == 200
            return out

        def verify() -> bool:
            _status, headers, out = _post(target, [req], "text/xml; charset=utf-8", len(req))
            ctype = headers.get("content-type", "")
            if case.startswith("bare-download"):
                data = out
            elif ctype.startswith("multipart/"):
                with mtom.read_package(out, ctype) as package:
                    data = package.attachments[0].read()
            else:
                from lxml import etree

                root = etree.fromstring(out, etree.XMLParser(huge_tree=True))
                data = base64.b64decode(root.findtext(f".//{{{NS}}}download_bytesResult") or "")
            return hashlib.sha256(data).hexdigest() == payload_sha256(size)
    else:
        raise SystemExit(f"unknown case {case!r}")
    return call, verify


def _run_clients(jobs: list[tuple[str, str]], size: int, repeat: int) -> dict[str, Any]:
    """Run the cases round-robin (A, B, A, B, ...) so that load from other processes
    on the machine hits every case alike; best time of each."""
    prepared = {case: _prepare(case, url, size) for case, url in jobs}
    best = dict.fromkeys(prepared, float("inf"))
    for _ in range(repeat):
        for case, (call, _) in prepared.items():
            t0 = time.perf_counter()
            call()
            best[case] = min(best[case], time.perf_counter() - t0)
    return {case: {"seconds": best[case], "verified": verify()}
            for case, (_, verify) in prepared.items()}


def _measure(group: list[tuple[str, str]], path: str, size: int, repeat: int,
             recv_bytes: int | None = None) -> dict[str, dict[str, Any]]:
    """Measure ``(server kind, case)`` pairs together: one fresh server per kind."""
    kinds = sorted({kind for kind, _ in group})
    with contextlib.ExitStack() as stack:
        urls = {k: stack.enter_context(serve(k, path, recv_bytes)) for k in kinds}
        before = {k: _rss(u) for k, u in urls.items()}
        args = [f"{case}@{urls[kind]}" for kind, case in group]
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.spyne", "--size", str(size),
             "--repeat", str(repeat), "--client", *args],
            capture_output=True, text=True, cwd=ROOT, check=False)
        after = {k: _rss(u) for k, u in urls.items()}
    if out.returncode != 0:
        error = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return {case: {"error": error} for _, case in group}
    results: dict[str, dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    for kind, case in group:
        results[case]["rss_before"] = before[kind]["now"]
        results[case]["rss_peak"] = after[kind]["peak"]
    return results


_VERDICTS = True  # off in quick mode: at 4 MiB Spyne's fixed ~1.5 ms per request dominates


def _row(case: str, size: int, m: dict[str, Any], *, target: str = "", ok: bool | None = None,
         note: str = "") -> Result:
    if not _VERDICTS and target:
        target, ok = f"({target}: full run only)", None
    if "error" in m:
        return Result("spyne", case, float("nan"), size, None, f"error: {m['error']}", target,
                      False if target else None)
    growth = m["rss_peak"] - m["rss_before"]
    notes = [f"server RSS {m['rss_before']:.0f} -> peak {m['rss_peak']:.0f} MiB"]
    notes.append("byte-exact" if m["verified"] else "VALUE WRONG")
    if note:
        notes.append(note)
    extra = {"server_rss_before_mib": round(m["rss_before"], 1),
             "server_rss_peak_mib": round(m["rss_peak"], 1),
             "server_rss_growth_mib": round(growth, 1)}
    return Result("spyne", case, m["seconds"], size, m["rss_peak"], "; ".join(notes), target,
                  None if ok is None else bool(ok and m["verified"]), extra)


def run(args: argparse.Namespace) -> list[Result]:
    global _VERDICTS
    _VERDICTS = not args.quick
    size = 4 * MiB if args.quick else 64 * MiB
    big = None if args.quick else 1024 * MiB
    rows: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-spyne-") as tmp:
        path = os.path.join(tmp, "payload.bin")
        with open(path, "wb") as f:
            for chunk in payload_chunks(size):
                f.write(chunk)
        m: dict[str, dict[str, Any]] = {}
        m.update(_measure([("bare", "bare-upload"), ("mtom-bytes", "mtom-upload-bytes"),
                           ("mtom-file", "mtom-upload-file")], path, size, 5))
        m.update(_measure([("builtin", "builtin-upload"), ("builtin", "builtin-download-bytes")],
                          path, size, 2))
        fast = {k + "-fast": v for k, v in _measure(
            [("bare", "bare-upload"), ("mtom-bytes", "mtom-upload-bytes"),
             ("mtom-file", "mtom-upload-file")], path, size, 5, 256 * 1024).items()}
        m.update(fast)
        m.update(_measure([("bare", "bare-download"), ("bare", "bare-download-iter"),
                           ("mtom-file", "mtom-download-file")], path, size, 5))
        if big:
            m["mtom-upload-file-1g"] = _measure([("mtom-file", "mtom-upload-file")], path, big,
                                                1)["mtom-upload-file"]

    def secs(case: str) -> float | None:
        return None if "error" in m[case] else float(m[case]["seconds"])

    mib = size // MiB
    rows.append(_row(f"upload {mib} MiB: bare WSGI reads the body (baseline)", size,
                     m["bare-upload"]))
    a, b = secs("mtom-upload-bytes"), secs("bare-upload")
    r = a / b if a and b else None
    rows.append(_row(f"upload {mib} MiB MTOM -> ByteArray (Soap11Mtom)", size,
                     m["mtom-upload-bytes"], target="<= 2x bare WSGI",
                     ok=r is not None and r <= 2.0, note=f"{r:.2f}x baseline" if r else ""))
    a = secs("mtom-upload-file")
    r = a / b if a and b else None
    rows.append(_row(f"upload {mib} MiB MTOM -> File (Soap11Mtom)", size, m["mtom-upload-file"],
                     note=f"{r:.2f}x baseline" if r else ""))
    a = secs("builtin-upload")
    r = a / b if a and b else None
    rows.append(_row(f"upload {mib} MiB: Spyne built-in, inline base64, huge_tree", size,
                     m["builtin-upload"], note=f"{r:.2f}x baseline" if r else ""))
    b = secs("bare-upload-fast")
    rows.append(_row(f"upload {mib} MiB, fast ingest: bare WSGI (baseline)", size,
                     m["bare-upload-fast"], note="waitress recv_bytes=256 KiB"))
    for key, label in (("mtom-upload-bytes-fast", "ByteArray"), ("mtom-upload-file-fast", "File")):
        a = secs(key)
        r = a / b if a and b else None
        rows.append(_row(f"upload {mib} MiB, fast ingest: MTOM -> {label}", size, m[key],
                         note=f"{r:.2f}x baseline" if r else ""))
    if big:
        case = m["mtom-upload-file-1g"]
        ok = "error" not in case and case["rss_peak"] <= 64
        rows.append(_row("upload 1 GiB MTOM -> File: server peak RSS", big, case,
                         target="server peak RSS <= 64 MiB", ok=ok))
    rows.append(_row(f"download {mib} MiB: bare WSGI, wsgi.file_wrapper (baseline)", size,
                     m["bare-download"]))
    rows.append(_row(f"download {mib} MiB: bare WSGI, 1 MiB chunks iterable", size,
                     m["bare-download-iter"], note="what any WSGI framework can do"))
    a, b = secs("mtom-download-file"), secs("bare-download")
    r = b / a if a and b else None
    c = secs("bare-download-iter")
    r2 = c / a if a and c else None
    rows.append(_row(f"download {mib} MiB File(path) as MTOM (Soap11Mtom)", size,
                     m["mtom-download-file"], target=">= 50% of bare WSGI (file_wrapper)",
                     ok=r is not None and r >= 0.5,
                     note=(f"{r:.0%} of file_wrapper, {r2:.0%} of iterable baseline"
                           if r and r2 else "")))
    a = secs("builtin-download-bytes")
    r = b / a if a and b else None
    rows.append(_row(f"download {mib} MiB: Spyne built-in, inline base64 ByteArray", size,
                     m["builtin-download-bytes"], note=f"{r:.0%} of baseline" if r else ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.spyne")
    ap.add_argument("--serve", choices=("bare", "mtom-bytes", "mtom-file", "builtin"))
    ap.add_argument("--path")
    ap.add_argument("--client", nargs="+", metavar="CASE@URL")
    ap.add_argument("--size", type=int, default=MiB)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.serve:
        _serve_forever(args.serve, args.path)
        return 0
    if args.client:
        pin(server=False)
        jobs = [(case, url) for case, _, url in (i.partition("@") for i in args.client)]
        print(json.dumps(_run_clients(jobs, args.size, args.repeat)))
        return 0
    ap.error("use python -m benchmarks spyne")
    return 2


if __name__ == "__main__":
    threading.excepthook = lambda a: None  # waitress shutdown noise in the server process
    sys.exit(main())
