"""Limits: documented defaults, validation, and each limit enforced end to end."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

import mtom
from mtom import DEFAULT_LIMITS, LimitExceeded, Limits, read_package, reconstitute

KiB, MiB, GiB = 1024, 1024**2, 1024**3
ENV = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{}</s:Body>' \
      b"</s:Envelope>"
CT = "multipart/related; boundary=b"


def message(*parts: tuple[str, bytes], preamble: bytes = b"") -> bytes:
    out = preamble
    for headers, content in parts:
        head = headers.encode() + b"\r\n" if headers else b""
        out += b"--b\r\n" + head + b"\r\n" + content + b"\r\n"
    return out + b"--b--\r\n"


def env(inner: str = "") -> bytes:
    return ENV.replace(b"{}", inner.encode())


def test_documented_defaults() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert dataclasses.asdict(DEFAULT_LIMITS) == {
        "max_parts": 1000, "max_header_bytes": 16 * KiB, "max_preamble_bytes": 64 * KiB,
        "max_root_size": 8 * MiB, "max_attachment_size": 8 * GiB,
        "max_total_size": 16 * GiB, "max_includes": 10_000, "max_references_per_part": 1,
    }


def test_limits_are_frozen_and_replaceable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_parts = 5  # type: ignore[misc]
    small = dataclasses.replace(DEFAULT_LIMITS, max_parts=5)
    assert small.max_parts == 5 and small.max_includes == 10_000


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Limits)])
@pytest.mark.parametrize("value", [-1, 1.5, "10", None])
def test_limits_reject_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError) as info:
        Limits(**{field: value})  # type: ignore[arg-type]
    assert field in str(info.value)


def test_zero_is_a_valid_limit() -> None:
    with pytest.raises(LimitExceeded) as info:
        read_package(message(("", env())), CT, limits=Limits(max_parts=0))
    assert info.value.limit == "max_parts"


def _parts(n: int) -> bytes:
    return message(("", env()), *[(f"Content-ID: <p{i}>", b"x") for i in range(n - 1)])


def _read(body: bytes, chunk: int = 0) -> Callable[[Limits], object]:
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)] if chunk else body

    def run(limits: Limits) -> object:
        with read_package(chunks, CT, limits=limits) as pkg:
            assert pkg.root.read() in body
            return len(pkg.parts)
    return run


def _reconstitute(body: bytes) -> Callable[[Limits], object]:
    def run(limits: Limits) -> object:
        with read_package(body, CT, limits=limits) as pkg:
            return len(reconstitute(pkg.root_element(), pkg, limits=limits).references)
    return run


INC = '<v{0}><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:{1}"/></v{0}>'
ROOT_3_INCLUDES = env("".join(INC.format(i, f"p{i}") for i in range(3)))
ROOT_SAME_PART_TWICE = env(INC.format(0, "p") + INC.format(1, "p"))
HEADER = "X-Pad: " + "h" * 200
BIG = message(("", env()), ("Content-ID: <a>", b"a" * 1000))

# (limit field, value that passes, value that fails, the operation)
CASES: list[tuple[str, int, int, Callable[[Limits], object]]] = [
    ("max_parts", 4, 3, _read(_parts(4))),
    ("max_header_bytes", len(HEADER) + 4, len(HEADER) - 10, _read(message((HEADER, env())))),
    # Fed in small chunks (the limit holds in any chunking: see test_reader).
    ("max_preamble_bytes", 600, 400,
     _read(message(("", env()), preamble=b"p" * 500 + b"\r\n"), chunk=50)),
    ("max_root_size", len(env()), len(env()) - 1, _read(BIG)),
    ("max_attachment_size", 1000, 999, _read(BIG)),
    ("max_total_size", len(BIG), len(BIG) - 1, _read(BIG)),
    ("max_includes", 3, 2, _reconstitute(message(("", ROOT_3_INCLUDES),
                                                 *[(f"Content-ID: <p{i}>", b"x")
                                                   for i in range(3)]))),
    ("max_references_per_part", 2, 1, _reconstitute(message(("", ROOT_SAME_PART_TWICE),
                                                            ("Content-ID: <p>", b"x")))),
]


@pytest.mark.parametrize(("field", "ok", "too_small", "run"), CASES, ids=[c[0] for c in CASES])
def test_each_limit_is_enforced(field: str, ok: int, too_small: int,
                                run: Callable[[Limits], object]) -> None:
    run(Limits(**{field: ok}))  # at the limit: fine
    with pytest.raises(LimitExceeded) as info:
        run(Limits(**{field: too_small}))
    err = info.value
    assert err.limit == field and err.value == too_small
    assert field in str(err)
    assert err.fault_role == "Sender" and err.http_status("1.2") == 400
    assert isinstance(err, mtom.ProtocolError)


def test_every_limit_field_is_covered() -> None:
    assert {c[0] for c in CASES} == {f.name for f in dataclasses.fields(Limits)}
