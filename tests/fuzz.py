"""Coverage-guided fuzzing of the core: reader + package + reconstitute.

Run it longer than the test suite does::

    .venv/bin/python -m tests.fuzz --seconds 3600          # atheris (libFuzzer), seeded
    .venv/bin/python -m tests.fuzz --seconds 600 --random   # plain random mutation

One input is ``Content-Type line LF body``. Seeds are the captured messages
of ``../shared/corpus`` (``MTOM_CORPUS`` overrides), written in that form to a
temporary folder at start (the corpus is read, never copied into the repo);
new inputs libFuzzer finds stay in that folder. Each input is decoded three
ways — whole, in chunks of a size derived from its bytes, and byte by byte
(3 bytes at a time past ``BYTEWISE_LEN``) — and must give:

* success or an :class:`mtom.MtomError` (anything else is a crash);
* the same outcome in every feeding: the same parts, decoded bytes, warnings
  and references, or the same error type for the same part;
* work within a linear budget: a deterministic count of function calls, at
  most ``CALLS_PER_BYTE`` per input byte plus a constant (a timing would be
  flaky; a quadratic loop shows up in the count).

A failure raises ``FuzzFailure`` with the input saved as ``crash-*.bin`` in the
current folder (atheris) or printed (random mode).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from tests._support import run_counting_calls

CALLS_PER_BYTE = 150
CALLS_CONSTANT = 20_000
MAX_LEN = 4096
#: Inputs up to this length are also fed byte by byte; longer ones 3 bytes at a time.
BYTEWISE_LEN = 1024
LIMITS_KW = {"max_parts": 64, "max_header_bytes": 2048, "max_preamble_bytes": 1024,
             "max_root_size": 64 * 1024, "max_includes": 256}

Outcome = tuple[object, ...]


class FuzzFailure(AssertionError):
    """An invariant of the core does not hold for an input."""


def _import_core() -> None:
    global mtom, etree
    from lxml import etree

    import mtom


def split_input(data: bytes) -> tuple[str, bytes]:
    """``Content-Type LF body``; a missing LF gives a default Content-Type."""
    line, sep, body = data.partition(b"\n")
    if not sep:
        return 'multipart/related; boundary="b"; type="application/xop+xml"', data
    return line.decode("latin-1"), body


def chunkings(body: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "whole", [body]
    size = 1 + zlib.crc32(body) % 97
    yield f"{size}-byte", [body[i:i + size] for i in range(0, len(body), size)]
    step = 1 if len(body) <= BYTEWISE_LEN else 3
    yield "smallest", [body[i:i + step] for i in range(0, len(body), step)]


def decode(content_type: str, chunks: list[bytes]) -> Outcome:
    """Everything the core tells about a message, as comparable values."""
    limits = mtom.Limits(**LIMITS_KW)
    try:
        reader = mtom.PackageReader(content_type, limits=limits, spool_threshold=4096)
        for chunk in chunks:
            if chunk:
                reader.feed(chunk)
        with reader.close() as package:
            parts = tuple((p.index, p.content_id, p.content_type, p.read())
                          for p in package.parts)
            refs: tuple[object, ...] = ()
            try:
                root = package.root_element()
            except mtom.RootPartError as exc:
                refs = ("root", type(exc).__name__)
            else:
                found = mtom.reconstitute(root, package, limits=limits)
                refs = (tuple((r.kind, r.attachment.index) for r in found.references),
                        tuple((r.kind, r.attachment.index) for r in found.swa),
                        tuple(a.index for a in found.unreferenced),
                        etree.tostring(root))
            return ("ok", parts, tuple(package.warnings), refs)
    except mtom.MtomError as exc:
        # Every message can go into a log line or a SOAP Fault as it is.
        if re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", str(exc)):
            raise FuzzFailure(f"unprintable error message: {exc!r}") from exc
        return ("error", type(exc).__name__, exc.part)


def check(data: bytes, *, budget: bool = True) -> None:
    """The invariants for one input (raises :class:`FuzzFailure`)."""
    content_type, body = split_input(data)
    first: Outcome | None = None
    for name, chunks in chunkings(body):
        if budget and name == "smallest":
            result, calls = run_counting_calls(lambda c=chunks: decode(content_type, c))  # type: ignore[misc]
            limit = CALLS_CONSTANT + CALLS_PER_BYTE * len(data)
            if calls > limit:
                raise FuzzFailure(f"{calls} calls for {len(data)} bytes (budget {limit})")
            outcome: Outcome = result  # type: ignore[assignment]
        else:
            outcome = decode(content_type, chunks)
        if first is None:
            first = outcome
        elif outcome != first:
            raise FuzzFailure(f"{name} feeding differs from whole: {outcome!r:.300} "
                              f"vs {first!r:.300}")


def seeds() -> list[bytes]:
    """Corpus messages as fuzz inputs, cut to MAX_LEN (positive and negative)."""
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    root = Path(os.environ.get("MTOM_CORPUS") or default)
    out = []
    for msg in sorted(root.rglob("*.msg")) if root.is_dir() else []:
        ct_file = msg.with_suffix(".content-type")
        if ct_file.is_file():
            ct = ct_file.read_bytes().replace(b"\r", b" ").replace(b"\n", b" ")
            out.append((ct + b"\n" + msg.read_bytes())[:MAX_LEN])
    out.append(b'multipart/related; boundary="b"\n--b\r\n\r\n<a/>\r\n--b--')
    return out


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice([b"\r\n", b"\n", b"--", b"=", b"\r", b"cid:", b"<", b"%",
                                       b"--b", b"\r\n--b\r\n", b"\r\n\r\n", b"xop:Include"])
        elif op == 2 and buf:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3:
            other = rng.choice(pool)
            a = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[a:a + rng.randint(1, 256)]
        elif op == 4:
            buf[pos:pos] = bytes([rng.randrange(256)]) * rng.randint(1, 300)
        elif op == 5 and buf:
            piece = bytes(buf[pos:pos + rng.randint(1, 32)])
            buf[pos:pos] = piece * rng.randint(1, 20)
    return bytes(buf[:MAX_LEN])


def run_random(seconds: float, seed: int) -> int:
    _import_core()
    rng = random.Random(seed)
    pool = seeds()
    for data in pool:
        check(data, budget=False)  # the seeds are long: their budget is not the point
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        data = mutate(rng, rng.choice(pool), pool)
        try:
            check(data)
        except FuzzFailure:
            name = f"crash-{hashlib.sha256(data).hexdigest()[:16]}.bin"
            Path(name).write_bytes(data)
            print(f"failing input saved as {name}")
            raise
        runs += 1
    print(f"fuzz (random mutation, seed {seed}): {runs} inputs, no failure")
    return 0


def run_atheris(seconds: float, seed: int) -> int:
    import atheris

    with atheris.instrument_imports():
        _import_core()
    work = Path(tempfile.mkdtemp(prefix="mtom-fuzz-"))
    for i, data in enumerate(seeds()):
        (work / f"seed-{i:03d}").write_bytes(data)

    def one_input(data: bytes) -> None:
        check(data)

    args = [sys.argv[0], str(work), f"-max_total_time={max(1, int(seconds))}",
            f"-max_len={MAX_LEN}", f"-seed={seed}", "-timeout=60", "-rss_limit_mb=4096",
            "-print_final_stats=1"]
    atheris.Setup(args, one_input)
    atheris.Fuzz()  # exits the process: 0 when the time is up without a failure
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--random", action="store_true",
                    help="random mutation instead of atheris (also used when it is missing)")
    args = ap.parse_args(argv)
    seconds = args.minutes * 60 if args.minutes is not None else args.seconds
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    if not args.random:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed: random mutation instead", file=sys.stderr)
        else:
            return run_atheris(seconds, seed)
    return run_random(seconds, seed)


if __name__ == "__main__":
    sys.exit(main())
