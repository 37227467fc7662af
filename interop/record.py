"""``python -m interop.record``: re-record ``interop/captures/`` from the live peers.

Runs the capture plan of :mod:`interop.scenarios` with a
:class:`~interop.capture.RecordingProxy` in between and writes each raw HTTP
message plus a JSON sidecar. Kept apart from :mod:`interop.capture` (the proxy
and the message parser), which imports nothing of the scenarios.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interop import extra_peers, peerctl, scenarios
from interop.capture import CAPTURES_DIR, HttpMessage

__all__ = ["capture", "main"]


def _write_capture(out_dir: Path, stem: str, message: HttpMessage, sidecar: dict[str, Any]) -> None:
    (out_dir / f"{stem}.http").write_bytes(message.raw)
    text = json.dumps(sidecar, indent=2, sort_keys=True) + "\n"
    (out_dir / f"{stem}.json").write_text(text, encoding="utf-8")


def capture(out_dir: Path = CAPTURES_DIR, *, peers: Sequence[str] = extra_peers.ALL_PEERS,
            verbose: bool = True) -> tuple[list[Path], list[str]]:
    """Run the capture scenarios against the live peers and write the files.

    Returns the sidecars written and the names of exchanges whose checks failed (they are
    written anyway, with the problems in the sidecar's ``checks``). Old ``.http``/``.json``
    files of the captured peers are removed first, so the folder holds exactly one run.
    """
    for name in peers:
        reason = extra_peers.peer_available(name)
        if reason is not None:
            raise peerctl.PeerError(f"cannot capture {name}: {reason}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in peers:
        for old in list(out_dir.glob(f"{name}-*.http")) + list(out_dir.glob(f"{name}-*.json")):
            old.unlink()
    versions = scenarios.peer_versions()
    written: list[Path] = []
    failed: list[str] = []
    with scenarios.Endpoints() as endpoints, scenarios.workdir() as work:
        for plan in scenarios.capture_plan(peers):
            direction, version, scenario = plan.direction, plan.version, plan.scenario
            outcome = scenarios.run_exchange(direction, version, scenario, endpoints, work,
                                             small=True)
            problems = scenarios.check_outcome(direction, version, scenario, outcome,
                                               small=True)
            wire = outcome.wire
            if wire is None or wire.response is None:
                raise RuntimeError(f"{plan.stem}: no HTTP exchange was recorded")
            message = wire.response if plan.role == "server" else wire.request
            if not message.complete:
                raise RuntimeError(f"{plan.stem}: the {plan.role} message was not recorded whole")
            peer = direction.server if plan.role == "server" else direction.client
            sidecar: dict[str, Any] = {
                "peer": peer,
                "peer_version": versions.get(peer, "?"),
                "role": plan.role,
                "direction": "response" if plan.role == "server" else "request",
                "exchange": f"{direction.client} -> {direction.server}",
                "soap_version": version,
                "scenario": scenario.id,
                "scenario_title": scenario.title,
                "path": urllib.parse.urlsplit(message.start_line.split(" ")[1]).path
                if message.is_request else None,
                "http_status": message.status,
                "content_type": message.content_type,
                "mtom": scenarios.is_mtom_content_type(message.content_type),
                "values": [v.as_json() for v in scenario.value_specs(small=True)],
                "fault": None,
                "checks": problems or "ok",
            }
            if scenario.failure is not None:
                fault = outcome.client.fault
                sidecar["fault"] = None if fault is None else {
                    "code": fault.code, "reason": fault.reason}
                sidecar["values"] = []
            _write_capture(out_dir, plan.stem, message, sidecar)
            written.append(out_dir / f"{plan.stem}.json")
            if problems:
                failed.append(plan.stem)
            if verbose:
                state = "ok" if not problems else "CHECKS FAILED: " + "; ".join(problems)
                print(f"{plan.stem}: {len(message.raw)} bytes ({state})", flush=True)
    return written, failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m interop.record",
        description="Record what the live peers send and answer into "
                    "interop/captures/ (raw HTTP plus a JSON sidecar per message).")
    parser.add_argument("--out", type=Path, default=CAPTURES_DIR)
    parser.add_argument("--peer", action="append", choices=extra_peers.ALL_PEERS,
                        help="capture only this peer (repeatable; default: all)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    files, failed = capture(args.out, peers=tuple(args.peer or extra_peers.ALL_PEERS))
    print(f"{len(files)} captures written to {args.out} in {time.monotonic() - started:.1f} s")
    if failed:
        print(f"{len(failed)} exchanges failed their checks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
