"""What happens when node-soap or Axis is missing: a skip naming what to install, or a failure
with ``MTOM_INTEROP_REQUIRE=1`` (no peer is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from interop import conftest, extra_peers
from interop import scenarios as S


def test_nodesoap_missing_package_names_the_install(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(extra_peers, "NPM_DIR", tmp_path / "npm")
    monkeypatch.setattr(extra_peers, "_node_version", lambda: (20, 20))
    reason = extra_peers.peer_available("nodesoap")
    assert reason is not None
    assert f"soap@{extra_peers.NODESOAP_VERSION}" in reason
    assert "interop/peers/install.sh" in reason

    case = S.Case(S.Direction("nodesoap", "spyne"), "1.1", S.SCENARIOS["1b"])
    conftest.assert_missing_peer_skips_or_fails(monkeypatch, case, "nodesoap peer unavailable")


def test_nodesoap_needs_node_20_19(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extra_peers, "_node_version", lambda: (18, 19))
    reason = extra_peers.peer_available("nodesoap")
    assert reason is not None and "older than 20.19" in reason
    monkeypatch.setattr(extra_peers, "_node_version", lambda: None)
    reason = extra_peers.peer_available("nodesoap")
    assert reason is not None and "node not found" in reason


def test_axis_missing_jar_names_the_debian_package(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(extra_peers, "AXIS_JARS", (tmp_path / "axis.jar",))
    reason = extra_peers.peer_available("axis")
    assert reason is not None and "libaxis-java" in reason and "axis.jar" in reason

    case = S.Case(S.Direction("zeep", "axis"), "1.2", S.SCENARIOS["1b"])
    conftest.assert_missing_peer_skips_or_fails(monkeypatch, case, "libaxis-java")


def test_new_directions_and_known_issues() -> None:
    ids = {c.id for c in S.cases()}
    assert {"zeep-nodesoap-soap12-plain", "nodesoap-spyne-soap12-3b", "zeep-axis-soap11-1a",
            "axis-spyne-soap11-swa-request", "raw-axis-soap11-swa-reply"} <= ids
    # node-soap's server has no MTOM: nothing but plain SOAP is asked of it.
    assert S.Direction("zeep", "nodesoap").scenario_ids == ("plain",)
    assert S.Direction("zeep", "axis").peers == ("axis",)
    for key, reason in S.KNOWN_ISSUES.items():
        if "axis" in key[:2]:
            assert reason.startswith("PEER: Apache Axis") or (
                reason.startswith("BUG:") and "issue #11" in reason)


def test_unknown_peer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown peer"):
        extra_peers.peer_available("wcf")
    with pytest.raises(ValueError, match="apply to the Axis peer only"):
        extra_peers.client_command("nodesoap", "http://127.0.0.1:1/echo11", "1.1", ["x"],
                                   axis_format="swa")
