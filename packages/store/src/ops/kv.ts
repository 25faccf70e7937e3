// The namespaced key-value with versions (variables, learner state, programs).

import { StoreConflictError } from '../errors.js';
import { decodeJson, encodeJson, type JsonValue } from '../json.js';
import type { KeyValue, KvEntry } from '../types.js';
import { checkId, checkLimit, checkVersion, type OpsContext } from './context.js';

interface KvRow {
  key: string;
  value: string;
  version: number;
  updated_at: number;
}

function toEntry(row: KvRow): KvEntry {
  return { value: decodeJson(row.value), version: Number(row.version), updatedAt: Number(row.updated_at) };
}

export function keyValue(ctx: OpsContext): KeyValue {
  // Byte order on both backends: PostgreSQL's default collation would sort by locale.
  const byKey = ctx.backend.dialect === 'postgres' ? 'key COLLATE "C"' : 'key';
  const conflict = async (ns: string, key: string, expectedVersion: number, actual: { version: number } | undefined): Promise<never> => {
    throw new StoreConflictError('kv', `${ns}/${key}`, { expectedVersion, actualVersion: actual === undefined ? 0 : Number(actual.version) });
  };
  return {
    async get(ns: string, key: string): Promise<KvEntry | undefined> {
      checkId(ns, 'ns');
      checkId(key, 'key');
      const row = await ctx.backend.read((tx) => tx.get<KvRow>('SELECT key, value, version, updated_at FROM dspex_kv WHERE ns = ? AND key = ?', [ns, key]));
      return row === undefined ? undefined : toEntry(row);
    },

    async put(ns: string, key: string, value: JsonValue, expectedVersion?: number): Promise<number> {
      checkId(ns, 'ns');
      checkId(key, 'key');
      const expected = expectedVersion === undefined ? undefined : checkVersion(expectedVersion, 'expectedVersion');
      const text = encodeJson(value as unknown, '$.value');
      const now = ctx.now();
      return ctx.backend.write(async (tx) => {
        let row: { version: number } | undefined;
        if (expected === undefined) {
          row = await tx.get(
            `INSERT INTO dspex_kv (ns, key, value, version, updated_at) VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, version = dspex_kv.version + 1, updated_at = excluded.updated_at RETURNING version`,
            [ns, key, text, now],
          );
        } else if (expected === 0) {
          row = await tx.get('INSERT INTO dspex_kv (ns, key, value, version, updated_at) VALUES (?, ?, ?, 1, ?) ON CONFLICT (ns, key) DO NOTHING RETURNING version', [ns, key, text, now]);
        } else {
          row = await tx.get('UPDATE dspex_kv SET value = ?, version = version + 1, updated_at = ? WHERE ns = ? AND key = ? AND version = ? RETURNING version', [text, now, ns, key, expected]);
        }
        if (row !== undefined) return Number(row.version);
        return conflict(ns, key, expected ?? 0, await tx.get<{ version: number }>('SELECT version FROM dspex_kv WHERE ns = ? AND key = ?', [ns, key]));
      });
    },

    async delete(ns: string, key: string, expectedVersion?: number): Promise<boolean> {
      checkId(ns, 'ns');
      checkId(key, 'key');
      const expected = expectedVersion === undefined ? undefined : checkVersion(expectedVersion, 'expectedVersion');
      return ctx.backend.write(async (tx) => {
        if (expected === undefined) return (await tx.run('DELETE FROM dspex_kv WHERE ns = ? AND key = ?', [ns, key])) > 0;
        const deleted = await tx.run('DELETE FROM dspex_kv WHERE ns = ? AND key = ? AND version = ?', [ns, key, expected]);
        if (deleted > 0) return true;
        const actual = await tx.get<{ version: number }>('SELECT version FROM dspex_kv WHERE ns = ? AND key = ?', [ns, key]);
        if (actual === undefined && expected === 0) return false;
        return conflict(ns, key, expected, actual);
      });
    },

    async list(ns: string, options: { prefix?: string; limit?: number } = {}): Promise<Array<{ key: string } & KvEntry>> {
      checkId(ns, 'ns');
      const limit = checkLimit(options.limit, 'limit', 1000);
      const prefix = options.prefix ?? '';
      const rows = await ctx.backend.read((tx) =>
        tx.all<KvRow>(`SELECT key, value, version, updated_at FROM dspex_kv WHERE ns = ? AND substr(key, 1, ?) = ? ORDER BY ${byKey} LIMIT ?`, [ns, [...prefix].length, prefix, limit]),
      );
      return rows.map((row) => ({ key: row.key, ...toEntry(row) }));
    },
  };
}
