// openStore: picks the backend from the options, brings the schema up to date, and returns the Store.

import { PostgresBackend, type PostgresOptions } from './backends/postgres.js';
import { SqliteBackend, type SqliteOptions } from './backends/sqlite.js';
import { StoreClosedError, StoreConfigError } from './errors.js';
import { migrate } from './migrations.js';
import type { OpsContext } from './ops/context.js';
import { keyValue } from './ops/kv.js';
import * as runs from './ops/runs.js';
import * as sessions from './ops/sessions.js';
import type { Backend } from './sql.js';
import type { Store } from './types.js';

/** Exactly one of `sqlite` (the embedded default) or `postgres`. */
export type StoreOptions = ({ sqlite: SqliteOptions; postgres?: never } | { postgres: PostgresOptions; sqlite?: never }) & {
  /** ms since the epoch for timestamps (updatedAt, listIdle). Default Date.now; tests pass a fake clock. */
  clock?: () => number;
};

/**
 * Opens (creating if needed) the store and applies pending migrations. Rejects with StoreConfigError for bad
 * options, StoreSchemaTooNewError for a database written by a newer @dspex/store, StoreMigrationError, or
 * StoreUnavailableError when PostgreSQL cannot be reached.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  if (options === null || typeof options !== 'object') throw new StoreConfigError('options', 'pass { sqlite: { dir } } or { postgres: { connectionString } }.');
  const hasSqlite = options.sqlite !== undefined;
  const hasPostgres = options.postgres !== undefined;
  if (hasSqlite === hasPostgres) {
    throw new StoreConfigError(hasSqlite ? 'sqlite/postgres' : 'options', 'pass exactly one of { sqlite: { dir } } (embedded default) or { postgres: { connectionString } }.');
  }
  const now = options.clock ?? Date.now;
  let backend: Backend;
  if (options.postgres !== undefined) {
    const postgres = new PostgresBackend(options.postgres);
    backend = postgres;
    try {
      await postgres.ensureSchema();
    } catch (error) {
      await postgres.close();
      throw error;
    }
  } else {
    backend = new SqliteBackend(options.sqlite!);
  }
  try {
    await migrate(backend, now);
  } catch (error) {
    await backend.close();
    throw error;
  }
  return storeOn(backend, now);
}

function storeOn(backend: Backend, now: () => number): Store {
  const ctx: OpsContext = { backend, now };
  let closed = false;
  let closing: Promise<void> | undefined;
  const guard = <A extends unknown[], R>(name: string, op: (ctx: OpsContext, ...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => (closed ? Promise.reject(new StoreClosedError(name)) : op(ctx, ...args));
  const kv = keyValue(ctx);
  return {
    backend: backend.dialect,
    createRun: guard('createRun', runs.createRun),
    getRun: guard('getRun', runs.getRun),
    loadRun: guard('loadRun', runs.loadRun),
    updateRun: guard('updateRun', runs.updateRun),
    listRuns: guard('listRuns', runs.listRuns),
    deleteRun: guard('deleteRun', runs.deleteRun),
    appendJournal: guard('appendJournal', runs.appendJournal),
    readJournal: guard('readJournal', runs.readJournal),
    loadSession: guard('loadSession', sessions.loadSession),
    saveSession: guard('saveSession', sessions.saveSession),
    appendTurn: guard('appendTurn', sessions.appendTurn),
    readTurns: guard('readTurns', sessions.readTurns),
    listIdle: guard('listIdle', sessions.listIdle),
    deleteSession: guard('deleteSession', sessions.deleteSession),
    kv: {
      get: guard('kv.get', (_ctx, ns: string, key: string) => kv.get(ns, key)),
      put: guard('kv.put', (_ctx, ns: string, key: string, value: Parameters<typeof kv.put>[2], expectedVersion?: number) => kv.put(ns, key, value, expectedVersion)),
      delete: guard('kv.delete', (_ctx, ns: string, key: string, expectedVersion?: number) => kv.delete(ns, key, expectedVersion)),
      list: guard('kv.list', (_ctx, ns: string, options?: { prefix?: string; limit?: number }) => kv.list(ns, options)),
    },
    schemaVersion: guard('schemaVersion', async ({ backend: b }) => Number((await b.read((tx) => tx.get<{ v: number }>('SELECT MAX(version) AS v FROM dspex_migrations')))?.v ?? 0)),
    close(): Promise<void> {
      closed = true;
      closing ??= backend.close();
      return closing;
    },
    get closed() {
      return closed;
    },
  };
}
