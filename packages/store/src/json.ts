// The one encoding of values: plain JSON, checked before anything is written so that what comes back equals
// what went in. JSON.stringify would silently drop undefined, turn NaN into null and a Date into a string;
// here each of those is a StoreValueError that names the path.

import { StoreValueError } from './errors.js';

/** A value the store accepts: what JSON.parse(JSON.stringify(v)) returns unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const MAX_DEPTH = 512;

/** Checks `value` and returns its JSON text. Throws StoreValueError naming the first bad path. */
export function encodeJson(value: unknown, root = '$'): string {
  check(value, root, 0, new Set());
  return JSON.stringify(value);
}

export function decodeJson<T = JsonValue>(text: string): T {
  return JSON.parse(text) as T;
}

function check(value: unknown, path: string, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new StoreValueError(path, `${value} is not a JSON number`);
      if (Object.is(value, -0)) throw new StoreValueError(path, '-0 would come back as 0; store 0');
      return;
    case 'undefined':
      throw new StoreValueError(path, 'undefined is not JSON (use null, or leave the key out)');
    case 'bigint':
      throw new StoreValueError(path, 'a BigInt is not JSON (store it as a string)');
    case 'function':
    case 'symbol':
      throw new StoreValueError(path, `a ${typeof value} is not JSON`);
  }
  if (value === null) return;
  const object = value as object;
  if (depth >= MAX_DEPTH) throw new StoreValueError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (seen.has(object)) throw new StoreValueError(path, 'the value contains a cycle');
  seen.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) throw new StoreValueError(`${path}[${i}]`, 'an array hole would come back as null');
      check(object[i], `${path}[${i}]`, depth + 1, seen);
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const name = (object.constructor as { name?: string } | undefined)?.name ?? 'object';
      throw new StoreValueError(path, `a ${name} is not a plain object (convert it, e.g. a Date to an ISO string, a Map to an object)`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) throw new StoreValueError(path, 'symbol keys are not JSON');
    for (const key of Object.keys(object)) {
      check((object as Record<string, unknown>)[key], `${path}${propertyPath(key)}`, depth + 1, seen);
    }
  }
  seen.delete(object);
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
