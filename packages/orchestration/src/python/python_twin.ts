// The DSPy class that rebuilds a native program in Python (its "twin"), and its state in the shape Python's
// load_state takes. Predict and ChainOfThought map onto dspy.Predict / dspy.ChainOfThought by signature; any
// other program names its own class. Shared by the Python-backed optimizers and the router's Python side.

import { ChainOfThought, NoPythonTwinError, Predict, isPlainRecord, type Module, type ProgramState } from 'dspex';

/** What the bridge's `create`/`load` commands build: a dotted class path with its constructor arguments. */
export interface PythonClassSpec {
  class: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

/** The DSPy class of a native Predict or ChainOfThought; NoPythonTwinError for anything else. */
export function pythonTwin(program: Module): PythonClassSpec {
  if (program instanceof ChainOfThought) {
    const base = program.predict.signature.delete('reasoning');
    return withConfig({ class: 'dspy.ChainOfThought', args: [base.toString()] }, program.predict.config);
  }
  if (program instanceof Predict) return withConfig({ class: 'dspy.Predict', args: [program.signature.toString()] }, program.config);
  throw new NoPythonTwinError(program.constructor.name);
}

function withConfig(spec: PythonClassSpec, config: Record<string, unknown>): PythonClassSpec {
  return Object.keys(config).length === 0 ? spec : { ...spec, kwargs: { ...config } };
}

/**
 * The program's saved DSPy JSON without its metadata and with every predictor's `lm` cleared: the Python side
 * runs on its session's LM, and a saved LM would make DSPy build a client for it there.
 */
export function stateForPython(state: ProgramState): Record<string, unknown> {
  const clear = (entry: unknown): unknown => (isPlainRecord(entry) && 'lm' in entry ? { ...entry, lm: null } : entry);
  const { metadata: _metadata, ...rest } = state;
  if ('demos' in rest) return clear(rest) as Record<string, unknown>; // a bare Predict's own state
  return Object.fromEntries(Object.entries(rest).map(([name, entry]) => [name, clear(entry)]));
}
