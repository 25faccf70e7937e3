// DSPy's Example: one record of named fields (a training row, a demo), with the split between input fields
// and labels. Fields read like properties (`example.question`) through a Proxy, as in DSPy; methods win over
// fields of the same name, which stay reachable with get()/set().

import { ExampleInputsNotSetError, MissingFieldError } from './errors.js';
import type { Fields } from '../signatures/infer.js';
import { isPlainRecord } from '../utils/plain_record.js';

export { isPlainRecord };

export type { Fields };

/** Field names starting with this are DSPy's bookkeeping (dspy_uuid, dspy_split), hidden from keys() by default. */
const DSPY_PREFIX = 'dspy_';

const fieldAccess: ProxyHandler<ExampleRecord> = {
  get(target, property, receiver) {
    if (typeof property !== 'string' || property in target) return Reflect.get(target, property, receiver);
    if (Object.prototype.hasOwnProperty.call(target._store, property)) return target._store[property];
    return undefined;
  },
  set(target, property, value, receiver) {
    if (typeof property !== 'string' || property.startsWith('_') || property in target) {
      return Reflect.set(target, property, value, receiver);
    }
    target._store[property] = value;
    return true;
  },
  has(target, property) {
    return property in target || (typeof property === 'string' && Object.prototype.hasOwnProperty.call(target._store, property));
  },
  deleteProperty(target, property) {
    if (typeof property === 'string' && Object.prototype.hasOwnProperty.call(target._store, property)) {
      delete target._store[property];
      return true;
    }
    return Reflect.deleteProperty(target, property);
  },
};

/** The runtime class of Example; the `Example<I, O>` type below gives its field view. */
export class ExampleRecord {
  // Errors and reprs name the class as DSPy does ("Example"), not by this module-private name.
  static {
    Object.defineProperty(this, 'name', { value: 'Example' });
  }

  /** Fields by name, in insertion order. Read through get()/property access; exposed for subclasses and the Proxy. */
  _store: Fields;
  _inputKeys: Set<string> | null = null;
  /** Any field, read as a property (DSPy's __getattr__); undefined when absent. */
  [field: string]: unknown;

  /** Copy fields from `base` (a record or another Example, whose input keys are kept), then apply `fields`. */
  constructor(base?: Fields | Example | null, fields?: Fields) {
    if (base instanceof Example) {
      this._store = { ...base._store };
      if (base._inputKeys) this._inputKeys = new Set(base._inputKeys);
    } else {
      this._store = { ...(base ?? {}) };
    }
    if (fields) Object.assign(this._store, fields);
    return new Proxy(this, fieldAccess);
  }

  /** The value of `key`, or `fallback` when absent (DSPy's get). */
  get<V = unknown>(key: string, fallback?: V): V {
    return (Object.prototype.hasOwnProperty.call(this._store, key) ? this._store[key] : fallback) as V;
  }

  /** The value of `key`; throws MissingFieldError when absent (DSPy's example[key]). */
  require<V = unknown>(key: string): V {
    if (!Object.prototype.hasOwnProperty.call(this._store, key)) throw new MissingFieldError(key, this.constructor.name);
    return this._store[key] as V;
  }

  set(key: string, value: unknown): this {
    this._store[key] = value;
    return this;
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this._store, key);
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    delete this._store[key];
    return true;
  }

  /** Number of fields, not counting dspy_* bookkeeping. */
  get size(): number {
    return this.keys().length;
  }

  keys(includeDspy = false): string[] {
    return Object.keys(this._store).filter((key) => includeDspy || !key.startsWith(DSPY_PREFIX));
  }

  values(includeDspy = false): unknown[] {
    return this.keys(includeDspy).map((key) => this._store[key]);
  }

  items(includeDspy = false): Array<[string, unknown]> {
    return this.keys(includeDspy).map((key) => [key, this._store[key]]);
  }

  /** The input field names set by withInputs, or null. */
  get inputKeys(): ReadonlySet<string> | null {
    return this._inputKeys;
  }

  /** A copy whose `keys` are the inputs; every other field is a label. */
  withInputs(...keys: string[]): this {
    const copied = this.copy();
    copied._inputKeys = new Set(keys);
    return copied;
  }

  /** A new Example holding only the input fields (keeps the input keys). */
  inputs(): this {
    const inputKeys = this._inputKeys;
    if (inputKeys === null) throw new ExampleInputsNotSetError();
    const picked: Fields = {};
    for (const key of Object.keys(this._store)) if (inputKeys.has(key)) picked[key] = this._store[key];
    const instance = this.create(picked);
    instance._inputKeys = inputKeys;
    return instance;
  }

  /** A new Example holding every field that is not an input (DSPy gives it no input keys). */
  labels(): this {
    const inputKeys = new Set(this.inputs().keys());
    const picked: Fields = {};
    for (const key of Object.keys(this._store)) if (!inputKeys.has(key)) picked[key] = this._store[key];
    return this.create(picked);
  }

  /** A shallow copy with `overrides` applied; the input keys are kept. */
  copy(overrides?: Fields): this {
    const Ctor = this.constructor as new (base: Example, fields?: Fields) => this;
    return new Ctor(this, overrides);
  }

  /** A copy without `keys`. */
  without(...keys: string[]): this {
    const copied = this.copy();
    for (const key of keys) delete copied._store[key];
    return copied;
  }

  /** A plain, JSON-friendly record: nested Examples/Predictions become records too (DSPy's toDict). */
  toDict(): Fields {
    const out: Fields = {};
    for (const [key, value] of Object.entries(this._store)) out[key] = toSerializable(value);
    return out;
  }

  toJSON(): Fields {
    return this.toDict();
  }

  /** DSPy's __eq__: same fields with equal values (input keys are not compared). */
  equals(other: unknown): boolean {
    return other instanceof Example && deepEqual(this._store, other._store);
  }

  [Symbol.iterator](): Iterator<string> {
    return Object.keys(this._store)[Symbol.iterator]();
  }

  toString(): string {
    const visible = Object.fromEntries(this.items());
    const inputs = this._inputKeys ? `{${[...this._inputKeys].map((k) => `'${k}'`).join(', ')}}` : 'None';
    return `Example(${JSON.stringify(visible)}) (input_keys=${inputs})`;
  }

  /** An instance of the same class from plain fields (public only so that typed views stay assignable to Example). */
  create(fields: Fields): this {
    const Ctor = this.constructor as new (base: Fields) => this;
    return new Ctor(fields);
  }
}

/** Methods that return the receiver's own type, which the typed view keeps typed. */
type SelfReturning = 'set' | 'withInputs' | 'inputs' | 'labels' | 'copy' | 'without' | 'create';
/** Drops index signatures (the loose field access) from a class's members. */
export type KnownKey<K> = string extends K ? never : number extends K ? never : K;
/** A method returning `Self` instead of the record class (an exported helper of the typed views). */
export type ReturningSelf<M, Self> = M extends (...args: infer A) => unknown ? (...args: A) => Self : M;

/** An Example whose fields are F: reading a field F does not name is a compile error. */
export type TypedExample<F extends Fields> = {
  [K in keyof ExampleRecord as KnownKey<K>]: K extends SelfReturning ? ReturningSelf<ExampleRecord[K], TypedExample<F>> : ExampleRecord[K];
} & F;

/**
 * DSPy's Example. `Example` (no arguments) reads any field as `unknown`; `Example<I, O>` holds the inputs I and the
 * labels O of a typed program (`Example<InputsOf<typeof sig>, OutputsOf<typeof sig>>`), fields read with their types.
 */
export type Example<I extends Fields = Fields, O extends Fields = Fields> = Fields extends I & O ? ExampleRecord : TypedExample<I & O>;

/** The `Example` value: `new Example(fields)` is a loose Example; `new Example<I, O>(fields)` a typed one. */
export interface ExampleConstructor {
  /** Copies fields from `base` (a record or another Example, whose input keys are kept), then applies `fields`. */
  new (base?: Fields | Example | null, fields?: Fields): Example;
  /** A typed example: `new Example<{ question: string }, { answer: string }>({ question, answer }).withInputs('question')`. */
  new <I extends Fields, O extends Fields = Record<never, never>>(base: I & O, fields?: Partial<I & O>): Example<I, O>;
  readonly prototype: ExampleRecord;
}

/** DSPy's Example (see the `Example<I, O>` type). */
export const Example: ExampleConstructor = ExampleRecord;

/** DSPy's convert_to_serializable: objects with toDict() become records, lists and records are walked. */
export function toSerializable(value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    const withToDict = value as { toDict?: unknown };
    if (typeof withToDict.toDict === 'function') return (withToDict.toDict as () => unknown).call(value);
    if (Array.isArray(value)) return value.map(toSerializable);
    if (isPlainRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toSerializable(v)]));
  }
  return value;
}


/** Structural equality of JSON-like values (Example stores compare this way). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Example && b instanceof Example) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isPlainRecord(a) && isPlainRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}
