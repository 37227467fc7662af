"""The W3C MTOM CR echo scenarios: running one exchange and checking it on the wire.

By responsibility: :mod:`interop.cases` (what is exchanged, in which
direction), :mod:`interop.servers` (waitress, the Spyne echo service, the
peers' endpoints), :mod:`interop.clients` (Zeep, the raw core client, the
peer clients), :mod:`interop.wire` (results and decoded messages), this module
(run, check, capture plan, versions, command line; it re-exports the names
the tests use) and :mod:`interop.record` (re-recording the captures).
:mod:`interop.capture` (the recording proxy) imports none of them.

Scenarios (W3C MTOM CR interop, 2004; see ``../shared/FACTS.md``): an echo
service whose ``EchoTest`` holds 1..n ``Data`` (``xs:base64Binary`` with an
optional ``xmime:contentType``) in ``http://example.org/mtom/data``.

====================  =====================================================
``1a`` / ``1b``       one Data: send plain XML, get MTOM back / the reverse
``2a`` / ``2b``       the same with several Data
``3a`` / ``3b``       Data with ``xmime:contentType``: it must become the
                      MIME part's Content-Type (and come back as attribute)
``dangling-include``  an ``xop:Include`` naming no part: a SOAP Sender fault
``content-location``  an Include referring to a part by Content-Location
                      instead of Content-ID: a SOAP Sender fault
``large-64MiB``       one 64 MiB value, MTOM both ways (JAX-WS only)
====================  =====================================================

Directions (:data:`DIRECTIONS`): Zeep with :class:`zeep_mtom.MtomTransport`
and a raw client (``mtom.optimize`` + :class:`mtom.OutgoingPackage` +
``requests``, replies through :class:`mtom.PackageReader`) against JAX-WS RI,
gSOAP and Spyne (``mtom_demo.service``, whose ``EchoTest`` is the W3C
shape, served by waitress on 127.0.0.1), and the JAX-WS RI and gSOAP clients
against Spyne; SOAP 1.1 and 1.2 each. Failure cases exist only for the raw
client: no well-behaved stack can be made to send a dangling Include.

:func:`run_exchange` runs one (direction, SOAP version, scenario) with a
:class:`~interop.capture.RecordingProxy` between client and server, so
:func:`check_outcome` judges the real wire: the request's and the response's
Content-Type (MTOM or not, as the scenario says), every value's sha256 as the
client got it *and* as it crossed the wire, each MIME part's Content-Type
against ``xmime:contentType``, and the line the peer server logged for the
request (the Content-Type it received). ``python -m interop.scenarios`` runs
them without pytest and prints a line per case.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from interop import extra_peers, peerctl
from interop.capture import HttpMessage, RecordingProxy
from interop.cases import (
    DATA_NS,
    DIRECTIONS,
    ENV_NS,
    FAILURE_IDS,
    KNOWN_ISSUES,
    SCENARIOS,
    SOAP_MEDIA,
    VERSIONS,
    W3C_IDS,
    Case,
    Direction,
    Scenario,
    SoapVersion,
    ValueSpec,
    adapter_missing,
    cases,
    known_issue,
    peer_missing,
)
from interop.clients import CLIENTS, _value_path
from interop.servers import Endpoints, serve_wsgi, spyne_echo_wsgi, workdir
from interop.wire import (
    ClientResult,
    FaultInfo,
    Outcome,
    ValueResult,
    WireView,
    analyse_message,
    decode_body,
    is_mtom_content_type,
)

__all__ = [
    "DATA_NS",
    "DIRECTIONS",
    "ENV_NS",
    "FAILURE_IDS",
    "KNOWN_ISSUES",
    "SCENARIOS",
    "SOAP_MEDIA",
    "VERSIONS",
    "W3C_IDS",
    "Case",
    "ClientResult",
    "Direction",
    "Endpoints",
    "FaultInfo",
    "Outcome",
    "Scenario",
    "SoapVersion",
    "ValueResult",
    "ValueSpec",
    "WireView",
    "adapter_missing",
    "analyse_message",
    "capture_plan",
    "cases",
    "check_outcome",
    "decode_body",
    "is_mtom_content_type",
    "known_issue",
    "peer_missing",
    "peer_versions",
    "run_exchange",
    "serve_wsgi",
    "spyne_echo_wsgi",
    "workdir",
]

# Running and checking one exchange


class RssSampler:
    """Peak growth of this process's resident set while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.base = self._rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm", "rb") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.base)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.peak = max(self.peak, self._rss())


def run_exchange(direction: Direction, version: SoapVersion, scenario: Scenario,
                 endpoints: Endpoints, work: Path, *, small: bool = False) -> Outcome:
    """Run one case through a recording proxy; never raises for what the stacks do."""
    endpoint = endpoints.get(direction.server, scenario.response_mtom, swa=scenario.swa_reply)
    log_before = len(endpoint.log())
    specs = scenario.value_specs(small=small)
    for spec in specs:  # files are written before anything is measured
        if spec.large_file or direction.client in extra_peers.ALL_PEERS:
            _value_path(work, spec)
    trace = scenario.large
    own_trace = trace and not tracemalloc.is_tracing()
    if own_trace:
        tracemalloc.start()
    elif trace:
        tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0] if trace else 0
    started = time.monotonic()
    try:
        with RssSampler() as rss, RecordingProxy.for_url(endpoint.base_url) as proxy:
            client = CLIENTS[direction.client](proxy.url(endpoint.url(version)), version,
                                               scenario, specs, endpoint, work)
        python_peak = tracemalloc.get_traced_memory()[1] - base if trace else None
    finally:
        if own_trace:
            tracemalloc.stop()
    posts = proxy.posts()
    return Outcome(client=client, wire=posts[-1] if posts else None, posts=len(posts),
                   server_log=endpoint.log()[log_before:], elapsed=time.monotonic() - started,
                   peak_rss_growth=rss.growth, python_peak=python_peak)


def _compare_values(where: str, got: Sequence[ValueResult], specs: Sequence[ValueSpec]
                    ) -> list[str]:
    if len(got) != len(specs):
        return [f"{where}: {len(got)} values, expected {len(specs)}"]
    problems = []
    for i, (g, s) in enumerate(zip(got, specs, strict=True)):
        if (g.size, g.sha256) != (s.size, s.sha256):
            problems.append(f"{where}: value {i} is {g.size} bytes sha256 {g.sha256[:16]}…, "
                            f"expected {s.size} bytes sha256 {s.sha256[:16]}…")
        if g.content_type != s.content_type:
            problems.append(f"{where}: value {i} has xmime:contentType {g.content_type!r}, "
                            f"expected {s.content_type!r}")
    return problems


def _check_leg(name: str, message: HttpMessage | None, must_be_mtom: bool,
               specs: Sequence[ValueSpec] | None, *, swa: bool = False) -> list[str]:
    if message is None:
        return [f"no {name} was recorded"]
    ct = message.content_type
    view = analyse_message(message)
    problems = []
    if swa and not ct.lower().startswith("multipart/related"):
        problems.append(f"{name} was not SwA (Content-Type: {ct}), expected multipart/related")
    if view.mtom != must_be_mtom:
        problems.append(f"{name} was {'MTOM' if view.mtom else 'not MTOM'} "
                        f"(Content-Type: {ct}), expected {'MTOM' if must_be_mtom else 'plain'}")
    if specs is None:  # a deliberately broken package: only its framing is judged
        return problems
    if view.error is not None:
        problems.append(f"{name} on the wire does not decode: {view.error}")
    if view.values is None:
        return problems
    problems += _compare_values(f"{name} on the wire", view.values, specs)
    for i, v in enumerate(view.values):
        if must_be_mtom and v.inline:
            problems.append(f"{name}: value {i} was inline base64, expected an xop:Include")
        if not must_be_mtom and not swa and v.inline is False:
            problems.append(f"{name}: value {i} was a MIME part, expected inline base64")
        if swa and v.inline is not False:
            problems.append(f"{name}: value {i} was inline base64, expected an SwA MIME part")
        if v.part_content_type is not None and v.content_type is not None:
            part_media = v.part_content_type.split(";")[0].strip().lower()
            if part_media != v.content_type.split(";")[0].strip().lower():
                problems.append(f"{name}: value {i} has xmime:contentType {v.content_type!r} "
                                f"but its MIME part is {v.part_content_type!r}")
    return problems


def check_outcome(direction: Direction, version: SoapVersion, scenario: Scenario,
                  outcome: Outcome, *, small: bool = False) -> list[str]:
    """Everything wrong with an exchange (empty: it passed)."""
    problems: list[str] = []
    client, wire = outcome.client, outcome.wire
    specs = scenario.value_specs(small=small)
    if client.error is not None:
        problems.append(f"client error: {client.error}")
    if outcome.posts != 1:
        problems.append(f"{outcome.posts} POST requests were recorded, expected 1")
    request = wire.request if wire is not None else None
    response = wire.response if wire is not None else None
    if scenario.failure is not None:
        if client.fault is None:
            problems.append("expected a SOAP fault, got "
                            + (f"{len(client.values)} values" if not client.error else "none"))
        elif not client.fault.is_sender:
            problems.append(f"fault code {client.fault.code!r} is not Client/Sender")
        problems += _check_leg("request", request, True, None)
        if response is not None and response.status not in (400, 500):
            problems.append(f"fault came with HTTP status {response.status}, expected 400/500")
        return problems
    if client.fault is not None:
        problems.append(f"unexpected SOAP fault {client.fault.code}: {client.fault.reason}")
    elif client.error is None:
        problems += _compare_values("client", client.values, specs)
    problems += _check_leg("request", request, scenario.request_mtom, specs,
                           swa=scenario.swa_request)
    problems += _check_leg("response", response, scenario.response_mtom, specs,
                           swa=scenario.swa_reply)
    if response is not None and response.status != 200:
        problems.append(f"response status {response.status}")
    if direction.server in extra_peers.ALL_PEERS or direction.server == "spyne":
        seen = [ln for ln in outcome.server_log.splitlines() if "request Content-Type:" in ln]
        if not seen:
            problems.append(f"{direction.server} server logged no request")
        else:
            got = seen[-1].split("request Content-Type:", 1)[1].strip()
            if is_mtom_content_type(got.split("; values:")[0]) != scenario.request_mtom:
                problems.append(f"{direction.server} server received Content-Type {got!r}")
    if direction.client == "gsoap" and scenario.response_mtom:
        for i, (v, s) in enumerate(zip(client.values, specs, strict=False)):
            want = s.content_type or "application/octet-stream"
            if v.part_content_type != want:
                problems.append(f"gSOAP client saw value {i} in a part of type "
                                f"{v.part_content_type!r}, expected {want!r}")
    return problems


# --------------------------------------------------------------------------------------------
# Captures: which exchanges ``python -m interop.record`` records


@dataclass(frozen=True)
class CapturePlan:
    direction: Direction
    version: SoapVersion
    scenario: Scenario
    role: str  # "server": keep the peer's response; "client": keep the peer's request

    @property
    def stem(self) -> str:
        peer = self.direction.server if self.role == "server" else self.direction.client
        kind = "reply" if self.role == "server" else "request"
        return f"{peer}-{kind}-soap{self.version.replace('.', '')}-{self.scenario.id}"


def capture_plan(peers: Sequence[str] = ("jaxws", "gsoap")) -> list[CapturePlan]:
    """The peers' server replies to the raw client and their client requests to Spyne, in
    every (small) scenario the matrix runs in that direction, known issues left out."""
    plans: list[CapturePlan] = []
    for peer in peers:
        for v in VERSIONS:
            legs = ((Direction("raw", peer), "server"), (Direction(peer, "spyne"), "client"))
            for d, role in legs:
                if d not in DIRECTIONS:
                    continue
                for sid in d.scenario_ids:
                    if not SCENARIOS[sid].large and known_issue(d, v, SCENARIOS[sid]) is None:
                        plans.append(CapturePlan(d, v, SCENARIOS[sid], role))
    return plans


# --------------------------------------------------------------------------------------------
# Versions of everything in the matrix


def _run(cmd: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def _dpkg_version(package: str) -> str | None:
    out = _run(["dpkg-query", "-W", "-f=${Version}", package])
    return out if out and "no packages found" not in out.lower() else None


def peer_versions() -> dict[str, str]:
    """Versions of the peers and of the Python stack (for the matrix and the sidecars)."""
    out: dict[str, str] = {}
    jar = peerctl.JAXWS_RT_JAR
    if jar.is_file():
        ver = "?"
        with contextlib.suppress(OSError, KeyError, zipfile.BadZipFile):
            with zipfile.ZipFile(jar) as zf:
                manifest = zf.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
            m = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.M)
            ver = m.group(1) if m else "?"
        deb = _dpkg_version("libjaxws-java")
        out["jaxws"] = f"JAX-WS RI {ver}" + (f" (Debian libjaxws-java {deb})" if deb else "")
    java = _run(["java", "-version"]).splitlines()
    if java:
        out["java"] = java[0] + (f"; {java[1]}" if len(java) > 1 else "")
    deb = _dpkg_version("gsoap")
    if deb:
        out["gsoap"] = f"gSOAP {deb.split('-')[0]} (Debian gsoap {deb})"
    deb = _dpkg_version("libaxis-java")
    if deb:
        out["axis"] = f"Apache Axis 1.4 (Debian libaxis-java {deb}; JavaMail " \
            f"{_dpkg_version('libmail-java') or '?'})"
    nodesoap = extra_peers._installed_nodesoap()
    if nodesoap is not None:
        node = _run(["node", "--version"])
        out["nodesoap"] = f"node-soap {nodesoap} (npm soap; Node.js {node or '?'})"
    out["python"] = f"Python {platform.python_version()}"
    for dist in ("soap-mtom", "zeep", "spyne", "lxml", "requests", "waitress"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = f"{dist} {importlib.metadata.version(dist)}"
    return out


# --------------------------------------------------------------------------------------------
# Command line: python -m interop.scenarios [--client X] [--server Y] [--large]


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.scenarios",
                                     description="Run the MTOM interop scenarios without pytest.")
    parser.add_argument("--client", action="append", choices=sorted(CLIENTS))
    parser.add_argument("--server", action="append", choices=(*extra_peers.ALL_PEERS, "spyne"))
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--version", action="append", choices=VERSIONS)
    parser.add_argument("--large", action="store_true", help="include the 64 MiB cases")
    args = parser.parse_args(argv)
    selected = [c for c in cases(clients=args.client, servers=args.server,
                                 large=None if args.large else False)
                if (not args.scenario or c.scenario.id in args.scenario)
                and (not args.version or c.version in args.version)]
    failed = 0
    with Endpoints() as endpoints, workdir() as work:
        for case in selected:
            missing = adapter_missing(case.direction) or peer_missing(case.direction)
            if missing:
                print(f"SKIP {case.id}: {missing}")
                continue
            outcome = run_exchange(case.direction, case.version, case.scenario, endpoints, work)
            problems = check_outcome(case.direction, case.version, case.scenario, outcome)
            known = known_issue(case.direction, case.version, case.scenario)
            state = "PASS" if not problems else ("XFAIL" if known else "FAIL")
            failed += state == "FAIL"
            print(f"{state} {case.id} ({outcome.elapsed:.1f} s)"
                  + "".join(f"\n    {p}" for p in problems), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
