#!/usr/bin/env bash
# Create .venv (if needed) and install soap-mtom with every extra the tests use.
# Idempotent: re-running only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.soap-mtom-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[zeep,spyne,dev]'
  touch "$stamp"
fi
