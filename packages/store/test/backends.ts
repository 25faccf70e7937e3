// The backends every contract test runs against. SQLite: a fresh temp directory per test. PostgreSQL: a fresh
// schema per test in the database at DSPEX_TEST_POSTGRES_URL (default postgres://root@127.0.0.1:5432/test),
// dropped afterwards. Without a server the PostgreSQL run is skipped with a message, unless
// DSPEX_REQUIRE_SERVICES=1 (CI), where a missing server fails the suite.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store, type StoreOptions } from '../src/index.js';

export const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

export interface Fresh {
  store: Store;
  options: StoreOptions;
  /** Opens another store on the same database (a second process, a restart). */
  reopen(extra?: Partial<{ clock: () => number; groupCommit: boolean }>): Promise<Store>;
  /** Runs raw SQL on the same database (for tests that tamper with it). */
  raw(sql: string): Promise<void>;
}

export interface BackendFixture {
  name: 'sqlite' | 'postgres' | 'sqlite+group' | 'postgres+group';
  available: boolean;
  /** A fresh, empty, migrated store; removed after the test by `cleanup`. */
  fresh(extra?: { clock?: () => number }): Promise<Fresh>;
  cleanup(): Promise<void>;
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || String((error as { code?: string }).code) : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await postgresReachable();
if (unreachable !== undefined) {
  if (process.env.DSPEX_REQUIRE_SERVICES === '1') {
    throw new Error(`PostgreSQL at ${POSTGRES_URL} is required (DSPEX_REQUIRE_SERVICES=1) but unreachable: ${unreachable}`);
  }
  console.warn(`[store tests] PostgreSQL at ${POSTGRES_URL} unreachable (${unreachable}); skipping the PostgreSQL run. Set DSPEX_TEST_POSTGRES_URL or start a server; CI (DSPEX_REQUIRE_SERVICES=1) requires it.`);
}

function sqliteFixture(groupCommit: boolean): BackendFixture {
  const dirs: string[] = [];
  const stores: Store[] = [];
  return {
    name: groupCommit ? 'sqlite+group' : 'sqlite',
    available: true,
    async fresh(extra = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-store-'));
      dirs.push(dir);
      const open = async (more: Partial<{ clock: () => number; groupCommit: boolean }> = {}) => {
        const options: StoreOptions = { sqlite: { dir, groupCommit: more.groupCommit ?? groupCommit }, ...(more.clock ?? extra.clock ? { clock: more.clock ?? extra.clock } : {}) };
        const store = await openStore(options);
        stores.push(store);
        return { store, options };
      };
      const { store, options } = await open();
      return {
        store,
        options,
        reopen: async (more) => (await open(more)).store,
        raw: async (sql) => {
          const { default: Database } = await import('better-sqlite3');
          const db = new Database(join(dir, 'dspex.sqlite'));
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
      };
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let schemaCounter = 0;

function postgresFixture(groupCommit: boolean): BackendFixture {
  const schemas: string[] = [];
  const stores: Store[] = [];
  const admin = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    name: groupCommit ? 'postgres+group' : 'postgres',
    available: unreachable === undefined,
    async fresh(extra = {}) {
      const schema = `dspex_test_${process.pid}_${++schemaCounter}_${Math.random().toString(36).slice(2, 8)}`;
      schemas.push(schema);
      const open = async (more: Partial<{ clock: () => number; groupCommit: boolean }> = {}) => {
        const clock = more.clock ?? extra.clock;
        const options: StoreOptions = { postgres: { connectionString: POSTGRES_URL, schema, poolSize: 4, groupCommit: more.groupCommit ?? groupCommit }, ...(clock ? { clock } : {}) };
        const store = await openStore(options);
        stores.push(store);
        return { store, options };
      };
      const { store, options } = await open();
      return {
        store,
        options,
        reopen: async (more) => (await open(more)).store,
        raw: (sql) => admin(`SET search_path TO ${schema}; ${sql}`),
      };
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      for (const schema of schemas.splice(0)) await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

export const BACKENDS: BackendFixture[] = [sqliteFixture(false), sqliteFixture(true), postgresFixture(false), postgresFixture(true)];
