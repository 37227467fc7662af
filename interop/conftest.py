"""Fixtures of the interop suite: servers shared by a session, and the scenario runner.

Servers (JAX-WS RI, gSOAP, the Spyne echo) start on first use and are stopped at the end of
the session whatever happens (:class:`interop.scenarios.Endpoints`). A case whose adapter
(``zeep_mtom``, ``spyne_mtom``) is missing is skipped saying so; a case whose live peer is
missing is skipped naming the Debian packages to install — or fails when
``MTOM_INTEROP_REQUIRE=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from interop import extra_peers, peerctl, scenarios

MIB = 1024 * 1024
#: Bytes that trip naive MIME/XML handling: CR/LF at both ends, NUL, a boundary look-alike.
PAYLOAD = b"\r\n" + bytes(range(256)) + b"\r\n--uuid:not-a-boundary--\r\n"
#: Peak of Python allocations (tracemalloc) allowed in this process during a 64 MiB exchange.
#: Zeep streams the value from a file and spools the reply: the value must never be in memory
#: (what is allowed covers the proxy's 2 x 4 MiB recording and parts below the 4 MiB spool
#: threshold). The Spyne echo's model is a ``ByteArray``, which holds the value in memory once.
LARGE_PYTHON_PEAK_LIMIT: dict[str, int] = {
    "zeep-jaxws": 48 * MIB,
    "jaxws-spyne": 96 * MIB,
}
#: Peak RSS growth of the process (allocator slack and all): a coarse guard only.
LARGE_RSS_LIMIT: dict[str, int] = {
    "zeep-jaxws": 128 * MIB,
    "jaxws-spyne": 320 * MIB,
}


def case_param(case: scenarios.Case) -> Any:
    """``pytest.param`` for a case, with its marks (live, slow, known issue as strict xfail)."""
    marks: list[Any] = []
    if case.direction.peers:
        marks.append(pytest.mark.live)
    if case.scenario.large:
        marks.append(pytest.mark.slow)
    known = scenarios.known_issue(case.direction, case.version, case.scenario)
    if known is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=known))
    return pytest.param(case, id=case.id, marks=marks)


def require_case(case: scenarios.Case) -> None:
    """Skip (or fail, with MTOM_INTEROP_REQUIRE=1 for peers) when something is missing."""
    require_adapter(case.direction)
    reason = scenarios.peer_missing(case.direction)
    if reason is not None:
        peer_missing(reason)


def peer_missing(reason: str) -> NoReturn:
    """Skip for a missing live peer, or fail when ``MTOM_INTEROP_REQUIRE=1``."""
    if peerctl.interop_required():
        pytest.fail(reason + " [MTOM_INTEROP_REQUIRE=1]")
    pytest.skip(reason)


def assert_missing_peer_skips_or_fails(monkeypatch: pytest.MonkeyPatch, case: scenarios.Case,
                                       match: str) -> None:
    """With a peer of ``case`` made unavailable by the caller: :func:`require_case` skips
    (message matching ``match``), and fails under ``MTOM_INTEROP_REQUIRE=1``."""
    monkeypatch.delenv("MTOM_INTEROP_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception, match=match):
        require_case(case)
    monkeypatch.setenv("MTOM_INTEROP_REQUIRE", "1")
    with pytest.raises(pytest.fail.Exception, match="MTOM_INTEROP_REQUIRE=1"):
        require_case(case)


def require_peer(name: str) -> None:
    """Skip (or, with ``MTOM_INTEROP_REQUIRE=1``, fail) when a live peer cannot run, naming
    what to install."""
    reason = extra_peers.peer_available(name)
    if reason is not None:
        peer_missing(f"{name} peer unavailable: {reason}")


def require_adapter(direction: scenarios.Direction) -> None:
    """Skip when an adapter a direction needs (``zeep_mtom``, ``spyne_mtom``) is missing."""
    missing = scenarios.adapter_missing(direction)
    if missing is not None:
        pytest.skip(missing)


def peer_server(name: str, **options: Any) -> Iterator[peerctl.PeerServer]:
    """The body of a peer's server fixture (``yield from peer_server(...)``): requires the
    peer, serves it with ``options`` (see :func:`interop.peerctl.serving` and
    :func:`interop.extra_peers.serving`) and checks it is stopped afterwards."""
    require_peer(name)
    serving = extra_peers.serving if name in extra_peers.EXTRA_PEER_NAMES else peerctl.serving
    with serving(name, **options) as srv:
        yield srv
    assert not srv.alive()


@pytest.fixture(scope="session")
def interop_endpoints() -> Iterator[scenarios.Endpoints]:
    with scenarios.Endpoints() as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def interop_workdir() -> Iterator[Path]:
    with scenarios.workdir() as path:
        yield path


RunCase = Callable[[scenarios.Case], scenarios.Outcome]


@pytest.fixture
def run_case(interop_endpoints: scenarios.Endpoints, interop_workdir: Path,
             record_property: Callable[[str, object], None]) -> RunCase:
    """``run_case(case)``: run one exchange, assert it passed every check, return it.

    The case's coordinates go into the test report (junit properties), which
    ``python -m interop.matrix`` turns into ``docs/interop.md``.
    """

    def run(case: scenarios.Case) -> scenarios.Outcome:
        record_property("client", case.direction.client)
        record_property("server", case.direction.server)
        record_property("soap_version", case.version)
        record_property("scenario", case.scenario.id)
        require_case(case)
        outcome = scenarios.run_exchange(case.direction, case.version, case.scenario,
                                         interop_endpoints, interop_workdir)
        record_property("elapsed", f"{outcome.elapsed:.2f}")
        if outcome.peak_rss_growth is not None:
            record_property("peak_rss_growth", outcome.peak_rss_growth)
        if outcome.python_peak is not None:
            record_property("python_peak", outcome.python_peak)
        problems = scenarios.check_outcome(case.direction, case.version, case.scenario, outcome)
        if case.scenario.large:
            limit = LARGE_PYTHON_PEAK_LIMIT.get(case.direction.id)
            peak = outcome.python_peak or 0
            if limit is not None and peak > limit:
                problems.append(f"Python allocations peaked at {peak / MIB:.0f} MiB during the "
                                f"exchange (limit {limit / MIB:.0f} MiB)")
            limit = LARGE_RSS_LIMIT.get(case.direction.id)
            growth = outcome.peak_rss_growth or 0
            if limit is not None and growth > limit:
                problems.append(f"peak RSS grew by {growth / MIB:.0f} MiB during the "
                                f"exchange (limit {limit / MIB:.0f} MiB)")
        assert not problems, f"{case.id}:\n  " + "\n  ".join(problems)
        return outcome

    return run
