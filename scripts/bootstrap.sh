#!/usr/bin/env bash
# Create a venv (default .venv, with python3) and install soap-mtom with every extra the
# tests and the documentation use. PYTHON=/path/to/python3 VENV=.venv-py3.12 picks another
# interpreter and venv, EXTRAS=zeep,spyne,dev other extras (scripts/test-pythons.sh does).
# Idempotent: re-running only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-zeep,spyne,dev,docs}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp=$VENV/.soap-mtom-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$EXTRAS" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
  echo "$EXTRAS" > "$stamp"
fi
