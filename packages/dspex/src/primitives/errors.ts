// Typed errors of the module layer (Example, Module, Predict, ReAct, Tool, save/load). Each has a stable
// `code` and a message that says what to do; adapters and LM clients raise their own errors, which pass through.

import { DSPexError } from '@dspex/runtime';

/** Base class of the module layer's errors; each has a stable `code`. */
export abstract class ModuleError extends DSPexError {}

/** Predict found no LM: none passed per call, none on the module, none in settings. DSPy's "No LM is loaded". */
export class NoLMConfiguredError extends ModuleError {
  readonly code = 'DSPEX_NO_LM';
  constructor() {
    super(
      'No LM is configured. Call configure({ lm }) once, wrap the call in withSettings({ lm }, fn), set module.lm, ' +
        'or pass { lm } in the call options.',
    );
  }
}

/** Example.inputs()/labels() before withInputs(): DSPy raises ValueError here too. */
export class ExampleInputsNotSetError extends ModuleError {
  readonly code = 'DSPEX_EXAMPLE_INPUTS_NOT_SET';
  constructor() {
    super('Inputs have not been set for this example. Use example.withInputs(...keys) to set them.');
  }
}

/** A field was read that the Example/Prediction/Completions does not hold. */
export class MissingFieldError extends ModuleError {
  readonly code = 'DSPEX_MISSING_FIELD';
  constructor(readonly field: string, readonly holder: string) {
    super(`${holder} has no field '${field}'. Check the signature's field names, or use get(field, fallback).`);
  }
}

/** Completions built from columns of unequal length, or a column that is not a list. */
export class CompletionsShapeError extends ModuleError {
  readonly code = 'DSPEX_COMPLETIONS_SHAPE';
  constructor(detail: string) {
    super(`Completions need one list per field, all of the same length: ${detail}.`);
  }
}

/** A saved state does not fit the program it is loaded into (wrong predictor names, wrong field count...). */
export class StateMismatchError extends ModuleError {
  readonly code = 'DSPEX_STATE_MISMATCH';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`The saved state does not fit this program: ${detail}. Load it into a program built the same way as the one that saved it.`, options);
  }
}

/** save()/load() was given a path that is not a `.json` file (DSPy refuses pickles for the same reason). */
export class StatePathError extends ModuleError {
  readonly code = 'DSPEX_STATE_PATH';
  constructor(readonly path: string) {
    super(`State files must end with .json (DSPy's pickle formats run code when loaded and are not supported): ${path}`);
  }
}

/** The tool was called with arguments that do not fit its JSON schema. DSPy raises ValueError the same way. */
export class ToolArgumentError extends ModuleError {
  readonly code = 'DSPEX_TOOL_ARGS_INVALID';
  constructor(readonly tool: string, message: string) {
    super(message);
  }
}

/** ReAct's trajectory overflowed the context window even after truncating it. */
export class TrajectoryOverflowError extends ModuleError {
  readonly code = 'DSPEX_TRAJECTORY_OVERFLOW';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
