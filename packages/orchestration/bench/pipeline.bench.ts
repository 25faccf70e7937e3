// bench:pipeline — the cost of durability. Journal overhead per step (p50/p99) on SQLite and PostgreSQL against
// the same pipeline with the journal off in the same run, and a 1,000-item map at concurrency 64 on a 100 ms
// loopback LM (a process of its own) with the journal on, as % of its latency limit, next to the practical limit
// (the bare transport) and the other peers measured in the same run, then the session fields (sessions.bench.ts).
// One JSON object on the last line; each section adds its fields to `result`.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@dspex/runtime';
import { openStore, type Store } from '@dspex/store';
import { ChatAdapter, LM, Predict, configure } from 'dspex';
import { PipelineRunner, map, pipeline, step, type PipelineStore } from '../src/index.js';
import { sessionsBench } from './sessions.bench.js';

const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const STEPS = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const result: Record<string, number | string | null> = {};
const rt = new Runtime();

const MAP_ROUNDS = Number(process.env.BENCH_MAP_ROUNDS ?? 3);
const HERE = dirname(fileURLToPath(import.meta.url));

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const round = (x: number): number => Math.round(x * 1000) / 1000;
const median = (xs: number[]): number => quantile(xs, 0.5);

/** The loopback LM as a child process (bench/lm_server.ts); closing ends it. */
async function startLmServer(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(HERE, 'lm_server.ts'), '--delay-ms', String(delayMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), exited.then(() => { throw new Error('bench/lm_server.ts exited before it listened'); })])) as [string];
  return { url: (JSON.parse(line) as { url: string }).url, close: async () => void (child.stdin!.end(), await exited) };
}

/** fn over items, at most 64 at a time. */
async function atMost64(items: string[], fn: (item: string) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
/** The practical limit: Predict-shaped chat requests on a keep-alive node:http agent (the LM client's settings), nothing above it. */
function transportRun(url: string, items: string[]): Promise<void> {
  const target = new URL(`${url}/chat/completions`);
  const system = 'Your input fields are:\n1. `question` (str):\nYour output fields are:\n1. `answer` (str):\nAll interactions will be structured in the following way, with the appropriate values filled in.';
  return atMost64(items, (question) => new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'system', content: system }, { role: 'user', content: `[[ ## question ## ]]\n${question}` }] });
    const request = httpRequest(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
        try {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve();
        } catch (error) {
          reject(error as Error);
        }
      }).on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  }));
}

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
result.durability_sqlite = "synchronous 'full': WAL fdatasync per commit, on the thread pool, before the write resolves; the map with groupCommit (one fsync per group)";
result.durability_postgres = 'synchronous_commit=on: WAL flush per commit (an append is one autocommit statement); the map with groupCommit (one transaction per group)';

// A 1,000-item map at concurrency 64 on a 100 ms LM: the limit is ceil(1000/64) rounds of 100 ms. The LM is a
// process of its own (bench/lm_server.ts), as a real one would be, so its work is not on this event loop. Peers
// in the same run, interleaved round by round (medians of MAP_ROUNDS after a warm-up round): the bare transport
// (1,000 requests of Predict's shape, 64 at a time, on a keep-alive node:http agent: the practical limit of this
// machine), the same 1,000 Predict calls without a pipeline, and the pipeline with the journal off; the journaled
// map runs on SQLite and on PostgreSQL, both with group commit.
{
  const lmServer = await startLmServer(100);
  const lm = await LM.start(rt, { model: 'openai/tiny', apiBase: lmServer.url, apiKey: 'unused', cache: { memory: false } });
  configure({ lm, adapter: new ChatAdapter() });
  const sqlite = await openStore({ sqlite: { dir, file: 'map.sqlite', groupCommit: true } });
  let postgres: Store | undefined;
  try {
    postgres = await openStore({ postgres: { connectionString: POSTGRES_URL, schema, groupCommit: true, connectTimeoutMs: 2000 } });
  } catch (error) {
    console.error(`[bench:pipeline] postgres unavailable for the map: ${String(error)}`);
  }
  const limit = Math.ceil(1000 / 64) * 100;
  const body = step('qa', new Predict('question -> answer'), { inputs: ['question'], outputs: ['answer'] });
  const p = pipeline('map1000', { inputs: ['items'], steps: [map('answers', { over: 'items', as: 'question', concurrency: 64, output: 'answers', body })] });
  const mapRun = async (store: Store | undefined, items: string[]): Promise<void> => {
    const out = await new PipelineRunner(rt, store === undefined ? {} : { store }).start(p, { items }).result;
    if ((out.answers as unknown[]).length !== 1000) throw new Error('map lost items');
  };
  const predict = new Predict('question -> answer');
  const peers: Record<string, (items: string[]) => Promise<void>> = {
    transport: (items) => transportRun(lmServer.url, items),
    bare_predict: (items) => atMost64(items, (question) => predict.call({ question })),
    journal_off: (items) => mapRun(undefined, items),
    sqlite: (items) => mapRun(sqlite, items),
    ...(postgres === undefined ? {} : { postgres: (items: string[]) => mapRun(postgres, items) }),
  };
  const elapsed: Record<string, number[]> = Object.fromEntries(Object.keys(peers).map((name) => [name, []]));
  for (let round = 0; round <= MAP_ROUNDS; round++) {
    for (const [name, run] of Object.entries(peers)) {
      const items = Array.from({ length: 1000 }, (_, i) => `${name} round ${round} question ${i}`);
      const started = performance.now();
      await run(items);
      if (round > 0) elapsed[name]!.push(performance.now() - started); // round 0 warms up
    }
  }
  const pct = (name: string): number | null => (elapsed[name] === undefined ? null : Math.round((limit / median(elapsed[name]!)) * 1000) / 10);
  result.map_1000_c64_limit_ms = limit;
  result.map_1000_c64_ms = Math.round(median(elapsed.sqlite!));
  result.map_1000_c64_pct_of_limit = pct('sqlite');
  result.map_1000_c64_pct_of_limit_postgres = pct('postgres');
  result.map_1000_c64_journal_off_pct_of_limit = pct('journal_off');
  result.map_1000_c64_bare_predict_pct_of_limit = pct('bare_predict');
  result.map_1000_c64_transport_pct_of_limit = pct('transport');
  result.map_1000_c64_pct_of_transport = Math.round((median(elapsed.transport!) / median(elapsed.sqlite!)) * 1000) / 10;
  console.error(`[bench:pipeline] map 1000 c64 (median ms of ${MAP_ROUNDS}): ${Object.entries(elapsed).map(([name, xs]) => `${name} ${Math.round(median(xs))}`).join(', ')}; limit ${limit}`);
  await sqlite.close();
  await postgres?.close();
  await lmServer.close();
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
