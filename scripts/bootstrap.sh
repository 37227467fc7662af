#!/usr/bin/env bash
# Create a venv (default .venv, with python3) and install soap-mtom with every extra the
# tests use. PYTHON=/path/to/python3 VENV=.venv-py3.12 picks another interpreter and venv
# (scripts/test-pythons.sh does). Idempotent: re-running only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp=$VENV/.soap-mtom-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e '.[zeep,spyne,dev]'
  touch "$stamp"
fi
