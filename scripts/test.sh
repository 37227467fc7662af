#!/usr/bin/env bash
# The whole test command: install everything into .venv, then lint, type-check, build the
# documentation site (warnings are errors) and test, on the default python3.
# With MTOM_INTEROP_REQUIRE=1 (set by .ci/run) the live interop peers (Java JAX-WS RI,
# gSOAP) are installed from Debian packages first and a missing peer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ "${MTOM_INTEROP_REQUIRE:-0}" = "1" ] && [ -f interop/peers/install.sh ]; then
  bash interop/peers/install.sh
fi
echo "== ruff"; .venv/bin/python -m ruff check .
echo "== mypy --strict mtom zeep_mtom spyne_mtom mtom_demo"
.venv/bin/python -m mypy --strict mtom zeep_mtom spyne_mtom mtom_demo
echo "== sphinx -W (docs/_build/html)"
.venv/bin/python -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
