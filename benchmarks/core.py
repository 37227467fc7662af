"""Core codec benchmarks (``python -m benchmarks core``).

Cases, each against a baseline measured in the same run:

* decode-memory: a 64 MiB single-attachment package fed in 64 KiB chunks,
  decoded into memory, vs copying the same chunks into a bytearray
  (target: ≥ 50% of copy speed).
* decode-spool: a 1 GiB attachment decoded in spool mode (input generated
  on the fly, never held whole), in a fresh process (target: peak RSS
  < 64 MiB).
* write-file: a 64 MiB package written from a file, vs reading the same file
  in chunks (target: ≥ 50% of copy speed), and its peak RSS in a fresh process
  with a 1 GiB file (constant memory).

* shapes (issue 8): 1 / 100 / 1,000 parts of the same total size, fed in
  64 KiB chunks, 1 MiB chunks and as one buffer; each row's time per byte
  against the single-part 64 KiB-chunk decode of the same size (target:
  ≤ 2x the baseline plus ≤ 10 µs per part) and its peak RSS growth (target:
  ≤ 2x the body + one chunk). 1-byte feeding of a 64 KiB and a 256 KiB
  message (target: linear, ≤ 1.3x the cost per byte of the smaller one); a
  16 MiB quoted-printable part with no line break against one
  ``binascii.a2b_qp`` call on the same bytes (≤ 2x); ``mtom inspect`` on a
  64 MiB single-attachment file against reading and hashing the file
  (≤ 2x).

Memory cases run in subprocesses (``python -m benchmarks.core --case …``) so
each peak RSS is the case's own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .common import MiB, Result, current_rss_mib, payload_chunks, peak_rss_mib, timed

CHUNK = 64 * 1024
BLOCK = os.urandom(MiB)


def _payload_chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes of incompressible data, generated a MiB at a time."""
    return payload_chunks(size, BLOCK)


def _rechunk(chunks: Iterator[bytes | memoryview], size: int) -> Iterator[bytes]:
    buf = bytearray()
    for c in chunks:
        buf += c
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


def _package(size: int) -> tuple[str, Iterator[bytes]]:
    import mtom

    part = mtom.OutgoingPart(_payload_chunks(size), size=size, content_type="image/png")
    pkg = mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:x'/>", [part])
    return pkg.content_type, _rechunk(iter(pkg), CHUNK)


# -- subprocess cases ------------------------------------------------------

def case_decode_spool(size: int) -> dict[str, float]:
    import mtom

    ct, chunks = _package(size)
    t0 = time.perf_counter()
    reader = mtom.PackageReader(ct, spool_threshold=4 * MiB)
    for c in chunks:
        reader.feed(c)
    with reader.close() as package:
        att = package.attachments[0]
        assert att.size == size and not att.in_memory
    return {"seconds": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib()}


def case_write_file(size: int) -> dict[str, float]:
    import mtom

    with tempfile.NamedTemporaryFile(prefix="mtom-bench-") as f:
        for c in _payload_chunks(size):
            f.write(c)
        f.flush()
        rss_before = peak_rss_mib()
        t0 = time.perf_counter()
        pkg = mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:x'/>",
                                   [mtom.OutgoingPart(Path(f.name))])
        n = sum(len(c) for c in pkg)
        assert n == pkg.content_length
        return {"seconds": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib(),
                "rss_before_mib": rss_before}


def shape_body(size: int, parts: int, encoding: str = "binary") -> tuple[str, bytes]:
    """A package of ``parts`` parts sharing ``size`` bytes (root included)."""
    import binascii

    import mtom

    each = size // parts
    out = [b"--bnd\r\nContent-Type: text/xml\r\nContent-ID: <root>\r\n\r\n<e/>\r\n"]
    block = (BLOCK * (each // len(BLOCK) + 1))[:each]
    if encoding == "quoted-printable":
        # No line break at all: the case that held a whole line back per chunk.
        block = binascii.b2a_qp(block, istext=False).replace(b"=\n", b"")
    for i in range(parts):
        out.append(f"--bnd\r\nContent-ID: <p{i}>\r\nContent-Transfer-Encoding: {encoding}"
                   "\r\n\r\n".encode() + block + b"\r\n")
    out.append(b"--bnd--\r\n")
    ct = mtom.headers.format_content_type("multipart/related", {"boundary": "bnd"})
    return ct, b"".join(out)


def case_shape(size: int, parts: int = 1, chunk: int = CHUNK,
               encoding: str = "binary") -> dict[str, float]:
    """Decode a shape (``chunk`` 0 = one buffer); best time of 3 and peak RSS growth."""
    import mtom

    ct, body = shape_body(size, parts, encoding)
    mv = memoryview(body)
    chunks = [body] if chunk == 0 else [bytes(mv[i:i + chunk])
                                         for i in range(0, len(body), chunk)]
    rss_before = current_rss_mib()

    def decode() -> None:
        reader = mtom.PackageReader(ct, spool_threshold=1 << 40,
                                    limits=mtom.Limits(max_parts=parts + 1))
        for c in chunks:
            reader.feed(c)
        with reader.close() as package:
            assert len(package) == parts + 1

    seconds = timed(decode, 1 if chunk == 1 else 3)
    return {"seconds": seconds, "bytes": len(body),
            "rss_growth_mib": peak_rss_mib() - rss_before}


CASES = {"decode-spool": case_decode_spool, "write-file": case_write_file, "shape": case_shape}


def _subprocess(case: str, size: int, **kw: object) -> dict[str, float]:
    extra = [a for k, v in kw.items() for a in (f"--{k}", str(v))]
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.core", "--case", case, "--size", str(size), *extra],
        capture_output=True, text=True, check=True, timeout=900,
        cwd=Path(__file__).resolve().parent.parent)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def shape_results(quick: bool) -> list[Result]:
    """Issue 8's rows: any shape and chunking costs about what one part costs."""
    import binascii
    import hashlib

    size = (4 if quick else 32) * MiB
    base = _subprocess("shape", size, parts=1, chunk=CHUNK)
    per_byte = base["seconds"] / base["bytes"]
    results = [Result("core", f"shape baseline: 1 part, {size // MiB} MiB, 64 KiB chunks",
                      base["seconds"], int(base["bytes"]),
                      peak_rss_mib=base["rss_growth_mib"])]
    for parts in (1, 100, 1000):
        for chunk, label in ((CHUNK, "64 KiB chunks"), (MiB, "1 MiB chunks"), (0, "one buffer")):
            if parts == 1 and chunk == CHUNK:
                continue
            r = _subprocess("shape", size, parts=parts, chunk=chunk)
            allowed = 2 * per_byte * r["bytes"] + 10e-6 * parts
            rss_ok = r["rss_growth_mib"] <= 2 * r["bytes"] / MiB + max(chunk, CHUNK) / MiB + 8
            results.append(Result(
                "core", f"shape: {parts} parts, {label}", r["seconds"], int(r["bytes"]),
                peak_rss_mib=r["rss_growth_mib"],
                target=(f"time ≤ 2x base + 10 µs/part (uses {r['seconds'] / allowed:.0%} of "
                        "that); RSS growth ≤ 2x body + chunk"),
                ok=r["seconds"] <= allowed and rss_ok))
    small = _subprocess("shape", 64 * 1024, parts=4, chunk=1)
    large = _subprocess("shape", 256 * 1024, parts=16, chunk=1)
    growth = (large["seconds"] / large["bytes"]) / (small["seconds"] / small["bytes"])
    results.append(Result("core", "1-byte feeding, 64 KiB message", small["seconds"],
                          int(small["bytes"])))
    results.append(Result("core", "1-byte feeding, 256 KiB message", large["seconds"],
                          int(large["bytes"]), peak_rss_mib=large["rss_growth_mib"],
                          target=f"linear: cost per byte ≤ 1.3x the 64 KiB one ({growth:.2f}x)",
                          ok=growth <= 1.3))
    qp_size = (4 if quick else 16) * MiB
    qp = _subprocess("shape", qp_size, parts=1, chunk=CHUNK, encoding="quoted-printable")
    _, qp_body = shape_body(qp_size, 1, "quoted-printable")
    one_call = timed(lambda: binascii.a2b_qp(qp_body), 3)
    results.append(Result("core", f"quoted-printable part, {qp_size // MiB} MiB, no line break",
                          qp["seconds"], int(qp["bytes"]), peak_rss_mib=qp["rss_growth_mib"],
                          target=f"≤ 2x one a2b_qp call ({qp['seconds'] / one_call:.2f}x)",
                          ok=qp["seconds"] <= 2 * one_call))

    from mtom.cli import inspect_bytes
    insp_size = (8 if quick else 64) * MiB
    with tempfile.TemporaryDirectory(prefix="mtom-bench-") as tmp:
        path = Path(tmp) / "big.msg"
        ct, _ = _package(insp_size)
        with path.open("wb") as f:
            import mtom
            pkg = mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:x'/>", [mtom.OutgoingPart(
                _payload_chunks(insp_size), size=insp_size)])
            ct = pkg.content_type
            for c in pkg:
                f.write(c)

        def read_hash() -> None:
            hashlib.sha256(path.read_bytes()).hexdigest()

        def inspect() -> None:
            inspect_bytes(path.read_bytes(), ct)

        base_s, ours_s = timed(read_hash, 3), timed(inspect, 3)
    results.append(Result("core", f"mtom inspect, {insp_size // MiB} MiB attachment (in-process)",
                          ours_s, insp_size,
                          target=f"≤ 2x read + sha256 of the file ({ours_s / base_s:.2f}x)",
                          ok=ours_s <= 2 * base_s))
    return results


# -- the suite -------------------------------------------------------------

def _multipart_reference(ct: str, chunks: list[bytes], size: int) -> list[Result]:
    """defnull's multipart 2.x on the same input, and how much of the corpus it accepts.

    The reason docs/design.md gives for a hand-written reader, measured.
    """
    try:
        import multipart
    except ImportError:
        return []
    import mtom
    from interop.corpus import load_messages

    class Related(multipart.PushMultipartParser):  # type: ignore[misc]
        def _create_segment(self, headerlist: list[tuple[str, str]]) -> object:
            return multipart.MultipartSegment(headerlist)

    boundary = mtom.parse_content_type(ct).boundary

    def parse() -> None:
        p = Related(boundary, max_segment_size=1 << 40)
        for c in chunks:
            for _ in p.parse(c):
                pass
        p.close()

    accepted = 0
    messages = load_messages()
    for m in messages:
        p = Related(mtom.parse_content_type(m.content_type).boundary)
        try:
            list(p.parse(m.body))
            list(p.parse(b""))
            p.close()
            accepted += 1
        except multipart.ParserError:
            pass
    note = (f"accepts {accepted} of {len(messages)} corpus messages (mtom.reader: all)"
            if messages else "corpus not found")
    def ours() -> None:
        r = mtom.MultipartReader(boundary)
        for c in chunks:
            r.feed(c)
        r.feed(b"")

    return [Result("core", "mtom.reader events only (no assembly)", timed(ours, 5), size),
            Result("core", "reference: multipart 2.x events only (no assembly)",
                   timed(parse, 5), size, note=note)]


def run(args: argparse.Namespace) -> list[Result]:
    import mtom

    quick = bool(getattr(args, "quick", False))
    size = (8 if quick else 64) * MiB
    big = (64 if quick else 1024) * MiB
    results: list[Result] = []

    ct, gen = _package(size)
    chunks = list(gen)

    def copy() -> None:
        ba = bytearray()
        for c in chunks:
            ba += c

    def decode() -> None:
        reader = mtom.PackageReader(ct, spool_threshold=1 << 40)
        for c in chunks:
            reader.feed(c)
        with reader.close() as package:
            assert package.attachments[0].size == size

    base = timed(copy, 5)
    ours = timed(decode, 5)
    ratio = base / ours
    results.append(Result("core", "baseline: copy chunks into a bytearray", base, size))
    results.append(Result("core", "decode 64 KiB chunks into memory", ours, size,
                          target=f"≥ 50% of copy speed (is {ratio:.0%})", ok=ratio >= 0.5))
    results.extend(_multipart_reference(ct, chunks, size))
    chunks.clear()  # free the 64 MiB before the subprocess cases

    r = _subprocess("decode-spool", big)
    results.append(Result("core", f"decode {big // MiB} MiB attachment, spool mode",
                          r["seconds"], big, peak_rss_mib=r["peak_rss_mib"],
                          target="peak RSS < 64 MiB", ok=r["peak_rss_mib"] < 64))

    with tempfile.NamedTemporaryFile(prefix="mtom-bench-") as f:
        for c in _payload_chunks(size):
            f.write(c)
        f.flush()

        def read_file() -> None:
            with open(f.name, "rb") as src:
                while src.read(MiB):
                    pass

        def write_pkg() -> None:
            pkg = mtom.OutgoingPackage(b"<e:Envelope xmlns:e='urn:x'/>",
                                       [mtom.OutgoingPart(Path(f.name))])
            for _ in pkg:
                pass

        base = timed(read_file, 5)
        ours = timed(write_pkg, 5)
    ratio = base / ours
    results.append(Result("core", "baseline: read the file in 1 MiB chunks", base, size))
    results.append(Result("core", "write package from a file", ours, size,
                          target=f"≥ 50% of copy speed (is {ratio:.0%})", ok=ratio >= 0.5))
    r = _subprocess("write-file", big)
    grew = r["peak_rss_mib"] - r["rss_before_mib"]
    results.append(Result("core", f"write {big // MiB} MiB package from a file (memory)",
                          r["seconds"], big, peak_rss_mib=r["peak_rss_mib"],
                          target=f"constant memory (peak grew {grew:.1f} MiB, ≤ 8)",
                          ok=grew <= 8))
    results.extend(shape_results(quick))
    return results


def _main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES), required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--parts", type=int)
    ap.add_argument("--chunk", type=int)
    ap.add_argument("--encoding")
    a = ap.parse_args()
    kw = {k: v for k in ("parts", "chunk", "encoding") if (v := getattr(a, k)) is not None}
    print(json.dumps(CASES[a.case](a.size, **kw)))  # type: ignore[operator]


if __name__ == "__main__":
    _main()
