#!/usr/bin/env bash
# The pytest suite on the other supported Pythons (3.10, 3.12, 3.13; 3.11 is the default
# python3 that scripts/test.sh uses), each in its own venv (.venv-py3.X), taken from pyenv
# (`pyenv root`/versions/3.X.*). Live interop peers (JAX-WS RI, gSOAP) run on the default
# Python only: here the `live` tests are deselected.
# A missing interpreter is skipped with a message, or fails the run when
# MTOM_PYTHONS_REQUIRE=1 (set by .ci/run) or CI=true.
# MTOM_PYTHONS="3.12 3.13" narrows the list; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
require=${MTOM_PYTHONS_REQUIRE:-0}
[ "${CI:-}" = "true" ] && require=1
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
status=0
for v in ${MTOM_PYTHONS:-3.10 3.12 3.13}; do
  py=$(ls -d "$root"/versions/"$v".*/bin/python3 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$py" ] || ! "$py" -c 'import sys' 2>/dev/null; then
    msg="Python $v not found under $root/versions (install it: pyenv install $v)"
    if [ "$require" = "1" ]; then
      echo "== FAIL: $msg [MTOM_PYTHONS_REQUIRE=1 or CI=true]" >&2
      status=1
    else
      echo "== skipped: $msg"
    fi
    continue
  fi
  venv=.venv-py$v
  echo "== pytest on Python $v ($py, venv $venv; live peers deselected)"
  PYTHON=$py VENV=$venv EXTRAS=zeep,spyne,dev bash scripts/bootstrap.sh
  MTOM_INTEROP_REQUIRE=0 "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not live" "$@" \
    || status=1
done
exit $status
