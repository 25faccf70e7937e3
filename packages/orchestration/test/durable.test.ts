// Durable runs on SQLite and PostgreSQL: completed steps are journaled and not run again on resume (LM calls
// counted on a loopback server), non-idempotent steps in flight stop a resume, and a model test of random
// pipelines under faults (a step throws; the Node process is SIGKILLed and the run resumed in a new process).

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { openStore, type JsonValue, type Store } from '@dspex/store';
import { ChatAdapter, LM, Predict, configure } from 'dspex';
import { NonIdempotentStepInFlightError, PipelineRunner, map, pipeline, sequence, step } from '../src/index.js';
import { startLoopbackLM, type LoopbackLM } from './support/loopback_lm.js';
import { buildPipeline, leafKeys, specArb, type PipelineSpec } from './support/model.js';

const POSTGRES_URL = process.env.DSPEX_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}
const unreachable = await postgresUnreachable();
if (unreachable !== undefined) {
  if (process.env.DSPEX_REQUIRE_SERVICES === '1') throw new Error(`PostgreSQL at ${POSTGRES_URL} is required (DSPEX_REQUIRE_SERVICES=1) but unreachable: ${unreachable}`);
  console.warn(`[orchestration tests] PostgreSQL at ${POSTGRES_URL} unreachable (${unreachable}); skipping the PostgreSQL runs. Set DSPEX_TEST_POSTGRES_URL or start a server.`);
}

const cleanups: Array<() => Promise<void>> = [];
const backends: Array<{ name: string; available: boolean; open(): Promise<Store> }> = [
  {
    name: 'sqlite',
    available: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-orch-'));
      const store = await openStore({ sqlite: { dir } });
      cleanups.push(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
      return store;
    },
  },
  {
    name: 'postgres',
    available: unreachable === undefined,
    async open() {
      const schema = `orch_${Math.random().toString(36).slice(2, 10)}`;
      const store = await openStore({ postgres: { connectionString: POSTGRES_URL, schema } });
      cleanups.push(async () => {
        await store.close();
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      });
      return store;
    },
  },
];

let server: LoopbackLM;
let rt: Runtime;
beforeAll(async () => {
  server = await startLoopbackLM();
  rt = new Runtime();
  const lm = await LM.start(rt, { model: 'openai/tiny', apiBase: server.url, apiKey: 'unused', cache: { memory: false } });
  configure({ lm, adapter: new ChatAdapter() });
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  await rt.shutdown();
  await server.close();
});

describe.each(backends)('journal and resume on $name', ({ available, open }) => {
  it.skipIf(!available)('a resumed run does not call the LM again for completed steps', async () => {
    const store = await open();
    let failNext = true;
    const p = pipeline('qa', {
      inputs: ['question'],
      steps: [
        step('draft', new Predict('question -> draft'), { inputs: ['question'], outputs: ['draft'] }),
        step('check', async ({ draft }) => { if (failNext) throw new Error('checker down'); return { ok: String(draft).length > 0 }; }, { inputs: ['draft'], outputs: ['ok'] }),
        step('answer', new Predict('question, draft -> answer'), { inputs: ['question', 'draft'], outputs: ['answer'] }),
      ],
    });
    const runner = new PipelineRunner(rt, { store, pipelines: [p] });
    const before = server.calls;
    const first = runner.start(p, { question: 'Why is the sky blue?' });
    await expect(first.result).rejects.toThrow(/checker down/);
    expect(server.calls - before).toBe(1);
    expect((await store.getRun(first.runId))?.status).toBe('failed');
    failNext = false;
    const resumed = runner.resume(first.runId);
    const out = await resumed.result;
    expect(server.calls - before).toBe(2); // draft replayed from the journal, answer called once
    expect(out).toMatchObject({ ok: true, draft: expect.stringMatching(/^draft:/), answer: expect.stringMatching(/^answer:/) });
    const replayed: string[] = [];
    for await (const e of resumed.events()) if (e.type === 'step_finished' && e.replayed) replayed.push(e.step);
    expect(replayed).toEqual(['draft']);
    expect((await store.getRun(first.runId))?.status).toBe('completed');
    expect(await runner.resume(first.runId).result).toEqual(out); // a completed run resolves to its output
  });

  it.skipIf(!available)('a non-idempotent step in flight stops the resume until decided', async () => {
    const store = await open();
    let sends = 0;
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    let hang = true;
    const p = pipeline('pay', {
      inputs: ['amount'],
      steps: [step('charge', async ({ amount }, { signal }) => {
        sends++;
        if (hang) { entered(); await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))); }
        return { receipt: `paid ${String(amount)}` };
      }, { inputs: ['amount'], outputs: ['receipt'], idempotent: false })],
    });
    const runner = new PipelineRunner(rt, { store, pipelines: [p] });
    const run = runner.start(p, { amount: 5 });
    await inFlight;
    run.cancel(); // the process "stops" with the charge in flight
    await expect(run.result).rejects.toMatchObject({ code: 'DSPEX_PIPELINE_CANCELLED' });
    const blocked = runner.resume(run.runId).result;
    await expect(blocked).rejects.toBeInstanceOf(NonIdempotentStepInFlightError);
    await expect(blocked).rejects.toMatchObject({ step: 'charge' });
    expect(sends).toBe(1);
    expect((await runner.resume(run.runId, { inFlight: { charge: { outputs: { receipt: 'checked by hand' } } } }).result).receipt).toBe('checked by hand');
    expect(sends).toBe(1);
    hang = false;
    const again = runner.start(p, { amount: 7 });
    expect((await again.result).receipt).toBe('paid 7');
  });

  it.skipIf(!available)("a map item's place goes to the next item while its last write commits; the item is done only after it", async () => {
    const store = await open();
    const trace: string[] = [];
    let running = 0;
    let peak = 0;
    let secondItemStarted!: () => void;
    const started = new Promise<void>((r) => (secondItemStarted = r));
    const body = (name: string) => step(name, async ({ item }) => {
      peak = Math.max(peak, ++running);
      trace.push(`run ${String(item)}/${name}`);
      if (item === 1) secondItemStarted();
      await new Promise((r) => setImmediate(r));
      running--;
      return { [name]: `${name}${String(item)}` };
    }, { inputs: ['item'], outputs: [name] });
    const p = pipeline('held', { inputs: ['xs'], steps: [map('m', { over: 'xs', concurrency: 1, output: 'out', body: sequence(body('a'), body('b')) })] });
    const journal = {
      createRun: store.createRun.bind(store),
      loadRun: store.loadRun.bind(store),
      updateRun: store.updateRun.bind(store),
      async appendJournal(runId: string, entry: { stepKey: string; value: JsonValue }) {
        const result = await store.appendJournal(runId, entry);
        // Item 0's last write is acknowledged only once item 1 has started: it must not hold item 0's place.
        if (entry.stepKey === 'm[0]/b') await started;
        trace.push(`journaled ${entry.stepKey}`);
        return result;
      },
    };
    const run = new PipelineRunner(rt, { store: journal }).start(p, { xs: [0, 1, 2] });
    const out = await run.result;
    expect(out.out).toEqual([0, 1, 2].map((i) => ({ a: `a${i}`, b: `b${i}` })));
    expect(peak).toBe(1);
    // Within an item each step starts after the one before it is journaled; item 1 starts before item 0's last write is acknowledged.
    expect(trace.indexOf('run 0/b')).toBeGreaterThan(trace.indexOf('journaled m[0]/a'));
    expect(trace.indexOf('run 1/a')).toBeLessThan(trace.indexOf('journaled m[0]/b'));
    const events: string[] = [];
    for await (const e of run.events()) if (e.type === 'step_started' || e.type === 'step_finished') events.push(`${e.type} ${e.step}`);
    expect(events.indexOf('step_finished m[0]/b')).toBeGreaterThan(events.indexOf('step_started m[1]/a'));
    expect((await store.readJournal(run.runId)).map((e) => e.stepKey).sort()).toEqual(['m[0]/a', 'm[0]/b', 'm[1]/a', 'm[1]/b', 'm[2]/a', 'm[2]/b']);
  });
});

// --- the model test ---

const CHILD = fileURLToPath(new URL('./support/child_run.ts', import.meta.url));
type ChildMessage = { type: 'append' | 'execute'; key: string } | { type: 'done'; output: Record<string, unknown> } | { type: 'error'; message: string };

/** Runs the child; `killAt`: SIGKILL it when it reports that many journal appends. */
function runChild(mode: 'start' | 'resume', env: Record<string, string>, killAt = Infinity): Promise<{ appends: string[]; executes: string[]; output?: Record<string, unknown>; killed: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(CHILD, [mode], { env: { ...process.env, ...env }, execArgv: ['--conditions=development', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const result = { appends: [] as string[], executes: [] as string[], killed: false } as { appends: string[]; executes: string[]; output?: Record<string, unknown>; killed: boolean; error?: string };
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'append') {
        result.appends.push(m.key);
        if (result.appends.length >= killAt && !result.killed) {
          result.killed = true;
          child.kill('SIGKILL');
        }
      } else if (m.type === 'execute') result.executes.push(m.key);
      else if (m.type === 'done') result.output = m.output;
      else if (m.type === 'error') result.error = m.message;
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child ${mode} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(result);
    });
  });
}

async function expectedOutput(spec: PipelineSpec, seed: string): Promise<Record<string, unknown>> {
  return new PipelineRunner(rt).start(buildPipeline(spec), { seed }).result;
}

describe('model test: disturbed runs end as undisturbed ones, no completed step runs twice', () => {
  const runs = Number(process.env.DSPEX_PIPELINE_MODEL_RUNS ?? 20);
  it(`${runs} random pipelines with faults (a step throws; the Node process is SIGKILLed and resumed in a new process)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-orch-model-'));
    const store = await openStore({ sqlite: { dir } });
    cleanups.push(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
    let n = 0;
    let killedAndResumed = 0;
    const fault = fc.oneof(
      { weight: 1, arbitrary: fc.record({ kind: fc.constant<'throw'>('throw'), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant<'kill'>('kill'), at: fc.integer({ min: 1, max: 6 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(specArb, fault, fc.string({ minLength: 1, maxLength: 8 }), async (spec, f, seed) => {
        const expected = await expectedOutput(spec, seed);
        const runId = `model-${n++}-${Date.now()}`;
        if (f.kind === 'throw') {
          const keys = leafKeys(spec);
          const throwOnce = new Set(f.picks.map((i) => keys[i % keys.length]!));
          const executions = new Map<string, number>();
          const p = buildPipeline(spec, { throwOnce, onExecute: (k) => void executions.set(k, (executions.get(k) ?? 0) + 1) });
          const out = await new PipelineRunner(rt, { store }).start(p, { seed }, { runId }).result;
          expect(out).toEqual(expected);
          for (const [key, count] of executions) expect(count, key).toBe(throwOnce.has(key) ? 2 : 1);
          return;
        }
        const env = { SPEC: JSON.stringify(spec), LM_URL: server.url, DB_DIR: join(dir, runId), RUN_ID: runId, SEED_VALUE: seed };
        const first = await runChild('start', env, f.at);
        if (!first.killed) {
          expect(first.output).toEqual(expected);
          return;
        }
        killedAndResumed++;
        const second = await runChild('resume', env);
        expect(second.error).toBeUndefined();
        expect(second.output).toEqual(expected);
        const completed = new Set(first.appends);
        const rerun = second.executes.filter((key) => completed.has(key));
        expect(rerun, 'completed steps executed again after resume').toEqual([]);
      }),
      { numRuns: runs, verbose: true },
    );
    console.info(`[model test] ${runs} runs, ${killedAndResumed} SIGKILLed mid-run and resumed in a new process`);
  }, 600_000);
});
