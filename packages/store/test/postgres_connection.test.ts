// PostgreSQL connection loss: typed errors, and the pool reconnects on the next call. Skipped without a server
// (required in CI, see backends.ts).

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError, openStore, type Store } from '../src/index.js';
import { BACKENDS, POSTGRES_URL } from './backends.js';

const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
const opened: Store[] = [];
const schema = `dspex_conn_${process.pid}`;

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe.skipIf(!postgres.available)('postgres connection loss', () => {
  afterEach(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('a connection the server drops is reported, and the next call reconnects', async () => {
    const applicationName = `dspex-store-test-${process.pid}`;
    const dropped: StoreUnavailableError[] = [];
    let onDropped!: () => void;
    const droppedOnce = new Promise<void>((resolve) => (onDropped = resolve));
    const store = await openStore({
      postgres: { connectionString: POSTGRES_URL, schema, poolSize: 1, applicationName, onConnectionError: (e) => (dropped.push(e), onDropped()) },
    });
    opened.push(store);
    await store.kv.put('ns', 'k', 1);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    await admin.end();
    expect(killed.rowCount).toBe(1);
    await droppedOnce;
    expect(dropped[0]).toBeInstanceOf(StoreUnavailableError);
    expect(dropped[0]).toMatchObject({ code: 'DSPEX_STORE_UNAVAILABLE', backend: 'postgres' });
    expect(await store.kv.put('ns', 'k', 2, 1)).toBe(2);
  });

  it('an unreachable server is StoreUnavailableError at open, with the cause attached', async () => {
    const error = await openStore({ postgres: { connectionString: 'postgres://root@127.0.0.1:1/test', connectTimeoutMs: 2000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toBeDefined();
    expect((error as Error).message).toMatch(/Check that the server is running/);
  });
});
