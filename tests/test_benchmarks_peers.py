"""benchmarks.peers: the JSON the performance page is drawn from (write, read, table).

No timing here: the figures come from ``python -m benchmarks peers``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import peers


def _doc() -> dict[str, Any]:
    big = {peers.FLOOR: {"seconds": 0.09, "ratio": 1.0, "samples": [0.09, 0.091]},
           "zeep_mtom → spyne_mtom": {"seconds": 0.2, "ratio": 2.2, "samples": [0.2, 0.21]},
           "jaxws → jaxws": {"seconds": 0.9, "ratio": 10.0, "samples": [0.9, 0.95]}}
    small = {"zeep_mtom → spyne_mtom": {"client_ms": 1.2, "server_ms": 0.9, "cpu_ms": 2.1,
                                        "calls_per_s": 500.0, "samples": {}},
             "zeep_mtom → gsoap": {"client_ms": 1.1, "server_ms": 0.1, "cpu_ms": 1.2,
                                   "calls_per_s": 750.0, "samples": {}}}
    meta = {"size": 64 * 2**20, "small_size": peers.SMALL, "rounds": 2, "threads": 8}
    return {"schema": peers.SCHEMA, "meta": meta, "big": big, "small": small,
            "skipped": {"nodesoap": "not installed"}}


def test_save_then_load_gives_the_same_document(tmp_path: Path) -> None:
    doc = _doc()
    path = tmp_path / "peers.json"
    peers.save(doc, path)
    assert peers.load(path) == doc


def test_table_has_every_row_and_the_ratios(tmp_path: Path) -> None:
    text = peers.table(_doc())
    assert "| 64 MiB MTOM echo" in text
    assert "| jaxws → jaxws | 0.900 | 10.00 |" in text
    assert "| zeep_mtom → gsoap | 1.10 | 0.10 | 1.20 | 750 | 1.50 |" in text
    assert "nodesoap skipped: not installed" in text


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(schema=99), '"schema": 1'),
    (lambda d: d.pop("small"), '"small" must be an object'),
    (lambda d: d["big"].pop(peers.FLOOR), "has no 'raw loopback socket echo (floor)' row"),
    (lambda d: d["big"]["jaxws → jaxws"].pop("ratio"), "big row 'jaxws → jaxws' needs"),
    (lambda d: d["small"]["zeep_mtom → gsoap"].update(cpu_ms="fast"), '"cpu_ms"'),
])
def test_load_names_what_is_wrong(tmp_path: Path, change: Any, message: str) -> None:
    doc = copy.deepcopy(_doc())
    change(doc)
    path = tmp_path / "peers.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(peers.PeersDataError) as info:
        peers.load(path)
    assert message in str(info.value)
    with pytest.raises(peers.PeersDataError):
        peers.save(doc, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_draw_writes_the_figures_and_the_table(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    src = tmp_path / "peers.json"
    peers.save(_doc(), src)
    written = peers.draw(src, tmp_path / "out")
    assert sorted(p.name for p in written) == ["peers-big.png", "peers-small.png",
                                               "peers-table.md"]
    assert (tmp_path / "out" / "peers-table.md").read_text(encoding="utf-8") == \
        peers.table(_doc())
    assert all(p.stat().st_size > 0 for p in written)
