// bench:store — journal append latency, p50/p99 per backend and durability setting, sequential (one pipeline
// step after another: what a durable step adds) and with 16 concurrent writers (group commit's case, on both
// backends), plus session hydrate latency. The last line is one JSON object; the pipeline bench builds on these figures.
// PostgreSQL runs when DSPEX_TEST_POSTGRES_URL (default postgres://root@127.0.0.1:5432/test) answers.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store, type StoreOptions } from '../src/index.js';

const N = Number(process.env.DSPEX_BENCH_APPENDS ?? 2000);
const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const payload = { answer: 'x'.repeat(200), reasoning: 'y'.repeat(300), score: 0.87 };

function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(3));
}

async function sequentialAppends(store: Store): Promise<{ p50: number; p99: number }> {
  await store.createRun({ runId: 'bench-seq', pipeline: 'bench' });
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await store.appendJournal('bench-seq', { stepKey: `step-${i}`, value: payload });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function concurrentAppends(store: Store, writers = 16): Promise<{ p50: number; p99: number; per_s: number }> {
  const per = Math.floor(N / writers);
  const times: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const runId = `bench-conc-${w}`;
      await store.createRun({ runId, pipeline: 'bench' });
      for (let i = 0; i < per; i++) {
        const t = process.hrtime.bigint();
        await store.appendJournal(runId, { stepKey: `step-${i}`, value: payload });
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), per_s: Math.round((per * writers) / seconds) };
}

async function hydrate(store: Store): Promise<number> {
  for (let s = 0; s < 200; s++) for (let t = 0; t < 10; t++) await store.appendTurn(`s${s}`, { q: `question ${t}`, a: 'answer '.repeat(20) }, t === 0 ? {} : { state: { turns: t } });
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (let s = 0; s < 200; s++) {
      const t = process.hrtime.bigint();
      await store.loadSession(`s${s}`);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  times.sort((a, b) => a - b);
  return percentile(times, 50);
}

async function measure(options: () => StoreOptions, cleanup: () => Promise<void>) {
  const open = () => openStore(options());
  try {
    let store = await open();
    const seq = await sequentialAppends(store);
    const conc = await concurrentAppends(store);
    const hydrateP50 = await hydrate(store);
    await store.close();
    return { seq, conc, hydrateP50 };
  } finally {
    await cleanup();
  }
}

function sqlite(extra: { synchronous?: 'full' | 'normal'; groupCommit?: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-bench-'));
  return measure(() => ({ sqlite: { dir, ...extra } }), async () => rmSync(dir, { recursive: true, force: true }));
}

async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgres(synchronousCommit?: 'off', groupCommit = false) {
  const schema = `dspex_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  return measure(
    () => ({ postgres: { connectionString: POSTGRES_URL, schema, groupCommit, ...(synchronousCommit ? { synchronousCommit } : {}) } }),
    () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  );
}

/** The practical limit on PostgreSQL: one autocommit INSERT of the same payload (one fsynced commit). */
async function postgresCommitFloor(): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  const table = `dspex_bench_floor_${process.pid}`;
  await client.query(`CREATE TABLE ${table} (id SERIAL PRIMARY KEY, value TEXT)`);
  const times: number[] = [];
  try {
    for (let i = 0; i < Math.min(N, 1000); i++) {
      const t = process.hrtime.bigint();
      await client.query(`INSERT INTO ${table} (value) VALUES ($1)`, [JSON.stringify(payload)]);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    await client.query(`DROP TABLE ${table}`);
    await client.end();
  }
  return percentile(times.sort((a, b) => a - b), 50);
}

const sqliteFull = await sqlite({ synchronous: 'full' });
console.log('sqlite synchronous=full (fsync per commit)', JSON.stringify(sqliteFull));
const sqliteGroup = await sqlite({ synchronous: 'full', groupCommit: true });
console.log('sqlite synchronous=full + group commit', JSON.stringify(sqliteGroup));
const sqliteNormal = await sqlite({ synchronous: 'normal' });
console.log('sqlite synchronous=normal (fsync at checkpoints)', JSON.stringify(sqliteNormal));
const pgUp = await postgresUp();
const pgFloor = pgUp ? await postgresCommitFloor() : undefined;
const pgOn = pgUp ? await postgres() : undefined;
if (pgOn) console.log('postgres synchronous_commit=on', JSON.stringify(pgOn));
const pgOff = pgUp ? await postgres('off') : undefined;
if (pgOff) console.log('postgres synchronous_commit=off', JSON.stringify(pgOff));
const pgGroup = pgUp ? await postgres(undefined, true) : undefined;
if (pgGroup) console.log('postgres synchronous_commit=on + group commit', JSON.stringify(pgGroup));
if (!pgUp) console.log(`postgres at ${POSTGRES_URL} unreachable: its fields are null`);

console.log(
  JSON.stringify({
    appends: N,
    payload_bytes: JSON.stringify(payload).length,
    journal_append_ms_p50_sqlite: sqliteFull.seq.p50,
    journal_append_ms_p99_sqlite: sqliteFull.seq.p99,
    journal_append_ms_p50_sqlite_normal: sqliteNormal.seq.p50,
    journal_append_ms_p99_sqlite_normal: sqliteNormal.seq.p99,
    journal_append_ms_p50_sqlite_c16: sqliteFull.conc.p50,
    journal_append_ms_p99_sqlite_c16: sqliteFull.conc.p99,
    journal_appends_per_s_sqlite_c16: sqliteFull.conc.per_s,
    journal_append_ms_p50_sqlite_group_c16: sqliteGroup.conc.p50,
    journal_append_ms_p99_sqlite_group_c16: sqliteGroup.conc.p99,
    journal_appends_per_s_sqlite_group_c16: sqliteGroup.conc.per_s,
    journal_append_ms_p50_postgres: pgOn?.seq.p50 ?? null,
    journal_append_ms_p99_postgres: pgOn?.seq.p99 ?? null,
    postgres_commit_floor_ms_p50: pgFloor ?? null,
    journal_append_ms_p50_postgres_async_commit: pgOff?.seq.p50 ?? null,
    journal_append_ms_p99_postgres_async_commit: pgOff?.seq.p99 ?? null,
    journal_append_ms_p50_postgres_c16: pgOn?.conc.p50 ?? null,
    journal_appends_per_s_postgres_c16: pgOn?.conc.per_s ?? null,
    journal_append_ms_p50_postgres_group_c16: pgGroup?.conc.p50 ?? null,
    journal_appends_per_s_postgres_group_c16: pgGroup?.conc.per_s ?? null,
    session_hydrate_ms_p50_sqlite: sqliteFull.hydrateP50,
    session_hydrate_ms_p50_postgres: pgOn?.hydrateP50 ?? null,
    durability: "sqlite: WAL, synchronous 'full' (fdatasync of the WAL per commit, on the thread pool) unless _normal; postgres: synchronous_commit=on unless _async_commit; _group: group commit",
  }),
);
