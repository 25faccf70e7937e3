// bench:pipeline — the cost of durability. Journal overhead per step (p50/p99) on SQLite and PostgreSQL against
// the same pipeline with the journal off in the same run, and a 1,000-item map at concurrency 64 on a 100 ms
// loopback LM with the journal on, as % of its latency limit, then the session fields (sessions.bench.ts) in the
// same run. One JSON object on the last line; each section adds its fields to `result`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@dspex/runtime';
import { openStore, type Store } from '@dspex/store';
import { ChatAdapter, LM, Predict, configure } from 'dspex';
import { PipelineRunner, map, pipeline, step, type PipelineStore } from '../src/index.js';
import { startLoopbackLM } from '../test/support/loopback_lm.js';
import { sessionsBench } from './sessions.bench.js';

const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const result: Record<string, number | string | null> = {};
const rt = new Runtime();

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round = (x: number): number => Math.round(x * 1000) / 1000;

/** Per-step wall time: from one step's start to the next one's (journal write included when on). */
async function stepIntervals(store: PipelineStore | undefined): Promise<number[]> {
  const p = pipeline('bench', { inputs: ['x'], steps: Array.from({ length: STEPS }, (_, i) => step(`s${i}`, async ({ x }) => ({ x: (x as number) + 1 }), { inputs: ['x'], outputs: ['x'] })) });
  const runner = new PipelineRunner(rt, store === undefined ? {} : { store });
  const intervals: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = runner.start(p, { x: 0 });
    const starts: number[] = [];
    for await (const e of run.events()) if (e.type === 'step_started' || e.type === 'run_finished') starts.push(performance.now());
    await run.result;
    if (r >= 3) for (let i = 1; i < starts.length; i++) intervals.push(starts[i]! - starts[i - 1]!); // 3 warm-up runs
  }
  return intervals;
}

async function journalOverhead(name: string, open: () => Promise<Store>): Promise<void> {
  let store: Store;
  try {
    store = await open();
  } catch (error) {
    console.error(`[bench:pipeline] ${name} unavailable: ${String(error)}`);
    result[`journal_step_overhead_ms_p50_${name}`] = null;
    result[`journal_step_overhead_ms_p99_${name}`] = null;
    return;
  }
  // Interleaved so both see the same machine state.
  const off: number[] = [];
  const on: number[] = [];
  for (let round = 0; round < 3; round++) {
    off.push(...(await stepIntervals(undefined)));
    on.push(...(await stepIntervals(store)));
  }
  await store.close();
  result[`journal_step_overhead_ms_p50_${name}`] = round(quantile(on, 0.5) - quantile(off, 0.5));
  result[`journal_step_overhead_ms_p99_${name}`] = round(quantile(on, 0.99) - quantile(off, 0.99));
  result[`step_ms_p50_${name}_journal_off`] = round(quantile(off, 0.5));
  console.error(`[bench:pipeline] ${name}: per step p50 ${quantile(on, 0.5).toFixed(3)} ms journaled vs ${quantile(off, 0.5).toFixed(3)} ms off; p99 ${quantile(on, 0.99).toFixed(3)} vs ${quantile(off, 0.99).toFixed(3)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'dspex-bench-pipeline-'));
const schema = `bench_pipeline_${process.pid}`;
await journalOverhead('sqlite', () => openStore({ sqlite: { dir, file: 'overhead.sqlite' } })); // synchronous: 'full' (fsync per commit)
await journalOverhead('postgres', () => openStore({ postgres: { connectionString: POSTGRES_URL, schema, connectTimeoutMs: 2000 } })); // synchronous_commit = on
result.durability_sqlite = 'synchronous=full (fsync per commit, WAL)';
result.durability_postgres = 'synchronous_commit=on (WAL flush per commit)';

// A 1,000-item map at concurrency 64 on a 100 ms LM: the limit is ceil(1000/64) rounds of 100 ms.
{
  const server = await startLoopbackLM({ delayMs: 100 });
  const lm = await LM.start(rt, { model: 'openai/tiny', apiBase: server.url, apiKey: 'unused', cache: { memory: false } });
  configure({ lm, adapter: new ChatAdapter() });
  const store = await openStore({ sqlite: { dir, file: 'map.sqlite', groupCommit: true } });
  const items = Array.from({ length: 1000 }, (_, i) => `question ${i}`);
  const p = pipeline('map1000', { inputs: ['items'], steps: [map('answers', { over: 'items', as: 'question', concurrency: 64, output: 'answers', body: step('qa', new Predict('question -> answer'), { inputs: ['question'], outputs: ['answer'] }) })] });
  // The peer in the same run: the same 1,000 Predict calls, 64 at a time, without a pipeline or journal.
  const predict = new Predict('question -> answer');
  let next = 0;
  const bare = performance.now();
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < items.length) await predict.call({ question: `bare ${items[next++]}` }); }));
  result.map_1000_c64_bare_predict_pct_of_limit = Math.round(((Math.ceil(1000 / 64) * 100) / (performance.now() - bare)) * 1000) / 10;
  const runner = new PipelineRunner(rt, { store });
  const started = performance.now();
  const out = await runner.start(p, { items }).result;
  const elapsed = performance.now() - started;
  if ((out.answers as unknown[]).length !== 1000) throw new Error('map lost items');
  const limit = Math.ceil(1000 / 64) * 100;
  result.map_1000_c64_ms = Math.round(elapsed);
  result.map_1000_c64_limit_ms = limit;
  result.map_1000_c64_pct_of_limit = Math.round((limit / elapsed) * 1000) / 10;
  await store.close();
  await server.close();
}

await rt.shutdown();
try {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
} catch {
  // no server: nothing to drop
}
rmSync(dir, { recursive: true, force: true });

// Sessions: memory per idle session, hydrate latency, and 10,000 sessions x 10 turns (DSPEX_BENCH_SESSIONS).
Object.assign(result, await sessionsBench());
console.log(JSON.stringify(result));
