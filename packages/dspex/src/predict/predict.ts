// DSPy's Predict (dspy/predict/predict.py): the one learnable module. It picks the LM (call > module > settings),
// merges per-call config over its own, applies DSPy's n > 1 temperature rule, formats/calls/parses through the
// adapter, records the trace, and saves/loads its state (demos, signature text, LM) in DSPy's JSON shape.

import type { LM, LMConfig } from '../primitives/lm.js';
import { ChatAdapter } from '../adapters/chat_adapter.js';
import type { Adapter, AdapterCallOptions } from '../adapters/base.js';
import { USAGE_TRACKER } from '../usage/tracker.js';
import { ensureSignature, type Signature, type SignatureState } from '../signatures/signature.js';
import { allowsNone } from '../signatures/types.js';
import { Example, toSerializable, isPlainRecord, type Fields } from '../primitives/example.js';
import { Prediction } from '../primitives/prediction.js';
import { Module, brandParameter, type CallArguments, type CallOptions, type Inputs, type LooseRecord, type Parameter } from '../program/module.js';
import { currentSettings } from '../program/settings.js';
import { NoLMConfiguredError, StateMismatchError } from '../primitives/errors.js';
import { warn } from '../primitives/warnings.js';
import type { LoadOptions } from '../program/saving.js';
import { currentStreamSink } from '../streaming/stream_scope.js';
import { streamingLm } from '../streaming/streaming_lm.js';
import type { SignatureInputs, SignatureOutputs, SignatureSource } from '../signatures/infer.js';

// Module.namedPredictors() returns Predicts: program/module.ts, a folder below, leaves the class to this file.
declare module '../program/module.js' {
  interface PredictorKinds {
    predict: Predict;
  }
}

/** Per-call options of Predict: DSPy's privileged kwargs, plus a signature for this call only. */
export interface PredictCallOptions extends CallOptions {
  signature?: Signature | string;
}

/** What Predict.dumpState() returns: the per-predictor entry of DSPy's saved JSON, keys in DSPy's order. */
export type PredictState = {
  traces: unknown[];
  train: unknown[];
  demos: Fields[];
  signature: SignatureState;
  /** Experimental decision-output settings DSPy saves when present; kept verbatim. */
  fields?: Record<string, unknown>;
  lm: Record<string, unknown> | null;
};

/** LM state keys that can point a loaded program at another endpoint (DSPy's UNSAFE_LM_STATE_KEYS). */
const UNSAFE_LM_STATE_KEYS = ['api_base', 'base_url', 'model_list'];

/** DSPy: "If temperature is unset or <= 0.15, and n > 1, set temperature to 0.7 to keep randomness." */
export function applyTemperatureRule(config: LMConfig, lmDefaults: LMConfig): LMConfig {
  // Python's `or` chains: 0 and None both fall through to the next candidate.
  const temperature = (config.temperature || lmDefaults.temperature) as number | undefined;
  const generations = (config.n || lmDefaults.n || (lmDefaults['num_generations'] as number | undefined) || 1) as number;
  if ((temperature === undefined || temperature === null || temperature <= 0.15) && generations > 1) return { ...config, temperature: 0.7 };
  return config;
}

/**
 * `S` is the signature it was built from, a string literal or a typed Signature: `new Predict('question -> answer: int')`
 * takes `{ question: string }` and resolves to `Prediction<{ answer: number }>`. A string known only at run time
 * gives loose records.
 */
export class Predict<S extends SignatureSource = SignatureSource> extends Module<SignatureInputs<S>, SignatureOutputs<S>> implements Parameter {
  /** Its forward passes its options on and runs no user code: usage is tracked without a settings scope (program/track_usage.ts). */
  static override readonly passesCallOptions = true;

  /** A random id DSPy gives every predictor (used by some optimizers to tell copies apart). */
  stage: string;
  signature: Signature;
  /** Experimental per-field decision settings (DSPy's `fields`), saved when non-empty. */
  fields: Record<string, unknown> = {};
  /** Default LM settings for every call of this predictor (DSPy's **config). */
  config: LMConfig;
  lm: LM | null = null;
  traces: unknown[] = [];
  train: unknown[] = [];
  demos: Example[] = [];

  constructor(signature: S, config: LMConfig = {}) {
    super();
    this.stage = randomStage();
    this.signature = ensureSignature(signature as Signature | string);
    this.config = { ...config };
    this.reset();
  }

  /** No LM, no traces, no training data, no demos. */
  reset(): void {
    this.lm = null;
    this.traces = [];
    this.train = [];
    this.demos = [];
  }

  updateConfig(config: LMConfig): void {
    this.config = { ...this.config, ...config };
  }

  getConfig(): LMConfig {
    return this.config;
  }

  /** Runs the predictor; `options` may also carry a signature for this call only. */
  override call(...args: CallArguments<SignatureInputs<S>, PredictCallOptions>): Promise<Prediction<SignatureOutputs<S>>>;
  override call<R extends Fields>(inputs: LooseRecord<R>, options?: PredictCallOptions): Promise<Prediction<SignatureOutputs<S>>>;
  override call(inputs: Fields = {}, options?: PredictCallOptions): Promise<Prediction<SignatureOutputs<S>>> {
    return super.call(inputs, options);
  }

  override async forward(inputs: SignatureInputs<S>, options: PredictCallOptions = {}): Promise<Prediction<SignatureOutputs<S>>> {
    const { lm, config, signature, demos, kwargs } = this.preprocess(inputs, options);
    const adapter = currentSettings().adapter ?? defaultAdapter();
    // Inside program.stream() the adapter gets an LM that streams the completion to the caller as it parses.
    const sink = currentStreamSink();
    const callLm = sink === undefined ? lm : streamingLm(sink, this, lm, adapter, signature);
    const adapterOptions: AdapterCallOptions = options.signal ? { signal: options.signal } : {};
    const tracker = options[USAGE_TRACKER];
    if (tracker !== undefined) adapterOptions.usageTracker = tracker;
    const completions = await adapter.call(callLm, config, signature, demos.map(demoRecord), kwargs, adapterOptions);
    return this.postprocess(completions, signature, kwargs) as Prediction<SignatureOutputs<S>>;
  }

  /** DSPy's _forward_preprocess: the LM, the merged config, the signature and demos, and the completed inputs. */
  private preprocess(inputs: Inputs, options: PredictCallOptions) {
    const signature = options.signature === undefined ? this.signature : ensureSignature(options.signature);
    const demos = options.demos ?? this.demos;
    const lm = options.lm ?? this.lm ?? currentSettings().lm;
    if (!lm) throw new NoLMConfiguredError();
    const config = applyTemperatureRule({ ...this.config, ...(options.config ?? {}) }, lm.defaults ?? {});

    const kwargs: Fields = { ...inputs };
    for (const field of signature.inputFields) if (!(field.name in kwargs) && field.default !== undefined) kwargs[field.name] = field.default;
    const names = new Set(signature.inputFields.map((f) => f.name));
    const extra = Object.keys(kwargs).filter((key) => !names.has(key));
    if (extra.length > 0) {
      warn('DSPEX_INPUT_EXTRA_FIELDS', `Input contains fields not in signature. These fields will be ignored: ${JSON.stringify(extra)}. Expected fields: ${JSON.stringify([...names])}.`);
    }
    const missing = signature.inputFields.filter((f) => !(f.name in kwargs) && !allowsNone(f.type)).map((f) => f.name);
    if (missing.length > 0) {
      const present = signature.inputFields.filter((f) => f.name in kwargs).map((f) => f.name);
      warn('DSPEX_INPUT_MISSING_FIELDS', `Not all input fields were provided to module. Present: ${JSON.stringify(present)}. Missing: ${JSON.stringify(missing)}.`);
    }
    return { lm, config, signature, demos, kwargs };
  }

  /** DSPy's _forward_postprocess: the Prediction of every completion, and a trace entry when a trace is open. */
  private postprocess(completions: Fields[], signature: Signature, kwargs: Fields): Prediction {
    const prediction = Prediction.fromCompletions(completions, signature);
    const { trace, maxTraceSize } = currentSettings();
    if (trace !== null && maxTraceSize > 0) {
      if (trace.length >= maxTraceSize) trace.shift();
      trace.push({ predictor: this, inputs: { ...kwargs }, prediction });
    }
    return prediction;
  }

  override dumpState(): PredictState {
    const demos = this.demos.map((demo) => (demo instanceof Example ? demo.toDict() : (toSerializable(demo) as Fields)));
    const state: PredictState = {
      traces: this.traces,
      train: this.train,
      demos,
      signature: this.signature.dumpState(),
      lm: null,
    };
    if (Object.keys(this.fields).length > 0) state.fields = structuredClone(this.fields);
    state.lm = this.lm ? lmState(this.lm) : null;
    return state;
  }

  override loadState(state: Record<string, unknown>, options: LoadOptions = {}): this {
    if ('extended_signature' in state) throw new StateMismatchError('it holds an extended_signature (DSPy 2.5 and older), which DSPy 2.6+ no longer loads');
    const signatureState = state['signature'];
    if (!isPlainRecord(signatureState) || typeof signatureState['instructions'] !== 'string' || !Array.isArray(signatureState['fields'])) {
      throw new StateMismatchError('a predictor entry has no signature {instructions, fields}');
    }
    const signature = this.signature.loadState(signatureState as unknown as SignatureState);
    for (const [name, value] of Object.entries(state)) {
      if (name === 'signature' || name === 'lm' || name === 'fields') continue;
      if (name === 'demos') this.demos = asList(value, name).map((demo) => (demo instanceof Example ? demo : new Example(demo as Fields)));
      else if (name === 'traces' || name === 'train') this[name] = asList(value, name);
      // Other keys are ignored: DSPy would setattr them, but a file must not be able to reach arbitrary properties.
    }
    this.signature = signature;
    this.fields = isPlainRecord(state['fields']) ? structuredClone(state['fields']) : {};
    this.lm = restoreLm(state['lm'], options);
    return this;
  }

  override toString(): string {
    return `${this.constructor.name}(${this.signature.toString()})`;
  }
}

brandParameter(Predict.prototype);

let sharedChatAdapter: ChatAdapter | undefined;

/** DSPy's `settings.adapter or ChatAdapter()`: one stateless ChatAdapter serves every call. */
export function defaultAdapter(): Adapter {
  return (sharedChatAdapter ??= new ChatAdapter());
}

function asList(value: unknown, name: string): unknown[] {
  if (Array.isArray(value)) return [...value];
  throw new StateMismatchError(`'${name}' is not a list`);
}

function demoRecord(demo: Example | Fields): Fields {
  return demo instanceof Example ? demo.toDict() : demo;
}

/** The LM's reconstruction state: its own dumpState() when it has one, else model and default settings. */
function lmState(lm: LM): Record<string, unknown> {
  const own = (lm as { dumpState?: () => Record<string, unknown> }).dumpState;
  if (typeof own === 'function') return own.call(lm);
  return { model: lm.model, ...(lm.defaults ?? {}) };
}

function restoreLm(saved: unknown, options: LoadOptions): LM | null {
  if (!isPlainRecord(saved)) return null;
  const state = options.allowUnsafeLmState ? saved : Object.fromEntries(Object.entries(saved).filter(([key]) => !UNSAFE_LM_STATE_KEYS.includes(key)));
  if (options.lmFromState) return options.lmFromState(state);
  warn(
    'DSPEX_LM_STATE_NOT_RESTORED',
    `The saved predictor names an LM (${String(saved['model'])}) that was not restored; it uses the call's, the module's or the configured LM. ` +
      'Pass load(state, { lmFromState }) to rebuild it.',
  );
  return null;
}

function randomStage(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
