// Saving and loading program state in DSPy's JSON format (dspy/utils/saving.py, BaseModule.save/load): the
// per-predictor state plus "metadata.dependency_versions", written as orjson writes it (2-space indent, final
// newline), so a file moves between DSPex and Python DSPy in either direction.

import { readFile, writeFile } from 'node:fs/promises';
import type { LM } from '../primitives/lm.js';
import { StatePathError, StateMismatchError } from '../primitives/errors.js';
import { warn } from '../primitives/warnings.js';

/**
 * The versions a saved file declares. DSPy compares each key with its own environment on load and warns on a
 * mismatch (an unknown key would fail its lookup), so these are the keys and values of the DSPy release whose
 * format DSPex writes: a file saved here loads in DSPy 3.4.1 without a warning.
 */
export const DEPENDENCY_VERSIONS: Readonly<Record<'python' | 'dspy' | 'cloudpickle', string>> = Object.freeze({
  python: '3.11',
  dspy: '3.4.1',
  cloudpickle: '3.1',
});

/** A program's saved state, as DSPy's `program.save('x.json')` writes it (predictors' demos, signatures, LM, metadata). */
export interface ProgramState {
  [predictorName: string]: unknown;
  metadata: { dependency_versions: Record<string, string> };
}

/** Options of `program.load`: how a saved LM is rebuilt (`lmFromState`), and whether endpoint keys in its state are kept. */
export interface LoadOptions {
  /**
   * Builds an LM from a saved predictor's "lm" state (DSPy's BaseLM.load_state). Without it a saved LM is not
   * restored (the predictor falls back to the configured LM) and a DSPEX_LM_STATE_NOT_RESTORED warning says so.
   */
  lmFromState?: (state: Record<string, unknown>) => LM | null;
  /** Keep api_base/base_url/model_list in LM state (DSPy's allow_unsafe_lm_state). Only for trusted files. */
  allowUnsafeLmState?: boolean;
}

/** What a savable program offers: its per-predictor state and a way to load it back. */
export interface Savable {
  dumpState(): Record<string, unknown>;
  loadState(state: Record<string, unknown>, options?: LoadOptions): unknown;
}

/** DSPy's JSON bytes: orjson with OPT_INDENT_2 | OPT_APPEND_NEWLINE. */
export function stateToJson(state: unknown): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

function checkPath(path: string): void {
  if (!path.endsWith('.json')) throw new StatePathError(path);
}

export async function dumpProgramState(program: Savable, path?: string): Promise<ProgramState> {
  const state: ProgramState = { ...program.dumpState(), metadata: { dependency_versions: { ...DEPENDENCY_VERSIONS } } };
  if (path !== undefined) {
    checkPath(path);
    await writeFile(path, stateToJson(state), 'utf8');
  }
  return state;
}

/** Reads a state file written by save() or by DSPy's program.save("x.json"). */
export async function readProgramState(path: string): Promise<ProgramState> {
  checkPath(path);
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new StateMismatchError(`${path} does not hold a JSON object`);
  return parsed as ProgramState;
}

export async function loadProgramState(
  program: Savable,
  stateOrPath: ProgramState | Record<string, unknown> | string,
  options?: LoadOptions,
): Promise<void> {
  const state = typeof stateOrPath === 'string' ? await readProgramState(stateOrPath) : stateOrPath;
  const metadata = state['metadata'] as { dependency_versions?: Record<string, unknown> } | undefined;
  for (const [key, saved] of Object.entries(metadata?.dependency_versions ?? {})) {
    const ours = (DEPENDENCY_VERSIONS as Record<string, string>)[key];
    if (ours !== saved) {
      warn(
        'DSPEX_STATE_VERSION_MISMATCH',
        `There is a mismatch of ${key} version between the saved program (${String(saved)}) and the format DSPex reads (${ours ?? 'unknown'}). ` +
          'This might cause errors or a performance drop; re-save the program with the matching version if it misbehaves.',
      );
    }
  }
  program.loadState(state, options);
}
