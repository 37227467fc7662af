"""The W3C MTOM CR echo scenarios, every direction they exist in, and a runner.

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
gSOAP and Spyne (``spyne_mtom.demo_service``, whose ``EchoTest`` is the W3C
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
import base64
import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree

import mtom
from interop import peerctl
from interop.capture import HttpExchange, HttpMessage, RecordingProxy
from interop.servers import serve_wsgi
from mtom.writer import PartSource

__all__ = [
    "DIRECTIONS",
    "KNOWN_ISSUES",
    "SCENARIOS",
    "Case",
    "ClientResult",
    "Direction",
    "Endpoints",
    "FaultInfo",
    "Outcome",
    "Scenario",
    "ValueResult",
    "ValueSpec",
    "WireView",
    "analyse_message",
    "cases",
    "check_outcome",
    "is_mtom_content_type",
    "peer_versions",
    "run_exchange",
    "serve_wsgi",
    "spyne_echo_wsgi",
]

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
        return tuple(s for s in (self.client, self.server) if s in peerctl.PEER_NAMES)

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
        ids: tuple[str, ...] = W3C_IDS
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
)

#: Known failures, (client, server, SOAP version, scenario) -> reason. A reason starting with
#: "BUG:" is a defect in this project's code; "PEER:" a third-party stack's deviation. The
#: tests mark these xfail(strict=True), so a fix shows up as an XPASS failure.
KNOWN_ISSUES: dict[tuple[str, str, str, str], str] = {}


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
        reason = peerctl.peer_available(name)
        if reason is not None:
            return f"{name} peer unavailable: {reason}"
    return None


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class FaultInfo:
    code: str
    reason: str
    subcodes: list[str] = field(default_factory=list)

    @property
    def is_sender(self) -> bool:
        """A Client (1.1) / Sender (1.2) fault, possibly with a dotted or sub code."""
        local = self.code.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        return local.split(".")[0] in ("Client", "Sender")


@dataclass
class ValueResult:
    size: int
    sha256: str
    content_type: str | None  # xmime:contentType as received
    part_content_type: str | None = None  # MIME part Content-Type (None: inline or unknown)
    inline: bool | None = None


@dataclass
class ClientResult:
    values: list[ValueResult] = field(default_factory=list)
    fault: FaultInfo | None = None
    error: str | None = None
    http_status: int | None = None
    response_content_type: str | None = None


@dataclass
class WireView:
    """What one recorded message says, decoded independently by the core reader."""

    mtom: bool
    values: list[ValueResult] | None  # None: not decodable (recorded only in part)
    fault: FaultInfo | None = None
    error: str | None = None


@dataclass
class Outcome:
    client: ClientResult
    wire: HttpExchange | None
    posts: int
    server_log: str
    elapsed: float
    peak_rss_growth: int | None = None
    #: Peak of Python allocations (tracemalloc) during the exchange; large cases only.
    python_peak: int | None = None


def is_mtom_content_type(value: str) -> bool:
    """``multipart/related`` with ``type="application/xop+xml"``."""
    try:
        ct = mtom.parse_content_type(value or "")
    except mtom.MtomError:
        return False
    return ct.media_type == "multipart/related" and (
        (ct.get("type") or "").split(";")[0].strip().lower() == "application/xop+xml")


def _fault_of(root: etree._Element) -> FaultInfo | None:
    ns = etree.QName(root).namespace
    body = root.find(f"{{{ns}}}Body")
    fault = body.find(f"{{{ns}}}Fault") if body is not None else None
    if fault is None:
        return None
    if ns == mtom.SOAP12_ENV_NS:
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""
        subs = [(v.text or "").strip() for sub in fault.iter(f"{{{ns}}}Subcode")
                for v in sub.findall(f"{{{ns}}}Value")]
        reason = fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return FaultInfo(code.strip(), reason.strip(), subs)
    return FaultInfo((fault.findtext("faultcode") or "").strip(),
                     (fault.findtext("faultstring") or "").strip())


def _values_of(root: etree._Element, xop: mtom.XopResult | None) -> list[ValueResult]:
    out: list[ValueResult] = []
    for el in root.iter(DATA):
        att = xop.value_of(el) if xop is not None else None
        ct = el.get(XMIME_CT)
        if att is not None:
            out.append(ValueResult(att.size, att.sha256(), ct, att.content_type, inline=False))
        else:
            raw = base64.b64decode((el.text or "").encode("ascii"), validate=False)
            out.append(ValueResult(len(raw), hashlib.sha256(raw).hexdigest(), ct, None,
                                   inline=True))
    return out


def decode_body(body: bytes | Iterable[bytes], content_type: str
                ) -> tuple[list[ValueResult], FaultInfo | None]:
    """Values and fault of a SOAP message body (MTOM, SwA or plain) via the core reader."""
    ct = mtom.parse_content_type(content_type or "text/xml")
    if ct.is_multipart:
        with mtom.read_package(body, ct, huge_tree=True) as package:
            root = package.root_element()
            xop = mtom.reconstitute(root, package)
            return _values_of(root, xop), _fault_of(root)
    data = body if isinstance(body, bytes) else b"".join(body)
    root = mtom.parse_xml(data, charset=ct.charset, huge_tree=True, what="message")
    return _values_of(root, None), _fault_of(root)


def analyse_message(message: HttpMessage) -> WireView:
    """Decode a recorded message with the core reader (when it was recorded whole)."""
    view = WireView(mtom=is_mtom_content_type(message.content_type), values=None)
    if not message.complete:
        return view
    try:
        view.values, view.fault = decode_body(message.body, message.content_type)
    except (mtom.MtomError, ValueError) as exc:
        view.error = f"{type(exc).__name__}: {exc}"
    return view


# --------------------------------------------------------------------------------------------
# Spyne: the W3C echo service (same shape as the JAX-WS and gSOAP peers) over waitress


def spyne_echo_wsgi(response_mtom: bool, store_dir: str | os.PathLike[str],
                    log: list[str] | None = None) -> Callable[..., Any]:
    """WSGI app: ``/echo11`` (SOAP 1.1) and ``/echo12`` (SOAP 1.2), the project's own demo.

    The endpoints are ``spyne_mtom.demo_service`` (its ``EchoTest`` is the W3C shape:
    document/literal bare, reply root ``EchoTest``, ``validator="lxml"``) with threshold 0
    (every value back as a MIME part) or :data:`NEVER` (every value inline). Uploads of the
    demo's other operations would go to ``store_dir``. Each POST's Content-Type is appended to
    ``log`` (like the peers' server logs).
    """
    from spyne_mtom.demo_service import wsgi_app

    threshold = 0 if response_mtom else NEVER
    apps = {f"/echo{v.replace('.', '')}": wsgi_app(v, threshold=threshold,
                                                    store_dir=os.fspath(store_dir))
            for v in VERSIONS}
    lines = log if log is not None else []

    def router(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = (environ.get("PATH_INFO") or "/").rstrip("/")
        app = apps.get(path)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such endpoint; use /echo11 or /echo12\n"]
        if environ.get("REQUEST_METHOD") == "POST":
            lines.append(f"[soap{path[-2:]}] request Content-Type: "
                         f"{environ.get('CONTENT_TYPE', '?')}")
        return app(environ, start_response)

    return router


# --------------------------------------------------------------------------------------------
# Servers


@dataclass
class Endpoint:
    """A running server of one stack in one reply mode."""

    server: str
    base_url: str
    log_source: Callable[[], str]

    def url(self, version: str) -> str:
        return f"{self.base_url}/echo{version.replace('.', '')}"

    def wsdl_url(self, version: str) -> str:
        return self.url(version) + "?wsdl"

    def log(self) -> str:
        return self.log_source()


class Endpoints:
    """Servers started on first use and stopped by :meth:`close`, whatever happens.

    ``get(server, response_mtom)``: JAX-WS RI with MTOM on/off, gSOAP in reply mode
    ``mtom``/``plain``, or the Spyne echo with threshold 0 / never.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._endpoints: dict[tuple[str, bool], Endpoint] = {}

    def get(self, server: str, response_mtom: bool) -> Endpoint:
        key = (server, response_mtom)
        if key in self._endpoints:
            return self._endpoints[key]
        if server == "spyne":
            lines: list[str] = []
            store = tempfile.mkdtemp(prefix="mtom-interop-spyne-")
            self._stack.callback(shutil.rmtree, store, True)
            app = spyne_echo_wsgi(response_mtom, store, lines)
            base = self._stack.enter_context(serve_wsgi(app))
            endpoint = Endpoint(server, base, lambda: "\n".join(lines) + "\n")
        elif server in peerctl.PEER_NAMES:
            if server == "jaxws":
                srv = peerctl.start_server("jaxws", mtom=response_mtom)
            else:
                srv = peerctl.start_server("gsoap", reply="mtom" if response_mtom else "plain")
            self._stack.callback(srv.stop)
            endpoint = Endpoint(server, srv.base_url, srv.log)
        else:
            raise ValueError(f"unknown server stack {server!r}")
        self._endpoints[key] = endpoint
        return endpoint

    def close(self) -> None:
        self._endpoints.clear()
        self._stack.close()

    def __enter__(self) -> Endpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for payload files, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="mtom-interop-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Clients


def _describe(exc: BaseException) -> str:
    """The exception and the last frames it passed through (where a bug would be)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__}: {exc} (at {where})"


def _value_path(work: Path, spec: ValueSpec) -> Path:
    return spec.write(work / f"value-{spec.size}-{spec.seed}.bin")


def _source(spec: ValueSpec, work: Path) -> bytes | Path:
    return _value_path(work, spec) if spec.large_file else spec.payload()


def _zeep_client(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                 endpoint: Endpoint, work: Path) -> ClientResult:
    import zeep
    from zeep.exceptions import Fault
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

    from zeep_mtom import MtomTransport

    transport = MtomTransport(mtom=scenario.request_mtom, threshold=0, stream_attachments=True,
                              timeout=60, operation_timeout=REQUEST_TIMEOUT)
    transport.session.headers["Accept"] = ACCEPT[version]
    try:
        client = zeep.Client(endpoint.wsdl_url(version), transport=transport)  # type: ignore[no-untyped-call]
        kind = Soap11Binding if version == "1.1" else Soap12Binding
        names = [n for n, b in client.wsdl.bindings.items() if type(b) is kind]
        if len(names) != 1:
            return ClientResult(error=f"WSDL has {len(names)} SOAP {version} bindings")
        service = client.create_service(names[0], url)  # type: ignore[no-untyped-call]
        data: list[dict[str, Any]] = []
        for spec in specs:
            item: dict[str, Any] = {"_value_1": _source(spec, work)}
            if spec.content_type is not None:
                item["contentType"] = spec.content_type
            data.append(item)
        try:
            reply = service.EchoTest(Data=data)
        except Fault as exc:
            return ClientResult(fault=FaultInfo(str(exc.code or ""), str(exc.message or ""),
                                                [str(s) for s in (exc.subcodes or [])]))
        items = getattr(reply, "Data", reply)
        if not isinstance(items, list):
            items = [items]
        values = []
        for item in items:
            raw = item["_value_1"]
            ct = item["contentType"] if "contentType" in item else None  # noqa: SIM401
            if isinstance(raw, mtom.Attachment):
                with raw:
                    values.append(ValueResult(raw.size, raw.sha256(), ct))
            else:
                blob = bytes(raw or b"")
                values.append(ValueResult(len(blob), hashlib.sha256(blob).hexdigest(), ct))
        last = transport.last_reply
        return ClientResult(values=values,
                            http_status=last.status_code if last is not None else None)
    except Exception as exc:  # reported as a check failure with the exception
        return ClientResult(error=_describe(exc))
    finally:
        transport.session.close()


def build_request(version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                  work: Path) -> tuple[dict[str, str], bytes | mtom.OutgoingPackage]:
    """The raw client's request: headers and a plain body or an MTOM package.

    Failure scenarios break the package on purpose: ``dangling`` points the first Include at
    a Content-ID no part has; ``content-location`` gives the first part a Content-Location
    and points the Include at that URL instead of its cid:.
    """
    env = ENV_NS[version]
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"s": env})
    body = etree.SubElement(root, f"{{{env}}}Body")
    echo = etree.SubElement(body, ECHO, nsmap={"x": DATA_NS, "xmime": mtom.XMIME_NS})
    elements: list[etree._Element] = []
    for spec in specs:
        el = etree.SubElement(echo, DATA)
        if spec.content_type is not None:
            el.set(XMIME_CT, spec.content_type)
        if not scenario.request_mtom:
            el.text = base64.b64encode(spec.payload()).decode("ascii")
        elements.append(el)
    headers = {"Accept": ACCEPT[version]}
    if version == "1.1":
        headers["SOAPAction"] = '""'
    if not scenario.request_mtom:
        headers["Content-Type"] = f"{SOAP_MEDIA[version]}; charset=utf-8"
        return headers, etree.tostring(root, xml_declaration=True, encoding="utf-8")
    sources: dict[etree._Element, PartSource] = {
        el: _source(spec, work) for el, spec in zip(elements, specs, strict=True)}
    if scenario.failure == "content-location":
        first = elements[0]
        part = mtom.OutgoingPart(sources.pop(first), content_type="application/octet-stream",
                                 headers=[("Content-Location", CONTENT_LOCATION)])
        mtom.include(first, part)
        first[0].set("href", CONTENT_LOCATION)
        parts = [part, *mtom.optimize(root, threshold=0, values=sources)]
    else:
        parts = mtom.optimize(root, threshold=0, values=sources)
        if scenario.failure == "dangling":
            elements[0][0].set("href", "cid:no-such-part-" + os.urandom(6).hex()
                               + "@interop.invalid")
    package = mtom.OutgoingPackage(etree.tostring(root, xml_declaration=True, encoding="utf-8"),
                                   parts, soap_version=version)
    headers.update(package.headers)
    return headers, package


def _raw_client(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                endpoint: Endpoint, work: Path) -> ClientResult:
    import requests

    try:
        headers, body = build_request(version, scenario, specs, work)
        data = body.stream() if isinstance(body, mtom.OutgoingPackage) else body
        with requests.post(url, data=data, headers=headers, stream=True,
                           timeout=(10, REQUEST_TIMEOUT)) as resp:
            ct = resp.headers.get("Content-Type", "")
            values, fault = decode_body(resp.iter_content(256 * 1024), ct)
            result = ClientResult(values=[] if fault else values, fault=fault,
                                  http_status=resp.status_code, response_content_type=ct)
        if fault is None and resp.status_code != 200:
            result.error = f"HTTP {resp.status_code} without a SOAP fault"
        return result
    except Exception as exc:
        return ClientResult(error=_describe(exc))


def _peer_client(name: str) -> Callable[..., ClientResult]:
    def call(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
             endpoint: Endpoint, work: Path) -> ClientResult:
        files: list[peerctl.ClientFile] = [(_value_path(work, s), s.content_type) for s in specs]
        try:
            out = peerctl.run_client(name, url, version, files, mtom=scenario.request_mtom,
                                     action=PEER_CLIENT_ACTION, timeout=REQUEST_TIMEOUT,
                                     check=False)
        except peerctl.PeerError as exc:
            return ClientResult(error=str(exc))
        result = ClientResult(response_content_type=out.get("response_content_type"))
        if out.get("fault"):
            f = out["fault"]
            result.fault = FaultInfo(str(f.get("code") or ""), str(f.get("string") or ""))
        elif not out.get("ok"):
            result.error = f"{name} client failed: {json.dumps(out)[:2000]}"
        for v in out.get("values", []):
            result.values.append(ValueResult(int(v["size"]), str(v["sha256"]),
                                             v.get("content_type"),
                                             v.get("attachment_type")))
        return result

    return call


CLIENTS: dict[str, Callable[..., ClientResult]] = {
    "zeep": _zeep_client,
    "raw": _raw_client,
    "jaxws": _peer_client("jaxws"),
    "gsoap": _peer_client("gsoap"),
}


# --------------------------------------------------------------------------------------------
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
    endpoint = endpoints.get(direction.server, scenario.response_mtom)
    log_before = len(endpoint.log())
    specs = scenario.value_specs(small=small)
    for spec in specs:  # files are written before anything is measured
        if spec.large_file or direction.client in peerctl.PEER_NAMES:
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
               specs: Sequence[ValueSpec] | None) -> list[str]:
    if message is None:
        return [f"no {name} was recorded"]
    ct = message.content_type
    view = analyse_message(message)
    problems = []
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
        if not must_be_mtom and v.inline is False:
            problems.append(f"{name}: value {i} was a MIME part, expected inline base64")
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
    problems += _check_leg("request", request, scenario.request_mtom, specs)
    problems += _check_leg("response", response, scenario.response_mtom, specs)
    if response is not None and response.status != 200:
        problems.append(f"response status {response.status}")
    if direction.server in peerctl.PEER_NAMES or direction.server == "spyne":
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
# Captures: which exchanges ``python -m interop.capture`` records


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
    plans: list[CapturePlan] = []
    for peer in peers:
        for v in VERSIONS:
            for sid in W3C_IDS + FAILURE_IDS:
                plans.append(CapturePlan(Direction("raw", peer), v, SCENARIOS[sid], "server"))
            for sid in W3C_IDS:
                plans.append(CapturePlan(Direction(peer, "spyne"), v, SCENARIOS[sid], "client"))
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
    parser.add_argument("--server", action="append", choices=("jaxws", "gsoap", "spyne"))
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
