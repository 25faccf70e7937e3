// DSPy's Module and BaseModule: the base of every program. A program is an object graph; its parameters
// (Predict instances) are found by walking its own properties in definition order, which names them exactly as
// DSPy's named_parameters does ("qa", "extract.predict", "hops[0]", "by_name['x']"), the keys of saved state.

import type { LM, LMConfig } from '../primitives/lm.js';
import { traceModuleCall } from '../tracing/module_span.js';
import { currentSettings, withCaller } from './settings.js';
import { callWithUsage } from './track_usage.js';
import { USAGE_TRACKER, type UsageTracker } from '../usage/tracker.js';
import { Example, isPlainRecord, type Fields } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import { StateMismatchError } from '../primitives/errors.js';
import { streamEvents, type PredictorNames } from '../streaming/stream_scope.js';
import type { StreamEvent } from '../streaming/events.js';
import { dumpProgramState, loadProgramState, type ProgramState, type LoadOptions } from './saving.js';

/**
 * The predictor classes, by name, that namedPredictors() returns: predict/predict.ts adds `predict: Predict` here
 * (declaration merging), so Module names Predict while program/ stays below predict/ and imports nothing from it.
 */
export interface PredictorKinds {}

/** Predict, as predict/predict.ts declares it in PredictorKinds. */
type Predictor = PredictorKinds[keyof PredictorKinds];

/** A learnable piece of a program (DSPy's Parameter); Predict is the one kind. */
export interface Parameter {
  dumpState(): Record<string, unknown>;
  loadState(state: Record<string, unknown>, options?: LoadOptions): unknown;
  reset(): void;
}

const PARAMETER_BRAND = Symbol.for('dspex.parameter');

/** Marks instances of a class as parameters (called by Predict). */
export function brandParameter(target: object): void {
  Object.defineProperty(target, PARAMETER_BRAND, { value: true, enumerable: false });
}

/** Whether a value is a parameter (a Predict): what `namedPredictors` walks and optimizers tune. */
export function isParameter(value: unknown): value is Parameter & Module {
  return value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[PARAMETER_BRAND] === true;
}

/** A module call's inputs by field name. */
export type Inputs = Record<string, unknown>;

/** Per-call options: DSPy's privileged keyword arguments (config, lm, demos, signature) kept out of the inputs. */
export interface CallOptions {
  /** LM settings merged over the module's config (and, in the client, over the LM's defaults). */
  config?: LMConfig;
  /** The LM for this call, over the module's and the global one. */
  lm?: LM;
  /** Demos for this call instead of the predictor's. */
  demos?: readonly Example[];
  /** ReAct: iterations for this call instead of the module's maxIters. */
  maxIters?: number;
  signal?: AbortSignal;
  /** Set by Module.call when usage is tracked: pass options on to sub-module calls and their LM usage counts. */
  [USAGE_TRACKER]?: UsageTracker;
}

/**
 * `I` and `O` are the program's input and output fields (loose records by default): `call` takes I and resolves
 * to Prediction<O>. Predict, ChainOfThought and ReAct infer them from their signature; a hand-written program
 * names them (`class RAG extends Module<{ question: string }, { answer: string }>`).
 */
/** call()'s arguments: the inputs may be left out only when every input is optional. */
export type CallArguments<I, Options> = Record<never, never> extends I ? [inputs?: I, options?: Options] : [inputs: I, options?: Options];
/** R when it is a record with a string index (no compile-time field names), else never. */
export type LooseRecord<R> = string extends keyof R ? R : never;

/** Base class of DSPy programs: subclass it, hold Predict/ChainOfThought/ReAct as fields and write `forward`; `call`, `namedPredictors`, `deepcopy`, `save`/`load` follow DSPy. Generics: `Module<Inputs, Outputs>`. */
export abstract class Module<I extends Fields = Fields, O extends Fields = Fields> {
  /**
   * Set (as an own static property) by a module class whose forward passes its options to every sub-module call
   * and runs no user code: with settings.trackUsage its top-level calls then need no settings scope.
   */
  static readonly passesCallOptions: boolean = false;

  /** A compiled (optimized) sub-module keeps its state: named_parameters does not descend into it. */
  _compiled = false;

  /** The program's logic. Call modules with call(), which keeps DSPy's caller bookkeeping. */
  abstract forward(inputs: I, options?: CallOptions): Promise<Prediction<O>>;

  /** Runs forward() with this module on the caller stack (DSPy's Module.__call__). */
  call(...args: CallArguments<I, CallOptions>): Promise<Prediction<O>>;
  /** Inputs typed only as a loose record (a program passing on its own inputs) are checked at run time, as in DSPy. */
  call<R extends Fields>(inputs: LooseRecord<R>, options?: CallOptions): Promise<Prediction<O>>;
  call(inputs: Fields = {}, options?: CallOptions): Promise<Prediction<O>> {
    const traced = traceModuleCall(this, inputs, options);
    if (traced !== undefined) return traced;
    if (currentSettings().trackUsage) return callWithUsage(this, inputs, options, (passed) => this.forward(inputs as I, passed));
    return withCaller(this, () => this.forward(inputs as I, options));
  }

  /**
   * Runs call() and yields, as the LM writes, each output field's text (`{ type: 'field', field, delta,
   * predictor }`), status events from inside modules (a ReAct tool call), and `{ type: 'prediction' }` last.
   * `options.signal`, or leaving the loop early, aborts the provider's stream.
   */
  stream(...args: CallArguments<I, CallOptions>): AsyncIterable<StreamEvent<O>>;
  stream<R extends Fields>(inputs: LooseRecord<R>, options?: CallOptions): AsyncIterable<StreamEvent<O>>;
  stream(inputs: Fields = {}, options: CallOptions = {}): AsyncIterable<StreamEvent<O>> {
    return streamEvents<O>(this as unknown as PredictorNames, (signal) => this.call(inputs as LooseRecord<Fields>, { ...options, signal }), options.signal);
  }

  /** (name, parameter) for every parameter reachable through properties, arrays and records, each once. */
  namedParameters(): Array<[string, Parameter & Module]> {
    const visited = new Set<object>();
    const found: Array<[string, Parameter & Module]> = [];
    const add = (name: string, value: unknown): void => {
      if (isParameter(value)) {
        if (!visited.has(value)) {
          visited.add(value);
          found.push([name, value]);
        }
      } else if (value instanceof Module) {
        if (!value._compiled) for (const [sub, param] of value.namedParameters()) add(`${name}.${sub}`, param);
      }
    };
    if (isParameter(this)) add('self', this);
    for (const [name, value] of Object.entries(this)) {
      if (isParameter(value) || value instanceof Module) add(name, value);
      else if (Array.isArray(value)) value.forEach((item, index) => add(`${name}[${index}]`, item));
      else if (value instanceof Map) for (const [key, item] of value) add(`${name}['${String(key)}']`, item);
      else if (isPlainRecord(value)) for (const [key, item] of Object.entries(value)) add(`${name}['${key}']`, item);
    }
    return found;
  }

  parameters(): Array<Parameter & Module> {
    return this.namedParameters().map(([, param]) => param);
  }

  /** Every sub-module (breadth first, each once) with its path from "self" (DSPy's named_sub_modules). */
  namedSubModules(skipCompiled = false): Array<[string, Module]> {
    const found: Array<[string, Module]> = [];
    const queue: Array<[string, unknown]> = [['self', this]];
    const seen = new Set<unknown>([this]);
    const enqueue = (name: string, item: unknown): void => {
      if (item !== null && typeof item === 'object' && !seen.has(item)) {
        seen.add(item);
        queue.push([name, item]);
      }
    };
    while (queue.length > 0) {
      const [name, item] = queue.shift()!;
      if (item instanceof Module) {
        found.push([name, item]);
        if (skipCompiled && item._compiled) continue;
        for (const [sub, value] of Object.entries(item)) enqueue(`${name}.${sub}`, value);
      } else if (Array.isArray(item)) {
        item.forEach((value, index) => enqueue(`${name}[${index}]`, value));
      } else if (isPlainRecord(item)) {
        for (const [key, value] of Object.entries(item)) enqueue(`${name}[${key}]`, value);
      }
    }
    return found;
  }

  /** The Predict parameters with their names (DSPy's named_predictors). */
  namedPredictors(): Array<[string, Predictor]> {
    return this.namedParameters() as unknown as Array<[string, Predictor]>;
  }

  predictors(): Predictor[] {
    return this.namedPredictors().map(([, predictor]) => predictor);
  }

  /** Sets `lm` on every predictor. */
  setLm(lm: LM | null): void {
    for (const param of this.parameters()) (param as { lm?: LM | null }).lm = lm;
  }

  /** The one LM every predictor uses; throws when they differ. */
  getLm(): LM | null {
    const lms = new Set(this.parameters().map((param) => (param as { lm?: LM | null }).lm ?? null));
    if (lms.size === 1) return [...lms][0]!;
    throw new RangeError("Multiple LMs are being used in the module. There's no unique LM to return.");
  }

  /** Replaces each predictor by fn(predictor), at its own path. */
  mapNamedPredictors(fn: (predictor: Predictor) => Predictor): this {
    for (const [name, predictor] of this.namedPredictors()) setByPath(this, name, fn(predictor));
    return this;
  }

  /**
   * A copy whose modules, arrays, records and Examples are copied (sharing preserved) while LMs, signatures,
   * tools and functions are shared. What optimizers copy a student with (DSPy's deepcopy).
   */
  deepcopy(): this {
    return cloneGraph(this, new Map()) as this;
  }

  /** deepcopy() with every predictor reset (no demos, no LM). */
  resetCopy(): this {
    const copy = this.deepcopy();
    for (const param of copy.parameters()) param.reset();
    return copy;
  }

  /** One line per predictor, "name = Predict(signature)" (DSPy's Module.__repr__). */
  toString(): string {
    return this.namedPredictors().map(([name, predictor]) => `${name} = ${predictor.toString()}`).join('\n');
  }

  /** {name: predictor state} for every parameter (DSPy's dump_state). */
  dumpState(): Record<string, unknown> {
    return Object.fromEntries(this.namedParameters().map(([name, param]) => [name, param.dumpState()]));
  }

  /** Loads dumpState() output; checks every part on a copy first, so a bad state leaves this program untouched. */
  loadState(state: Record<string, unknown>, options?: LoadOptions): this {
    const apply = (module: Pick<Module, 'namedParameters'>): void => {
      for (const [name, param] of module.namedParameters()) param.loadState(requireRecord(state[name], name), options);
    };
    apply(this.deepcopy());
    apply(this);
    return this;
  }

  /** The state as DSPy's program.save("x.json") writes it (dumpState + metadata); written to `path` when given. */
  async save(path?: string): Promise<ProgramState> {
    return dumpProgramState(this, path);
  }

  /** Loads a state saved by save() or by DSPy (an object, or the path of a .json file). */
  async load(stateOrPath: ProgramState | Record<string, unknown> | string, options?: LoadOptions): Promise<this> {
    await loadProgramState(this, stateOrPath, options);
    return this;
  }
}

function requireRecord(value: unknown, name: string): Record<string, unknown> {
  if (isPlainRecord(value)) return value;
  throw new StateMismatchError(`it has no entry for the predictor '${name}'`);
}

function cloneGraph(value: unknown, memo: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (memo.has(value)) return memo.get(value);
  if (value instanceof Module) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<PropertyKey, unknown>;
    memo.set(value, copy);
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
      if ('value' in descriptor) descriptor.value = cloneGraph(descriptor.value, memo);
      Object.defineProperty(copy, key, descriptor);
    }
    return copy;
  }
  if (value instanceof Example) {
    const copy = value.copy();
    memo.set(value, copy);
    copy._store = cloneGraph(value._store, memo) as Record<string, unknown>;
    return copy;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    for (const item of value) copy.push(cloneGraph(item, memo));
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    memo.set(value, copy);
    for (const [key, item] of value) copy.set(key, cloneGraph(item, memo));
    return copy;
  }
  if (isPlainRecord(value)) {
    const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    memo.set(value, copy);
    for (const [key, item] of Object.entries(value)) copy[key] = cloneGraph(item, memo);
    return copy;
  }
  return value;
}

/** Sets the value at a parameter path ("a.b", "hops[1]", "by['k']"), as DSPy's magicattr.set does. */
function setByPath(root: object, path: string, value: unknown): void {
  const steps = [...path.matchAll(/\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\['([^']*)'\]/g)].map((m) => m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  let target: unknown = root;
  for (const step of steps.slice(0, -1)) target = target instanceof Map ? target.get(step) : (target as Record<string | number, unknown>)[step];
  const last = steps[steps.length - 1]!;
  if (target instanceof Map) target.set(last, value);
  else (target as Record<string | number, unknown>)[last] = value;
}
