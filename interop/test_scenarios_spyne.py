"""W3C MTOM scenarios against the Spyne echo service (``spyne_mtom``, waitress on 127.0.0.1):
from Zeep and the raw core client (no peer needed: these run everywhere) and from the live
JAX-WS RI and gSOAP clients."""

from __future__ import annotations

import pytest

from interop import scenarios
from interop.conftest import RunCase, case_param

CASES = scenarios.cases(servers=("spyne",))


@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_scenario(case: scenarios.Case, run_case: RunCase) -> None:
    run_case(case)
