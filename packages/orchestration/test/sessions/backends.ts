// The stores session tests run against: SQLite in a fresh temp directory, and PostgreSQL in a fresh schema of
// the database at DSPEX_TEST_POSTGRES_URL (default postgres://root@127.0.0.1:5432/test), dropped afterwards.
// Without a server the PostgreSQL run is skipped with a message, unless DSPEX_REQUIRE_SERVICES=1 (CI).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { openStore, type Store } from '@dspex/store';

// pg comes through @dspex/store's dependency (this package does not depend on pg itself): only the admin
// statements of the fixture (probe, DROP SCHEMA) need a raw client.
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error', listener: () => void): void;
}
const pg = createRequire(new URL('../../../store/package.json', import.meta.url))('pg') as { Client: new (options: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient };

export const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

async function postgresUnreachable(): Promise<string | undefined> {
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

const unreachable = await postgresUnreachable();
if (unreachable !== undefined) {
  if (process.env.DSPEX_REQUIRE_SERVICES === '1') throw new Error(`PostgreSQL at ${POSTGRES_URL} is required (DSPEX_REQUIRE_SERVICES=1) but unreachable: ${unreachable}`);
  console.warn(`[session tests] PostgreSQL at ${POSTGRES_URL} unreachable (${unreachable}); skipping the PostgreSQL run. Set DSPEX_TEST_POSTGRES_URL or start a server.`);
}

export interface StoreFixture {
  name: 'sqlite' | 'postgres';
  available: boolean;
  /** A fresh, empty store, and a way to open it again (a new process, a restart). */
  fresh(): Promise<{ store: Store; reopen(): Promise<Store> }>;
  cleanup(): Promise<void>;
}

function sqlite(): StoreFixture {
  const dirs: string[] = [];
  const stores: Store[] = [];
  return {
    name: 'sqlite',
    available: true,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-sessions-'));
      dirs.push(dir);
      const open = async () => {
        const store = await openStore({ sqlite: { dir, synchronous: 'normal' } });
        stores.push(store);
        return store;
      };
      return { store: await open(), reopen: open };
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
function postgres(): StoreFixture {
  const schemas: string[] = [];
  const stores: Store[] = [];
  return {
    name: 'postgres',
    available: unreachable === undefined,
    async fresh() {
      const schema = `dspex_sessions_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
      schemas.push(schema);
      const open = async () => {
        const store = await openStore({ postgres: { connectionString: POSTGRES_URL, schema, poolSize: 4 } });
        stores.push(store);
        return store;
      };
      return { store: await open(), reopen: open };
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      if (schemas.length === 0) return;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export const STORES: StoreFixture[] = [sqlite(), postgres()];
