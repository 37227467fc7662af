"""Write ``docs/interop.md``: the interop matrix, from a real run of the scenario suite.

``python -m interop.matrix`` runs ``pytest`` on ``interop/test_scenarios_peers.py``,
``test_scenarios_spyne.py``, ``test_scenarios_large.py``, ``test_scenarios_policy.py`` and
``test_captures_replay.py`` with a junit XML report (each scenario test records its client,
server, SOAP version and scenario as junit properties; see ``interop/conftest.py``), then
renders stack x direction x SOAP version x scenario with pass / fail / known issue / skip,
the versions of every peer and Python package, and the notes below. ``--junit FILE`` renders
an existing report instead of running. Exit status: 1 when any case failed (the page is
written anyway).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from interop import scenarios

__all__ = ["CaseResult", "main", "parse_junit", "render", "run_suite"]

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "interop.md"
TEST_FILES = (
    "interop/test_scenarios_peers.py",
    "interop/test_scenarios_spyne.py",
    "interop/test_scenarios_large.py",
    "interop/test_scenarios_policy.py",
    "interop/test_captures_replay.py",
    "interop/test_peers_nodesoap.py",
    "interop/test_peers_axis.py",
    "interop/test_captures_known.py",
)
SUITE_TIMEOUT = 900.0

SYMBOL = {"pass": "✅", "fail": "❌", "xfail": "⚠️", "skip": "⏭️", "xpass": "❌"}


@dataclass
class CaseResult:
    """One junit testcase."""

    name: str
    classname: str
    outcome: str  # pass | fail | skip | xfail
    message: str = ""
    time: float = 0.0
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str] | None:
        p = self.properties
        if not {"client", "server", "soap_version", "scenario"} <= p.keys():
            return None
        return p["client"], p["server"], p["soap_version"], p["scenario"]


def parse_junit(path: Path) -> list[CaseResult]:
    """Every testcase of a pytest junit XML report."""
    tree = ET.parse(path)
    out: list[CaseResult] = []
    for tc in tree.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        outcome, message = "pass", ""
        for child in tc:
            tag = child.tag
            text = (child.get("message") or child.text or "").strip()
            if tag in ("failure", "error"):
                outcome, message = "fail", text
            elif tag == "skipped":
                kind = child.get("type", "")
                outcome = "xfail" if kind == "pytest.xfail" else "skip"
                message = text
        out.append(CaseResult(tc.get("name", ""), tc.get("classname", ""), outcome, message,
                              float(tc.get("time") or 0.0), props))
    return out


def run_suite(junit: Path) -> tuple[int, float]:
    """Run the suite into ``junit``; return pytest's exit code and the wall time."""
    cmd = [sys.executable, "-m", "pytest", *TEST_FILES, "-q", "-rN", "-p", "no:cacheprovider",
           f"--junitxml={junit}", "-o", "junit_family=xunit1"]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=ROOT, timeout=SUITE_TIMEOUT, check=False)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = 124
    return code, time.monotonic() - started


def _short(text: str, limit: int = 400) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _cell(result: CaseResult | None) -> str:
    if result is None:
        return "—"
    return SYMBOL.get(result.outcome, "?")


NOTES = """\
## What each case checks

Every exchange runs through a recording TCP proxy on 127.0.0.1 between client and server
(`interop/capture.py`), so the checks judge what really crossed the wire:

- the client got every value back byte-exact (size and sha256) with its `xmime:contentType`;
- the request and the response were MTOM (`multipart/related; type="application/xop+xml"`,
  every `Data` an `xop:Include`) or plain SOAP (inline base64) exactly as the scenario says;
- decoded independently by the core reader, every value on the wire has the right sha256, and
  every MIME part of a value carrying `xmime:contentType` has that Content-Type (3a/3b);
- the server logged the Content-Type it received (the peer servers' logs for JAX-WS RI, gSOAP,
  node-soap and Axis,
  a WSGI wrapper for Spyne) and it agrees;
- failure cases (a dangling `xop:Include`; a reference by Content-Location instead of cid:) are
  answered with a SOAP Client/Sender fault, HTTP 400 or 500;
- SwA legs (`swa-request`, `swa-reply`, Apache Axis only) are `multipart/related` but not XOP,
  every value a MIME part referenced by `href="cid:…"`; `plain` (node-soap's server) has no
  MIME either way.

The 64 MiB cases stream the value from a file (Zeep: a `pathlib.Path` value, reply parts
spooled to disk; the JAX-WS RI client reads its file) and bound the peak of Python allocations
(tracemalloc) in the Python process during the exchange: Zeep → JAX-WS 48 MiB (the value must
never be in memory; the recording proxy alone keeps 2 x 4 MiB), JAX-WS → Spyne 96 MiB (the
echo's model is a Spyne `ByteArray`, which holds the value in memory once). Peak RSS growth is
recorded too, with a coarse bound (allocator slack makes it noisy).

## Directions and shapes

- *raw Python* is the lowest layer: a request built with `mtom.optimize` +
  `mtom.OutgoingPackage`, sent with `requests`, the reply read with `mtom.PackageReader` +
  `mtom.reconstitute`. It is the only client that can send the broken packages of the failure
  cases; Zeep and the peer clients never send a dangling Include, so those cells are "—".
- The Spyne server is the project's own demo, `mtom_demo.service` (its `EchoTest` is the
  W3C shape: document/literal bare, `EchoTest` in and out, `Soap11Mtom`/`Soap12Mtom` with
  `validator="lxml"`), with threshold 0 for the "MTOM back" scenarios and never for the
  "plain back" ones, served by waitress on 127.0.0.1 (`/echo11`, `/echo12`).
- JAX-WS RI answers MTOM only to an MTOM request or to one whose `Accept` lists
  `application/xop+xml`; the Python clients send that `Accept` (scenario 1a; for Zeep it is set
  on `transport.session.headers`, as `zeep_mtom` does not add it by itself). For the "plain
  back" scenarios a second JAX-WS server runs with MTOM off; gSOAP runs in reply mode `mtom` or
  `plain`.
- node-soap (`interop/peers/nodesoap/`, issue #11): its server cannot read or write MTOM, so
  Python clients run `plain` against it; a Zeep MTOM request to it gets node-soap's own
  Fault as zeep's `Fault` (item 4, `test_peers_nodesoap.py`). Its client sends MTOM through
  node-soap's own `forceMTOM` + `attachments` (the script writes the `xop:Include`) and runs
  1a-3b against Spyne.
- Apache Axis 1.4 (`interop/peers/axis/`, issue #11): the Axis engine behind the JDK's HTTP
  server, with a message-style echo whose reply values are `DataHandler`s, which Axis itself
  serialises: reply mode `plain` for the "plain back" scenarios, Axis's MTOM (`xop:Include`)
  for the "MTOM back" ones, SwA for `swa-reply`. Its client (Axis `Call`, values as
  `DataHandler`s) sends Axis's MTOM for 1b-3b and its default SwA (with
  `xsi:type="ns1:DataHandler"`) for `swa-request`; SwA without the type attribute, DIME both
  ways, Axis's own `?wsdl` and the peer against itself in every format are in
  `test_peers_axis.py`.

## Found by this suite

- The 64 MiB JAX-WS RI → Spyne case peaked at 132 MiB of Python allocations (2x the value):
  `mtom.Attachment` kept an in-memory part as a list of chunks and joined them in `finish()`,
  so both coexisted (and a spooled part read back with `read()` also peaked at 2x). Fixed in
  the core (one growing buffer; one `pread` into one `bytes`); the case now peaks near 1x.

## Peer behaviour seen on the wire (not defects of this project)

- JAX-WS RI sends its faults as MTOM packages when MTOM is on, and answers a SOAP 1.2 Sender
  fault with HTTP 500 (the SOAP 1.2 HTTP binding says 400). It writes `Content-Id`, no CRLF after
  the closing delimiter, no spaces between Content-Type parameters, and replies chunked. Its SOAP
  1.2 client puts the action inside `start-info` with escaped quotes.
- gSOAP reuses the request's `start` as its root Content-ID (its client uses
  `<SOAP-ENV:Envelope>`), puts `charset` on the multipart type, uses the same boundary on every
  process start, and never sends a fault as MTOM. Its client accepts only `EchoTest` as the reply
  root.
- Both reject both failure cases themselves (JAX-WS RI only because the peer's `Echo.java` turns
  the null value the RI hands over into a fault; gSOAP: "MIME href to missing attachment").

- node-soap 1.13.0's server has no MTOM or SwA: Python clients talk to it in plain SOAP only
  (scenario `plain`). Its reply to an MTOM request is a plain SOAP 1.1 Fault ("Invalid XML",
  with a WS-Security Timestamp header) labelled with the request's own `multipart/related`
  Content-Type (issue #11 item 4). Its client labels the root part and `start-info` `text/xml`
  even for SOAP 1.2, does not resolve `xop:Include` in replies (the project's client script
  does, from `mtomAttachments`) and sends `Accept: text/html,…`.
- Apache Axis 1.4 (Debian `libaxis-java`, JavaMail 1.6): its MTOM writes `xop:Include`
  (SOAP 1.1) with `start-info="text/xml; charset=utf-8"` and a folded Content-Type; its SOAP
  1.2 writes `ref=` instead of `href=` (on `xop:Include` and on SwA elements) — a known Axis
  bug, listed as `PEER:` known issues. Every SwA/MTOM body starts with a `Date:` line before
  the first delimiter, which Axis's Content-Length does not count: the harness sends chunked
  (client) or counts the bytes written (server). Axis resolves a reference by Content-Location
  (allowed by the SwA Note), so it accepts the W3C Content-Location failure case. Its SwA
  reference elements carry `xsi:type="ns1:DataHandler"` unless the type attribute is turned off.

## Captures

`python -m interop.record` re-records `interop/captures/`: the peers' server replies (to the
raw client) and client requests (to the Spyne echo) in every scenario the matrix runs in that
direction, known issues left out — JAX-WS RI and gSOAP: 1a-3b and the failure cases; node-soap:
its client's requests 1a-3b and its server's `plain` replies; Axis: its client's requests and
its server's replies (SOAP 1.1: 1a-3b, `swa-reply`, dangling-include; SOAP 1.2: what its `ref=`
bug leaves) — SOAP 1.1 and 1.2, values cut to 600 bytes. Each `.http` file is the exact bytes
(chunked framing kept) with a `.json` sidecar (peer, peer version, SOAP version, scenario,
direction, sha256 of every value). `interop/test_captures_replay.py` runs them in the regular
test run, with no Java, gSOAP or Node.js:
through the core reader, replies through Zeep + `zeep_mtom` as HTTP replies (requests-mock),
requests through Spyne + `spyne_mtom` over HTTP.

`python -m interop.record_known` records the node-soap and Axis messages behind issue #11's
items 2-4 (node-soap's plain Fault labelled `multipart/related`, Axis SwA with
`xsi:type="ns1:DataHandler"`, Axis DIME request and reply) into `interop/captures/known/`;
`interop/test_captures_known.py` replays them; an item not done yet is a strict xfail (Zeep's
side of items 2-4 is done: node-soap's Fault reaches Zeep as `Fault`, a DIME reply raises
`mtom.DimeNotSupported`, Axis's own `?wsdl` loads, `apachesoap:DataHandler` being binary).

## Mono WCF: not a row

Mono 6.8's WCF (`mono-mcs libmono-system-servicemodel4.0a-cil`; not installed for this suite,
behaviour as recorded in the project's `FACTS.md`) is not a reference peer: its
MTOM HTTP framing is malformed — the HTTP `Content-Type` carries no boundary, and the body begins
with `MIME-Version` and the real multipart Content-Type, as if a whole MIME entity had been put
in the HTTP body — and its server crashes on bad input. Accepting that would mean sniffing a
boundary from a body that starts with MIME headers, for one implementation nobody runs in
production; .NET Framework WCF (what users actually meet) is covered by the WCF-style messages
of `interop/styles.py` and the captured corpus instead.

## Regenerating

```
python -m interop.peerctl check    # which peers are usable (install: sh interop/peers/install.sh)
python -m interop.extra_peers check  # the same for node-soap and Apache Axis 1.4
python -m interop.record          # re-record interop/captures/ (needs every peer; --peer X)
python -m interop.record_known     # re-record interop/captures/known/ (node-soap, Axis)
python -m interop.matrix           # run the suite and rewrite this page
```
"""


def render(results: Sequence[CaseResult], versions: dict[str, str], *, wall: float | None,
           exit_code: int | None, when: str) -> str:
    """The Markdown page."""
    by_key = {r.key: r for r in results if r.key is not None}
    scenario_cases = list(by_key.values())
    replays = [r for r in results if r.key is None and "captures_replay" in r.classname]
    counts = {k: sum(1 for r in scenario_cases if r.outcome == k)
              for k in ("pass", "fail", "xfail", "skip")}
    lines = ["# Interop matrix", "",
             f"Generated by `python -m interop.matrix` on {when} from a run of "
             f"{', '.join(f'`{t}`' for t in TEST_FILES)}"
             + (f" ({wall:.0f} s wall time, pytest exit code {exit_code})" if wall else "")
             + ". Do not edit by hand: rerun the command.", ""]
    lines += ["## Stacks", "", "| Component | Version |", "|---|---|"]
    labels = {"jaxws": "JAX-WS RI (peer)", "java": "Java", "gsoap": "gSOAP (peer)",
              "nodesoap": "node-soap (peer)", "axis": "Apache Axis (peer)", "python": "Python"}
    for key, value in versions.items():
        lines.append(f"| {labels.get(key, key)} | {value} |")
    lines += ["", "## Summary", "",
              f"{len(scenario_cases)} scenario cases: {counts['pass']} passed, "
              f"{counts['fail']} failed, {counts['xfail']} known issues (xfail), "
              f"{counts['skip']} skipped."]
    if replays:
        rc = {k: sum(1 for r in replays if r.outcome == k)
              for k in ("pass", "fail", "xfail", "skip")}
        lines.append(f"Replay of the committed peer captures: {len(replays)} tests, "
                     f"{rc['pass']} passed, {rc['fail']} failed, {rc['xfail']} known issues, "
                     f"{rc['skip']} skipped.")
    others = [r for r in results if r.key is None and r not in replays]
    policy = [r for r in others if "scenarios_policy" in r.classname]
    peer_checks = [r for r in others if r not in policy]
    if policy:
        oc = {k: sum(1 for r in policy if r.outcome == k) for k in ("pass", "fail", "skip")}
        lines.append(f"Zeep's default transport following each WSDL's MTOM policy "
                     f"(`test_scenarios_policy.py`): {len(policy)} tests, {oc['pass']} passed, "
                     f"{oc['fail']} failed, {oc['skip']} skipped.")
    if peer_checks:
        pc = {k: sum(1 for r in peer_checks if r.outcome == k)
              for k in ("pass", "fail", "xfail", "skip")}
        lines.append(f"node-soap and Apache Axis checks outside the grid (their own clients and "
                     f"formats, wire facts, issue #11 items, live and replayed; "
                     f"`test_peers_nodesoap.py`, `test_peers_axis.py`, "
                     f"`test_captures_known.py`): {len(peer_checks)} tests, {pc['pass']} passed, "
                     f"{pc['fail']} failed, {pc['xfail']} known issues, {pc['skip']} skipped.")
    lines += ["", "Legend: ✅ pass · ❌ fail · ⚠️ known issue (strict xfail; see below) · "
              "⏭️ skipped (see below) · — not applicable.", ""]
    ids = list(scenarios.SCENARIOS)
    lines += ["## Results", "",
              "| Client → server | SOAP | " + " | ".join(ids) + " |",
              "|---|---|" + "---|" * len(ids)]
    for d in scenarios.DIRECTIONS:
        for v in scenarios.VERSIONS:
            cells = []
            for sid in ids:
                if sid not in d.scenario_ids:
                    cells.append("—")
                    continue
                cells.append(_cell(by_key.get((d.client, d.server, v, sid))))
            lines.append(f"| {d.label} | {v} | " + " | ".join(cells) + " |")
    lines += ["", "Scenarios:", ""]
    for s in scenarios.SCENARIOS.values():
        lines.append(f"- **{s.id}**: {s.title}")
    large = [r for r in scenario_cases if r.key is not None and r.key[3] == "large-64MiB"
             and "peak_rss_growth" in r.properties]
    if large:
        lines += ["", "64 MiB cases on this machine (memory of the Python process, which "
                  "runs the Zeep client or the Spyne server, during the exchange):", "",
                  "| Case | Result | Time | Peak Python allocations | Peak RSS growth |",
                  "|---|---|---|---|---|"]
        for r in sorted(large, key=lambda r: r.name):
            growth = int(r.properties["peak_rss_growth"]) / 2**20
            peak = r.properties.get("python_peak")
            peak_text = f"{int(peak) / 2**20:.0f} MiB" if peak else "?"
            lines.append(f"| `{r.name}` | {SYMBOL[r.outcome]} "
                         f"| {float(r.properties.get('elapsed', r.time)):.1f} s "
                         f"| {peak_text} | {growth:.0f} MiB |")
    problems = [r for r in scenario_cases + replays + others
                if r.outcome in ("fail", "xfail")]
    lines += ["", "## Failures and known issues", ""]
    if not problems:
        lines.append("None in this run.")
    for r in problems:
        lines.append(f"- {SYMBOL[r.outcome]} `{r.name}`: {_short(r.message)}")
    skipped = [r for r in scenario_cases + replays + others if r.outcome == "skip"]
    if skipped:
        reasons: dict[str, int] = {}
        for r in skipped:
            reasons[_short(r.message, 300)] = reasons.get(_short(r.message, 300), 0) + 1
        lines += ["", "## Skipped", ""]
        lines += [f"- {n} cases: {reason}" for reason, n in reasons.items()]
    lines += ["", NOTES]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.matrix",
                                     description="Run the interop suite; write docs/interop.md.")
    parser.add_argument("--junit", type=Path, help="render this junit XML instead of running")
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args(argv)
    wall: float | None = None
    code: int | None = None
    if args.junit is not None:
        results = parse_junit(args.junit)
    else:
        fd, name = tempfile.mkstemp(prefix="interop-junit-", suffix=".xml")
        os.close(fd)
        junit = Path(name)
        try:
            code, wall = run_suite(junit)
            results = parse_junit(junit) if junit.stat().st_size else []
        finally:
            junit.unlink(missing_ok=True)
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = render(results, scenarios.peer_versions(), wall=wall, exit_code=code, when=when)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    failed = sum(1 for r in results if r.outcome == "fail")
    print(f"wrote {args.out}: {len(results)} tests, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
