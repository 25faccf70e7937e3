#!/usr/bin/env bash
# Idempotent setup of the Python worker: creates .venv at the repo root and installs python/ (editable, with
# the test extra) when python/pyproject.toml changed since the last install. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.dspex-python-stamp
want=$(sha1sum python/pyproject.toml | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e 'python[test]'
echo "$want" > "$stamp"
