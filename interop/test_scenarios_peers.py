"""W3C MTOM scenarios from Python clients to the live peers: Zeep (``zeep_mtom``) and the raw
core client against JAX-WS RI and gSOAP, SOAP 1.1 and 1.2, failure cases included (raw
client only). See :mod:`interop.scenarios` for what each case checks."""

from __future__ import annotations

import pytest

from interop import scenarios
from interop.conftest import RunCase, case_param

CASES = scenarios.cases(clients=("zeep", "raw"), servers=("jaxws", "gsoap"))


@pytest.mark.parametrize("case", [case_param(c) for c in CASES])
def test_scenario(case: scenarios.Case, run_case: RunCase) -> None:
    run_case(case)
