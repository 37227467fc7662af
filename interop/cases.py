"""The W3C MTOM echo scenarios and the directions they run in: what is exchanged, by whom.

Split out of :mod:`interop.scenarios` (which runs and checks them).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mtom
from interop import extra_peers

SoapVersion = Literal["1.1", "1.2"]
VERSIONS: tuple[SoapVersion, ...] = ("1.1", "1.2")

DATA_NS = "http://example.org/mtom/data"
DATA = f"{{{DATA_NS}}}Data"
ECHO = f"{{{DATA_NS}}}EchoTest"
XMIME_CT = f"{{{mtom.XMIME_NS}}}contentType"
ENV_NS: dict[str, str] = {"1.1": mtom.SOAP11_ENV_NS, "1.2": mtom.SOAP12_ENV_NS}
SOAP_MEDIA: dict[str, str] = {"1.1": "text/xml", "1.2": "application/soap+xml"}
#: Accept header of the Python clients: JAX-WS RI answers a plain request with MTOM only when
#: the request's Accept lists application/xop+xml (scenario 1a).
ACCEPT: dict[str, str] = {
    "1.1": "application/xop+xml, text/xml, multipart/related",
    "1.2": "application/xop+xml, application/soap+xml, multipart/related",
}
CONTENT_LOCATION = "http://example.org/mtom/data/value-0.bin"
#: SOAP action the peer clients send (JAX-WS RI's SOAP 1.2 client puts it inside start-info,
#: with escaped quotes; gSOAP in an action parameter and a SOAPAction header).
PEER_CLIENT_ACTION = "urn:example:mtom:EchoTest"
#: Threshold that keeps every value inline (the Spyne "plain reply" endpoint).
NEVER = 1 << 62
REQUEST_TIMEOUT = 240.0


# --------------------------------------------------------------------------------------------
# Values


_PREFIX = b"\r\n\x00--uuid:not-a-boundary\r\nContent-Type: text/plain\r\n\r\n"
_SUFFIX = b"\r\n--\r\n"
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ValueSpec:
    """One Data value: ``size`` deterministic bytes from ``seed``, optional xmime:contentType.

    The bytes start and end with CR/LF and hold a boundary look-alike and NULs, which trip
    naive MIME code (line-end stripping, text-mode handling, boundary scanning).
    """

    size: int
    content_type: str | None
    seed: int

    def chunks(self) -> Iterator[bytes]:
        """The value, at most 1 MiB at a time."""
        if self.size <= len(_PREFIX) + len(_SUFFIX):
            yield (_PREFIX + _SUFFIX)[: self.size]
            return
        yield _PREFIX
        rng = random.Random(self.seed)
        left = self.size - len(_PREFIX) - len(_SUFFIX)
        while left > 0:  # bounded: left shrinks by at least 1 each turn
            n = min(left, _BLOCK)
            yield rng.randbytes(n)
            left -= n
        yield _SUFFIX

    def payload(self) -> bytes:
        if self.size > 16 * _BLOCK:
            raise ValueError("large values are written to files, not held in memory")
        return b"".join(self.chunks())

    @property
    def sha256(self) -> str:
        return _digest(self.size, self.seed)

    def write(self, path: Path) -> Path:
        """Write the value to ``path`` (skipped when a file of the right size is there)."""
        if not (path.is_file() and path.stat().st_size == self.size):
            tmp = path.with_suffix(".part")
            with open(tmp, "wb") as fh:
                for chunk in self.chunks():
                    fh.write(chunk)
            tmp.replace(path)
        return path

    @property
    def large_file(self) -> bool:
        """Sent from a file (streamed), never held in memory."""
        return self.size > 8 * _BLOCK

    def small(self) -> ValueSpec:
        """The same value cut to at most 600 bytes (for committed captures)."""
        return ValueSpec(min(self.size, 600), self.content_type, self.seed)

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "content_type": self.content_type}


@functools.lru_cache(maxsize=256)
def _digest(size: int, seed: int) -> str:
    h = hashlib.sha256()
    for chunk in ValueSpec(size, None, seed).chunks():
        h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    """One W3C scenario: the values sent, and whether each leg must be MTOM.

    ``failure`` is ``"dangling"`` or ``"content-location"`` for the negative cases (the
    request is a broken MTOM package; the answer must be a Sender/Client fault).
    """

    id: str
    title: str
    values: tuple[ValueSpec, ...]
    request_mtom: bool
    response_mtom: bool
    failure: str | None = None
    large: bool = False
    #: SwA instead of plain for that leg: values as MIME parts referenced by ``href="cid:"``
    #: (``multipart/related; type="text/xml"``), the way Apache Axis 1.x sends them.
    swa_request: bool = False
    swa_reply: bool = False

    def value_specs(self, *, small: bool = False) -> tuple[ValueSpec, ...]:
        return tuple(v.small() for v in self.values) if small else self.values


_IMG = "image/png"
_PDF = "application/pdf"

SCENARIOS: dict[str, Scenario] = {
    s.id: s
    for s in (
        Scenario("1a", "send plain XML, get MTOM back (one Data)",
                 (ValueSpec(3000, None, 11),), request_mtom=False, response_mtom=True),
        Scenario("1b", "send MTOM, get plain XML back (one Data)",
                 (ValueSpec(3000, None, 12),), request_mtom=True, response_mtom=False),
        Scenario("2a", "send plain XML, get MTOM back (several Data)",
                 (ValueSpec(2000, None, 21), ValueSpec(1, None, 22), ValueSpec(9000, None, 23)),
                 request_mtom=False, response_mtom=True),
        Scenario("2b", "send MTOM, get plain XML back (several Data)",
                 (ValueSpec(2000, None, 24), ValueSpec(1, None, 25), ValueSpec(9000, None, 26)),
                 request_mtom=True, response_mtom=False),
        Scenario("3a", "xmime:contentType in plain XML becomes the reply parts' Content-Type",
                 (ValueSpec(1500, _IMG, 31), ValueSpec(2500, _PDF, 32)),
                 request_mtom=False, response_mtom=True),
        Scenario("3b", "parts' Content-Type from xmime:contentType, back as the attribute",
                 (ValueSpec(1500, _IMG, 33), ValueSpec(2500, _PDF, 34)),
                 request_mtom=True, response_mtom=False),
        Scenario("dangling-include", "xop:Include naming no MIME part: Sender fault",
                 (ValueSpec(700, None, 41),), request_mtom=True, response_mtom=True,
                 failure="dangling"),
        Scenario("content-location", "xop:Include by Content-Location, not cid: Sender fault",
                 (ValueSpec(700, None, 42),), request_mtom=True, response_mtom=True,
                 failure="content-location"),
        Scenario("plain", "send plain XML, get plain XML back (no MTOM either way)",
                 (ValueSpec(2000, _IMG, 61), ValueSpec(700, None, 62)),
                 request_mtom=False, response_mtom=False),
        Scenario("swa-request", "SwA request as Axis sends it (href, xsi:type DataHandler), "
                 "plain reply", (ValueSpec(1500, _IMG, 71), ValueSpec(2500, None, 72)),
                 request_mtom=False, response_mtom=False, swa_request=True),
        Scenario("swa-reply", "plain request, SwA reply (href=\"cid:\" MIME parts)",
                 (ValueSpec(1500, _IMG, 73), ValueSpec(2500, None, 74)),
                 request_mtom=False, response_mtom=False, swa_reply=True),
        Scenario("large-64MiB", "one 64 MiB value, MTOM both ways, streamed",
                 (ValueSpec(64 * 1024 * 1024, "application/octet-stream", 51),),
                 request_mtom=True, response_mtom=True, large=True),
    )
}
W3C_IDS = ("1a", "1b", "2a", "2b", "3a", "3b")
FAILURE_IDS = ("dangling-include", "content-location")


# --------------------------------------------------------------------------------------------
# Directions


STACK_LABELS: dict[str, str] = {
    "zeep": "Zeep + zeep_mtom",
    "raw": "raw Python (mtom core + requests)",
    "jaxws": "JAX-WS RI",
    "gsoap": "gSOAP",
    "spyne": "Spyne + spyne_mtom",
    "nodesoap": f"node-soap {extra_peers.NODESOAP_VERSION}",
    "axis": "Apache Axis 1.4",
}


@dataclass(frozen=True)
class Direction:
    """A client stack talking to a server stack."""

    client: str
    server: str

    @property
    def id(self) -> str:
        return f"{self.client}-{self.server}"

    @property
    def label(self) -> str:
        return f"{STACK_LABELS[self.client]} → {STACK_LABELS[self.server]}"

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(s for s in (self.client, self.server) if s in extra_peers.ALL_PEERS)

    @property
    def adapters(self) -> tuple[str, ...]:
        out = []
        if self.client == "zeep":
            out.append("zeep_mtom")
        if self.server == "spyne":
            out.append("spyne_mtom")
        return tuple(out)

    @property
    def scenario_ids(self) -> tuple[str, ...]:
        if self.server == "nodesoap":  # node-soap's server has no MTOM: plain both ways only
            return ("plain",)
        ids: tuple[str, ...] = W3C_IDS
        if self.server == "axis":
            ids += ("swa-reply",)
        if self.client == "axis":
            ids += ("swa-request",)
        if self.client == "raw":
            ids += FAILURE_IDS
        if (self.client, self.server) in (("zeep", "jaxws"), ("jaxws", "spyne")):
            ids += ("large-64MiB",)
        return ids


DIRECTIONS: tuple[Direction, ...] = (
    Direction("zeep", "jaxws"),
    Direction("zeep", "gsoap"),
    Direction("zeep", "spyne"),
    Direction("raw", "jaxws"),
    Direction("raw", "gsoap"),
    Direction("raw", "spyne"),
    Direction("jaxws", "spyne"),
    Direction("gsoap", "spyne"),
    Direction("zeep", "nodesoap"),
    Direction("raw", "nodesoap"),
    Direction("nodesoap", "spyne"),
    Direction("zeep", "axis"),
    Direction("raw", "axis"),
    Direction("axis", "spyne"),
)

#: Known failures, (client, server, SOAP version, scenario) -> reason. A reason starting with
#: "BUG:" is a defect in this project's code; "PEER:" a third-party stack's deviation. The
#: tests mark these xfail(strict=True), so a fix shows up as an XPASS failure.
KNOWN_ISSUES: dict[tuple[str, str, str, str], str] = {}
_AXIS_REF = ("PEER: Apache Axis 1.4 writes its SOAP 1.2 attachment references as ref= instead "
             "of href= (an Axis bug; here <xop:Include ref=...>), which a conforming reader "
             "does not resolve")
for _sid in ("1b", "2b", "3b"):
    KNOWN_ISSUES[("axis", "spyne", "1.2", _sid)] = _AXIS_REF
for _client in ("zeep", "raw"):
    for _sid in ("1a", "2a", "3a"):
        KNOWN_ISSUES[(_client, "axis", "1.2", _sid)] = _AXIS_REF
KNOWN_ISSUES[("axis", "spyne", "1.2", "swa-request")] = _AXIS_REF.replace(
    "here <xop:Include ref=...>", "here <Data ref=\"cid:...\">")
for _client in ("zeep", "raw"):
    KNOWN_ISSUES[(_client, "axis", "1.2", "swa-reply")] = _AXIS_REF.replace(
        "here <xop:Include ref=...>", "here <Data ref=\"cid:...\">")
KNOWN_ISSUES[("raw", "axis", "*", "content-location")] = (
    "PEER: Apache Axis 1.4 resolves a reference by Content-Location (as the SwA Note allows) "
    "and echoes the value instead of rejecting the XOP package")


def known_issue(direction: Direction, version: str, scenario: Scenario) -> str | None:
    for key in ((direction.client, direction.server, version, scenario.id),
                (direction.client, direction.server, "*", scenario.id)):
        if key in KNOWN_ISSUES:
            return KNOWN_ISSUES[key]
    return None


@dataclass(frozen=True)
class Case:
    direction: Direction
    version: SoapVersion
    scenario: Scenario

    @property
    def id(self) -> str:
        return f"{self.direction.id}-soap{self.version.replace('.', '')}-{self.scenario.id}"


def cases(*, clients: Iterable[str] | None = None, servers: Iterable[str] | None = None,
          large: bool | None = False) -> list[Case]:
    """Every (direction, version, scenario) of the selected directions.

    ``large``: False (default) leaves the 64 MiB cases out, True keeps only them, None both.
    """
    cl = set(clients) if clients is not None else None
    sv = set(servers) if servers is not None else None
    out: list[Case] = []
    for d in DIRECTIONS:
        if (cl is not None and d.client not in cl) or (sv is not None and d.server not in sv):
            continue
        for sid in d.scenario_ids:
            s = SCENARIOS[sid]
            if large is not None and s.large != large:
                continue
            for v in VERSIONS:
                out.append(Case(d, v, s))
    return out


def adapter_missing(direction: Direction) -> str | None:
    """Why an adapter this direction needs cannot be used, or None."""
    for module, attr in (("zeep_mtom", "MtomTransport"), ("spyne_mtom", "Soap11Mtom")):
        if module not in direction.adapters:
            continue
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            return f"{module} not available ({exc})"
        if not hasattr(mod, attr):
            return f"{module} not available (no {attr} yet)"
    return None


def peer_missing(direction: Direction) -> str | None:
    """Why a live peer this direction needs is missing (naming the Debian packages), or None."""
    for name in direction.peers:
        reason = extra_peers.peer_available(name)
        if reason is not None:
            return f"{name} peer unavailable: {reason}"
    return None
