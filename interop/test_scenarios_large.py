"""64 MiB values, MTOM both ways, with JAX-WS RI: Zeep sending to the JAX-WS server (value
streamed from a file, reply spooled) and the JAX-WS client sending to Spyne. Besides every
scenario check, the peak RSS growth of this process during the exchange is bounded (see
``LARGE_RSS_LIMIT`` in ``conftest.py``)."""

from __future__ import annotations

import pytest

from interop import scenarios
from interop.conftest import RunCase, case_param

CASES = scenarios.cases(large=True)


@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_scenario(case: scenarios.Case, run_case: RunCase) -> None:
    run_case(case)
