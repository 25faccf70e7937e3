// The kinds of variable a space holds, what each value must look like, and the builders users write them with
// (`variable.float({ min: 0, max: 1, step: 0.1 })`). Values are JSON, since every one is persisted and kept in
// history: an LM is a model name, a module kind and an adapter are their names, demos are plain records.

import type { JsonValue } from '@dspex/store';

export type JsonObject = { [key: string]: JsonValue };
/** The module a ModuleSlot builds from its signature. */
export type ModuleKind = 'Predict' | 'ChainOfThought' | 'ReAct';
/** The adapter a bound program formats its prompts with. */
export type AdapterName = 'chat' | 'json';
/** The module kinds a `module` variable may switch between. */
export const MODULE_KINDS: readonly ModuleKind[] = ['Predict', 'ChainOfThought', 'ReAct'];
/** The adapters an `adapter` variable may choose. */
export const ADAPTER_NAMES: readonly AdapterName[] = ['chat', 'json'];

/** Values by variable name. */
export type Assignment = Record<string, JsonValue>;

/** What every kind accepts besides its own fields. */
export interface VariableCommon<T extends JsonValue> {
  /** The value before anyone sets one; each kind has its own fallback (min, false, the first choice, '', []). */
  default?: T;
  description?: string;
  /** An extra check of a value: true (or undefined) to accept, false or a reason to refuse. */
  validate?: (value: T) => boolean | string | undefined;
  /**
   * Makes this a derived variable: its value is `derive(values of dependsOn)`, recomputed whenever one of them
   * changes, and it cannot be set directly.
   */
  dependsOn?: readonly string[];
  derive?: (dependencies: Assignment) => T;
}

/** One variable of a space, by kind (`variable.float({...})` and the like build them). */
export type VariableSpec =
  /** `log`: searched on a log scale (min > 0, no step), e.g. a learning rate or a token budget. */
  | ({ kind: 'float'; min: number; max: number; step?: number; log?: boolean } & VariableCommon<number>)
  | ({ kind: 'int'; min: number; max: number; step?: number; log?: boolean } & VariableCommon<number>)
  | ({ kind: 'bool' } & VariableCommon<boolean>)
  | ({ kind: 'choice'; choices: readonly JsonValue[] } & VariableCommon<JsonValue>)
  /** Instructions or any prompt text; `candidates` are what random and grid search choose among. */
  | ({ kind: 'text'; candidates?: readonly string[] } & VariableCommon<string>)
  /** Few-shot demos: a list of records with the signature's fields (set by BootstrapFewShot-style optimizers). */
  | ({ kind: 'demos'; candidates?: readonly JsonObject[][] } & VariableCommon<JsonObject[]>)
  /** A model, by the name a binding maps to an LM (`bind(..., { lms: { small, large } })`). */
  | ({ kind: 'lm'; choices: readonly string[] } & VariableCommon<string>)
  | ({ kind: 'module'; choices?: readonly ModuleKind[] } & VariableCommon<ModuleKind>)
  | ({ kind: 'adapter'; choices?: readonly AdapterName[] } & VariableCommon<AdapterName>);

/** The kinds of variable: float, int, bool, choice, text, demos, lm, module, adapter. */
export type VariableKind = VariableSpec['kind'];

type Without<S, K extends VariableKind> = Omit<Extract<S, { kind: K }>, 'kind'>;

/** Builders of variable specs, one per kind. */
export const variable = {
  float: (spec: Without<VariableSpec, 'float'>): VariableSpec => ({ kind: 'float', ...spec }),
  int: (spec: Without<VariableSpec, 'int'>): VariableSpec => ({ kind: 'int', ...spec }),
  bool: (spec: Without<VariableSpec, 'bool'> = {}): VariableSpec => ({ kind: 'bool', ...spec }),
  choice: (spec: Without<VariableSpec, 'choice'>): VariableSpec => ({ kind: 'choice', ...spec }),
  text: (spec: Without<VariableSpec, 'text'> = {}): VariableSpec => ({ kind: 'text', ...spec }),
  demos: (spec: Without<VariableSpec, 'demos'> = {}): VariableSpec => ({ kind: 'demos', ...spec }),
  lm: (spec: Without<VariableSpec, 'lm'>): VariableSpec => ({ kind: 'lm', ...spec }),
  module: (spec: Without<VariableSpec, 'module'> = {}): VariableSpec => ({ kind: 'module', ...spec }),
  adapter: (spec: Without<VariableSpec, 'adapter'> = {}): VariableSpec => ({ kind: 'adapter', ...spec }),
};

/** The values a discrete kind allows (undefined for float, int, text and demos). */
export function choicesOf(spec: VariableSpec): readonly JsonValue[] | undefined {
  switch (spec.kind) {
    case 'bool':
      return [false, true];
    case 'choice':
    case 'lm':
      return spec.choices;
    case 'module':
      return spec.choices ?? MODULE_KINDS;
    case 'adapter':
      return spec.choices ?? ADAPTER_NAMES;
    default:
      return undefined;
  }
}

/** The value a variable has before anyone sets one. */
export function fallbackOf(spec: VariableSpec): JsonValue {
  if (spec.default !== undefined) return spec.default;
  switch (spec.kind) {
    case 'float':
    case 'int':
      return spec.min;
    case 'text':
      return spec.candidates?.[0] ?? '';
    case 'demos':
      return [];
    default:
      return choicesOf(spec)![0] ?? null;
  }
}

/** How a value reads in a message: NaN, Infinity and undefined by name (JSON.stringify would say null). */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Why `value` is not plain JSON (what the store keeps and history replays), or undefined when it is. */
export function jsonProblem(value: unknown, path = 'the value', seen = new Set<object>()): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) return `${path} is ${value}, not a finite number`;
      return Object.is(value, -0) && path !== 'the value' ? `${path} is -0, which JSON keeps as 0: use 0` : undefined;
    case 'undefined':
      return `${path} is undefined, which is not JSON (use null, or leave the key out)`;
    case 'object':
      break;
    default:
      return `${path} is ${describeValue(value)}, which is not JSON`;
  }
  if (value === null) return undefined;
  if (seen.has(value)) return `${path} contains a cycle`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = jsonProblem(value[i], `${path}[${i}]`, seen);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return `${path} is a ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'object'}, not a plain JSON object`;
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, `${path}.${key}`, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

export function sameValue(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function onStep(value: number, min: number, step: number | undefined): boolean {
  if (step === undefined) return true;
  const k = (value - min) / step;
  return Math.abs(k - Math.round(k)) < 1e-9;
}

function isRecord(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Why `value` does not fit `spec` (the kind's own rules, then `validate`), or undefined when it does. */
export function problemOf(spec: VariableSpec, value: JsonValue | undefined): string | undefined {
  const problem = kindProblem(spec, value);
  if (problem !== undefined || spec.validate === undefined) return problem;
  let verdict: boolean | string | undefined;
  try {
    verdict = (spec.validate as (v: JsonValue) => boolean | string | undefined)(value as JsonValue);
  } catch (error) {
    return `its validate function threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (verdict === true || verdict === undefined) return undefined;
  return verdict === false ? `${JSON.stringify(value)} was refused by its validate function` : verdict;
}

function kindProblem(spec: VariableSpec, value: JsonValue | undefined): string | undefined {
  switch (spec.kind) {
    case 'float':
    case 'int': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a finite number, not ${describeValue(value)}`;
      if (spec.kind === 'int' && !Number.isInteger(value)) return `must be an integer, not ${value}`;
      if (value < spec.min || value > spec.max) return `${value} is outside [${spec.min}, ${spec.max}]`;
      if (!onStep(value, spec.min, spec.step)) return `${value} is not on the grid ${spec.min} + k·${spec.step}`;
      return undefined;
    }
    case 'text':
      return typeof value === 'string' ? undefined : `must be a string, not ${describeValue(value)}`;
    case 'demos':
      if (!Array.isArray(value) || !value.every(isRecord)) return `must be a list of records (one per demo, fields by name), not ${describeValue(value)}`;
      return jsonProblem(value, 'demos');
    default: {
      const choices = choicesOf(spec)!;
      return choices.some((c) => sameValue(c, value)) && jsonProblem(value) === undefined ? undefined : `${describeValue(value)} is not one of ${JSON.stringify(choices)}`;
    }
  }
}
