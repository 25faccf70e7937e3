#!/usr/bin/env bash
# Idempotent setup used by every top-level command: installs the Node workspace when its lockfile or
# manifests changed since the last install, then builds each package's dist/ (incremental: only what changed
# since the last build), so programs outside the workspace's own tooling import the packages with plain
# node, tsx and tsc. Safe to run again and again.
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
# dist/ of every package, in dependency order (tsconfig.build.json). A type error stops here, with tsc's report.
if ! node_modules/.bin/tsc -b tsconfig.build.json; then
  echo "setup: building the packages failed (tsc -b tsconfig.build.json); fix the errors above and run it again" >&2
  exit 1
fi
# The Python side: .venv with the worker package and DSPy pinned (idempotent, see setup-python.sh).
if [ -f python/pyproject.toml ]; then bash scripts/setup-python.sh; fi
