// Runs real DSPy (the repository's .venv) for the compatibility tests through dspy_reference.py: one JSON
// request in, one JSON answer out. When the venv is missing the tests skip with a message, or fail when
// CI or DSPEX_REQUIRE_SERVICES is set, so a CI machine cannot pass them by accident.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(here, 'dspy_reference.py');
export const PYTHON = process.env['DSPEX_PYTHON'] ?? resolve(here, '../../../../.venv/bin/python');

/** Whether a missing service (DSPy venv, model file) must fail the test run instead of skipping. */
export function servicesRequired(): boolean {
  return Boolean(process.env['CI'] || process.env['DSPEX_REQUIRE_SERVICES']);
}

/** null when DSPy can run; else why not, for the skip or failure message. */
export function dspyUnavailable(): string | null {
  if (existsSync(PYTHON)) return null;
  return `Python DSPy not found at ${PYTHON}: run \`bash scripts/setup-python.sh\` from the repository root (or set DSPEX_PYTHON).`;
}

export interface ProgramSpec {
  kind: 'Predict' | 'ChainOfThought' | 'ReAct';
  signature: string;
  instructions?: string;
  tools?: Array<'get_weather' | 'add'>;
  max_iters?: number;
}

export interface DspyMessage {
  role: string;
  content: string;
}

export interface DspyRequest {
  action: 'save' | 'format' | 'run';
  program: ProgramSpec;
  state?: unknown;
  demos?: Record<string, Array<Record<string, unknown>>>;
  inputs?: Record<string, unknown>;
  answers?: Array<Record<string, unknown>>;
  adapter?: 'chat' | 'json';
}

export interface DspyResponse {
  json?: string;
  messages?: Record<string, DspyMessage[]>;
  prediction?: Record<string, unknown>;
  history?: DspyMessage[][];
}

/** Sends one request to real DSPy; rejects with DSPy's stderr when the script fails. */
export function dspy(request: DspyRequest): Promise<DspyResponse> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`dspy_reference.py failed (${error.message}):\n${stderr}`));
        return;
      }
      resolvePromise(JSON.parse(stdout) as DspyResponse);
    });
    child.stdin!.end(JSON.stringify(request));
  });
}
