// The response cache of the LM clients, keyed as DSPy keys it (dspy/clients/cache.py `cache_key`): the
// sha256 of the request as JSON with keys sorted at every depth, without credentials and client settings.
// Two tiers, as DSPy's: an in-memory LRU, then a directory of JSON files (default .dspex-cache/).

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LMResponse } from '../primitives/lm.js';

/** Fields that never take part in a key (DSPy's ignored_args_for_cache_key, plus client-only settings). */
export const IGNORED_CACHE_KEYS: readonly string[] = ['api_key', 'api_base', 'base_url', 'apiKey', 'apiBase', 'headers', 'extra_headers', 'timeout', 'cache', 'signal'];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** orjson OPT_SORT_KEYS: compact JSON with object keys sorted at every depth; undefined members dropped. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** sha256 hex of the sorted JSON of `request` without the ignored top-level fields. */
export function cacheKey(request: Record<string, unknown>, ignored: readonly string[] = IGNORED_CACHE_KEYS): string {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (!ignored.includes(k)) params[k] = v;
  return createHash('sha256').update(sortedJson(params)).digest('hex');
}

/** A least-recently-used map: a hit moves the entry to the back, an insert past `maxEntries` drops the front. */
export class LruCache<V> {
  private readonly entries = new Map<string, V>();
  constructor(readonly maxEntries: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

interface DiskEntry {
  key: string;
  model: string;
  storedAt: string;
  response: LMResponse;
}

/** One JSON file per key under dir/<first two hex digits>/<key>.json, written atomically (temp + rename). */
export class DiskCache {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The stored response, or undefined when absent. An unreadable entry is deleted and reported through onCorrupt. */
  async get(key: string, onCorrupt?: (error: Error) => void): Promise<LMResponse | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const entry = JSON.parse(text) as DiskEntry;
      if (entry.key !== key || !Array.isArray(entry.response?.outputs)) throw new Error(`cache entry ${key} has the wrong shape`);
      return entry.response;
    } catch (error) {
      onCorrupt?.(error as Error);
      await rm(this.path(key), { force: true });
      return undefined;
    }
  }

  async set(key: string, response: LMResponse): Promise<void> {
    const path = this.path(key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    const entry: DiskEntry = { key, model: response.model, storedAt: new Date().toISOString(), response };
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, JSON.stringify(entry), 'utf8');
    await rename(temp, path);
  }
}
