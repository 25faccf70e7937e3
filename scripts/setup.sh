#!/usr/bin/env bash
# Idempotent setup used by every top-level command: installs the Node workspace when its lockfile or
# manifests changed since the last install. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="npx -y pnpm@9"
stamp=node_modules/.dspex-install-stamp
want=$(cat pnpm-lock.yaml package.json */package.json packages/*/package.json 2>/dev/null | sha1sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if [ -f pnpm-lock.yaml ]; then $PNPM install --frozen-lockfile --reporter=append-only; else $PNPM install --reporter=append-only; fi
  want=$(cat pnpm-lock.yaml package.json */package.json packages/*/package.json 2>/dev/null | sha1sum | cut -d' ' -f1)
  echo "$want" > "$stamp"
fi
# The Python side: .venv with the worker package and DSPy pinned (idempotent, see setup-python.sh).
if [ -f python/pyproject.toml ]; then bash scripts/setup-python.sh; fi
