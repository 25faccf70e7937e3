#!/usr/bin/env bash
# Runs the Python worker's test suite, installing the virtual environment first when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
exec .venv/bin/python -m pytest python/tests -q "$@"
