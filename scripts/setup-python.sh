#!/usr/bin/env bash
# Idempotent setup of the Python worker (python/, package dspex_bridge): creates .venv at the repo root and
# installs python/ editable with its test extra, only when python/pyproject.toml changed since the last
# install (a stamp in .venv holds its hash). Safe to run again and again. PYTHON=... picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.dspex-python-stamp
want=$(sha1sum python/pyproject.toml | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup-python: $PY is $("$PY" -V 2>&1); dspex_bridge needs Python 3.11 or newer (set PYTHON=...)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup-python: creating .venv with $("$PY" -V 2>&1)"
  "$PY" -m venv .venv
fi
echo "setup-python: installing python/ (dspy and its dependencies; the first time takes a while)"
log=.venv/pip-install.log
if ! .venv/bin/python -m pip install --disable-pip-version-check -e 'python[test]' >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "setup-python: pip install failed; full log in $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "setup-python: done"
