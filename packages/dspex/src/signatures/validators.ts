// Validators with pydantic's lax-mode coercion: "5" -> 5 for int, "yes" -> true for bool, 5.0 -> 5, tuples
// and sets from lists. Unions use pydantic's smart mode: an exact (strict) match in member order first, then
// the first lax match. Types (type_validator.ts) and JSON Schemas (schema_validator.ts) compile into these.

import { pyRepr } from '../utils/py_json.js';
import type { ValidationIssue } from './errors.js';
import type { LiteralValue } from './types.js';

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

/** Collects issues while a value is validated; `null` while a union member is only being tried. */
export interface IssueSink {
  readonly issues: ValidationIssue[];
  readonly path: (string | number)[];
}

/** Returns the coerced value, or INVALID after recording why in `sink` (when there is one). */
export type Validator = (value: unknown, strict: boolean, sink: IssueSink | null) => unknown;

function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return Array.isArray(value) ? 'list' : 'dict';
}

export function fail(sink: IssueSink | null, type: string, message: string, value: unknown): Invalid {
  if (sink !== null) {
    sink.issues.push({ path: [...sink.path], type, message: `${message} [type=${type}, input_value=${pyRepr(value)}, input_type=${pyTypeName(value)}]` });
  }
  return INVALID;
}

function trimmed(text: string): string {
  return text.trim();
}

const INT_TEXT = /^[+-]?\d+(?:_\d+)*(?:\.0*)?$/;
const FLOAT_TEXT = /^[+-]?(?:(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

export const validateStr: Validator = (value, _strict, sink) =>
  typeof value === 'string' ? value : fail(sink, 'string_type', 'Input should be a valid string', value);

export const validateInt: Validator = (value, strict, sink) => {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    if (strict || !Number.isFinite(value)) return fail(sink, 'int_type', 'Input should be a valid integer', value);
    return fail(sink, 'int_from_float', 'Input should be a valid integer, got a number with a fractional part', value);
  }
  if (!strict && typeof value === 'boolean') return value ? 1 : 0;
  if (!strict && typeof value === 'string') {
    const text = trimmed(value);
    if (INT_TEXT.test(text)) return Number(text.replaceAll('_', ''));
    return fail(sink, 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer', value);
  }
  return fail(sink, 'int_type', 'Input should be a valid integer', value);
};

export const validateFloat: Validator = (value, strict, sink) => {
  if (typeof value === 'number') return value;
  if (!strict && typeof value === 'boolean') return value ? 1 : 0;
  if (!strict && typeof value === 'string') {
    const text = trimmed(value);
    if (FLOAT_TEXT.test(text)) {
      const lower = text.toLowerCase().replace(/^\+/, '');
      if (lower.endsWith('nan')) return Number.NaN;
      if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? -Infinity : Infinity;
      const number = Number(text.replaceAll('_', ''));
      if (!Number.isNaN(number)) return number;
    }
    return fail(sink, 'float_parsing', 'Input should be a valid number, unable to parse string as a number', value);
  }
  return fail(sink, 'float_type', 'Input should be a valid number', value);
};

const TRUE_TEXT = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_TEXT = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

export const validateBool: Validator = (value, strict, sink) => {
  if (typeof value === 'boolean') return value;
  if (strict) return fail(sink, 'bool_type', 'Input should be a valid boolean', value);
  if (typeof value === 'number') {
    if (value === 1 || value === 0) return value === 1;
    return fail(sink, 'bool_parsing', 'Input should be a valid boolean, unable to interpret input', value);
  }
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (TRUE_TEXT.has(lower)) return true;
    if (FALSE_TEXT.has(lower)) return false;
    return fail(sink, 'bool_parsing', 'Input should be a valid boolean, unable to interpret input', value);
  }
  return fail(sink, 'bool_type', 'Input should be a valid boolean', value);
};

export const validateNone: Validator = (value, _strict, sink) =>
  value === null || value === undefined ? null : fail(sink, 'none_required', 'Input should be None', value);

export const validateAny: Validator = (value) => value;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Set) && !(value instanceof Map);
}

/** Arrays pass; lax mode also takes Sets (pydantic takes tuples and sets, which arrive here as arrays). */
function asArray(value: unknown, strict: boolean): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (!strict && value instanceof Set) return [...value];
  return null;
}

export function itemsValidator(item: Validator, kind: 'list' | 'set' | 'tuple'): Validator {
  const typeName = kind === 'list' ? 'list' : kind === 'set' ? 'set' : 'tuple';
  return (value, strict, sink) => {
    const array = asArray(value, strict);
    if (array === null) return fail(sink, `${typeName}_type`, `Input should be a valid ${typeName}`, value);
    const out: unknown[] = [];
    let ok = true;
    for (let i = 0; i < array.length; i++) {
      sink?.path.push(i);
      const result = item(array[i], strict, sink);
      sink?.path.pop();
      if (result === INVALID) ok = false;
      else out.push(result);
    }
    if (!ok) return INVALID;
    return kind === 'set' ? uniqueItems(out) : out;
  };
}

/** A set's items without repeats, first occurrence first (JSON has no set; this is what the set holds). */
export function uniqueItems(items: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const keys = new Set<string>();
  const out: unknown[] = [];
  for (const item of items) {
    if (item !== null && typeof item === 'object') {
      const key = JSON.stringify(item);
      if (keys.has(key)) continue;
      keys.add(key);
    } else if (seen.has(item)) continue;
    else seen.add(item);
    out.push(item);
  }
  return out;
}

export function fixedTupleValidator(items: readonly Validator[]): Validator {
  return (value, strict, sink) => {
    const array = asArray(value, strict);
    if (array === null) return fail(sink, 'tuple_type', 'Input should be a valid tuple', value);
    if (array.length > items.length) {
      return fail(sink, 'too_long', `Tuple should have at most ${items.length} item${items.length === 1 ? '' : 's'} after validation, not ${array.length}`, value);
    }
    const out: unknown[] = [];
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      sink?.path.push(i);
      const result = i < array.length ? items[i]!(array[i], strict, sink) : fail(sink, 'missing', 'Field required', array);
      sink?.path.pop();
      if (result === INVALID) ok = false;
      else out.push(result);
    }
    return ok ? out : INVALID;
  };
}

export function dictValidator(key: Validator, item: Validator): Validator {
  return (value, strict, sink) => {
    if (!isPlainObject(value)) return fail(sink, 'dict_type', 'Input should be a valid dictionary', value);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const name of Object.keys(value)) {
      sink?.path.push(name);
      // JSON keys are strings; a typed key (dict[int, str]) is coerced laxly and kept in its canonical text.
      const coercedKey = key(name, false, sink);
      const result = item(value[name], strict, sink);
      sink?.path.pop();
      if (coercedKey === INVALID || result === INVALID) ok = false;
      else out[String(coercedKey)] = result;
    }
    return ok ? out : INVALID;
  };
}

function literalText(value: LiteralValue): string {
  return pyRepr(value);
}

export function literalValidator(values: readonly LiteralValue[]): Validator {
  const expected = values.length === 1 ? literalText(values[0]!) : `${values.slice(0, -1).map(literalText).join(', ')} or ${literalText(values[values.length - 1]!)}`;
  return (value, _strict, sink) => {
    for (const allowed of values) if (allowed === value) return allowed;
    // Python's True == 1: a bool matches the int literal of the same value.
    if (typeof value === 'boolean') for (const allowed of values) if (allowed === (value ? 1 : 0)) return allowed;
    if (value === undefined && values.includes(null)) return null;
    return fail(sink, 'literal_error', `Input should be ${expected}`, value);
  };
}

/** pydantic's smart union: the first strict match, else the first lax match; all members' issues on failure. */
export function unionValidator(members: readonly Validator[]): Validator {
  return (value, strict, sink) => {
    for (const member of members) {
      const result = member(value, true, null);
      if (result !== INVALID) return result;
    }
    if (!strict) {
      for (const member of members) {
        const result = member(value, false, null);
        if (result !== INVALID) return result;
      }
    }
    if (sink !== null) for (const member of members) member(value, strict, sink);
    return INVALID;
  };
}
