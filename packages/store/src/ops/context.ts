// What every operation gets: the backend, the clock, and the argument checks they share.

import { StoreValueError } from '../errors.js';
import type { Backend } from '../sql.js';

export interface OpsContext {
  backend: Backend;
  /** ms since the epoch; a test may pass a fake clock. */
  now: () => number;
}

/** A record id or key: a non-empty string. */
export function checkId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new StoreValueError(name, `must be a non-empty string, not ${describe(value)}`);
  return value;
}

/** A version: a non-negative integer. */
export function checkVersion(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreValueError(name, `must be a non-negative integer version (0: the record must not exist yet), not ${describe(value)}`);
  }
  return value;
}

export function checkLimit(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new StoreValueError(name, `must be a non-negative integer, not ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
