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

from .common import MiB, Result, payload_chunks, peak_rss_mib, timed

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


CASES = {"decode-spool": case_decode_spool, "write-file": case_write_file}


def _subprocess(case: str, size: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.core", "--case", case, "--size", str(size)],
        capture_output=True, text=True, check=True, timeout=900,
        cwd=Path(__file__).resolve().parent.parent)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


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
    return results


def _main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=sorted(CASES), required=True)
    ap.add_argument("--size", type=int, required=True)
    a = ap.parse_args()
    print(json.dumps(CASES[a.case](a.size)))


if __name__ == "__main__":
    _main()
