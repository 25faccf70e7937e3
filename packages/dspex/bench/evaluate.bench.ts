// Benchmark of Evaluate: a native Predict through the OpenAI-compatible LMClient against a loopback server in
// its own process (fixed 100 ms latency, ChatAdapter answers), at concurrency 8, 64 and 256, next to real
// dspy.Evaluate (threads 8, 64 and 256) on the same server in the same run, the theoretical limit (concurrency /
// latency) and the bare transport (the client's own node:http transport, no dspex) as the practical ceiling.
// Then the straggler scenario: 500 examples at concurrency 64 on a second server where a seeded 2% of first
// requests hang 30 s and 1% answer 500; dspex (1 s timeout, retries, hedging) and dspy.Evaluate (1 s timeout,
// retries: its best setting; without a timeout it waits out the 30 s hang) next to the fault-free floor.
// CPU per example is this process's CPU (user + system) over the examples. The process never opens a settings
// scope (withSettings), so async hooks stay off and the transport's figure is not inflated by dspex's runs
// (bench/evaluate_layers.ts measures each layer in a process of its own, to check).
// Progress goes to stderr; the last stdout line is one JSON object.
//
//   npm run bench:evaluate        (BENCH_SCALE=0.2 for a quick run, BENCH_ROUNDS=1 for one round,
//                                  BENCH_ONLY=stragglers for the straggler scenario alone)

import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findPython } from '@dspex/python-bridge';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM, type LMHandle } from '../src/clients/index.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { Predict } from '../src/predict/predict.js';
import { median, serverStats, startJsonProcess, timed, transportRun, type RunFigures } from './evaluate_bench_lib.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
/** Each figure and its transport peer are measured in alternating rounds (the machine is shared); medians are reported. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const LATENCY_MS = 100;
const RUNS: ReadonlyArray<{ concurrency: number; examples: number }> = [
  { concurrency: 8, examples: Math.max(80, Math.round(1000 * SCALE)) },
  { concurrency: 64, examples: Math.max(640, Math.round(1000 * SCALE)) },
  { concurrency: 256, examples: Math.max(1024, Math.round(4000 * SCALE)) },
];
const DSPY_THREADS = [8, 64, 256];
const STRAGGLER = { examples: 500, concurrency: 64, faults: { seed: 9, hang: 0.02, hangMs: 30_000, fail: 0.01 } };
const DSPY_EXAMPLES = Math.max(200, Math.round(1000 * SCALE));
const HERE = fileURLToPath(new URL('.', import.meta.url));

const progress = (message: string): void => void process.stderr.write(`[bench:evaluate] ${message}\n`);
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
const limit = (concurrency: number): number => (concurrency * 1000) / LATENCY_MS;

function devset(n: number, offset: number): Example[] {
  return Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + ${offset + 1}?`, answer: String(i + offset + 1) }).withInputs('question'));
}

function exact_match(example: Example, prediction: Prediction): boolean {
  return String(example.get('answer')) === String(prediction.get('answer'));
}

/** One evaluation of Predict('question -> answer') through the LM client. */
async function dspexRun(rt: Runtime, lm: LMHandle, concurrency: number, examples: number, offset = concurrency): Promise<void> {
  const program = new Predict('question -> answer');
  program.lm = lm;
  const result = await evaluate(program, devset(examples, offset), exact_match, { runtime: rt, concurrency, maxErrors: 1 });
  if (result.score !== 100) throw new Error(`dspex scored ${result.score} at concurrency ${concurrency}; the server or the parsing is off`);
}

interface Straggler {
  floorS: number;
  dspexS: number;
  dspyBestS: number;
  dspyScore: number;
}

/**
 * The straggler scenario on its own server: the fault-free floor (which also gives the client's hedge its
 * latency window, as a client in service has), then the faults switched on and fresh questions for dspex,
 * then for dspy.Evaluate with its LM timeout at 1 s. dspex must lose no example.
 */
async function stragglers(rt: Runtime): Promise<Straggler> {
  const { examples, concurrency, faults } = STRAGGLER;
  const server = startJsonProcess<{ url: string }>(process.execPath, ['--import', 'tsx', 'openai_server.ts', '--latency-ms', String(LATENCY_MS)], HERE);
  const { url } = await server.first;
  try {
    const lm = await LM.start(rt, {
      name: 'stragglers',
      model: 'openai/bench',
      apiBase: url,
      cache: { memory: false, disk: false },
      // A hang whose hedge was skipped (rate limit, breaker) ends in a timeout: it must be retried, not lost.
      retries: { max: 3, baseDelayMs: 100, timeouts: true },
      timeoutMs: 1000,
      breaker: false,
      hedge: true,
    });
    await dspexRun(rt, lm, concurrency, examples, 10_000);
    const floorStarted = performance.now();
    await dspexRun(rt, lm, concurrency, examples, 20_000);
    const floorS = (performance.now() - floorStarted) / 1000;
    server.child.stdin!.write(`${JSON.stringify({ faults })}\n`);
    await new Promise<void>((resolve) => server.child.stdout!.once('data', () => resolve()));
    const dspexStarted = performance.now();
    await dspexRun(rt, lm, concurrency, examples, 30_000);
    const dspexS = (performance.now() - dspexStarted) / 1000;
    const usage = await lm.usage();
    progress(`stragglers: floor ${floorS.toFixed(2)} s, dspex ${dspexS.toFixed(2)} s (${usage.hedges} hedges, ${usage.retries} retries, all ${examples} examples right)`);
    await lm.stop();
    const python = startJsonProcess<Record<string, { seconds: number; score: number }>>(
      findPython(HERE),
      ['evaluate_dspy.py', url, String(examples), String(concurrency), '--timeout', '1', '--retries', '3', '--offset', '40000', '--no-warmup'],
      HERE,
    );
    python.child.stdin?.end();
    const dspy = (await python.last)[String(concurrency)]!;
    progress(`stragglers: dspy.Evaluate (timeout 1 s, 3 retries) ${dspy.seconds.toFixed(2)} s, score ${dspy.score}`);
    return { floorS, dspexS, dspyBestS: dspy.seconds, dspyScore: dspy.score };
  } finally {
    server.child.stdin?.end();
    server.child.kill('SIGTERM');
  }
}

interface Measured {
  dspex: RunFigures;
  transport: RunFigures;
  /** The server's CPU per request during the dspex runs (µs). */
  serverCpuUs: number;
  /** Most requests the server held at once during the dspex runs. */
  serverInFlight: number;
}

const medianOf = (runs: RunFigures[]): RunFigures => ({ perSecond: median(runs.map((r) => r.perSecond)), cpuUsPerItem: median(runs.map((r) => r.cpuUsPerItem)) });

async function measure(rt: Runtime, lm: LMHandle, url: string): Promise<Record<number, Measured>> {
  const out: Record<number, Measured> = {};
  for (const { concurrency, examples } of RUNS) {
    const dspex: RunFigures[] = [];
    const transport: RunFigures[] = [];
    const serverCpu: number[] = [];
    let serverInFlight = 0;
    for (let r = 0; r < ROUNDS; r++) {
      await serverStats(url);
      dspex.push(await timed(examples, () => dspexRun(rt, lm, concurrency, examples)));
      const stats = await serverStats(url);
      serverInFlight = Math.max(serverInFlight, stats.maxInFlight);
      serverCpu.push(stats.cpuUs / Math.max(1, stats.requests));
      transport.push(await timed(examples, () => transportRun(url, concurrency, examples)));
    }
    const m: Measured = { dspex: medianOf(dspex), transport: medianOf(transport), serverCpuUs: median(serverCpu), serverInFlight };
    out[concurrency] = m;
    progress(
      `c${concurrency}: ${examples} examples x ${ROUNDS}: dspex ${round(m.dspex.perSecond)} ex/s (${round(m.dspex.cpuUsPerItem, 0)} µs CPU/ex), ` +
        `bare transport ${round(m.transport.perSecond)} req/s (${round(m.transport.cpuUsPerItem, 0)} µs CPU/req), server ${round(m.serverCpuUs, 0)} µs CPU/req, ` +
        `limit ${limit(concurrency)}, server saw ${serverInFlight} in flight`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  if (process.env.BENCH_ONLY === 'stragglers') {
    // The straggler scenario alone, for working on it (its figures only, not the benchmark's line).
    const rt = new Runtime({ logger: pino({ level: 'error' }) });
    process.stdout.write(`${JSON.stringify({ ...(await stragglers(rt)), load_average_1m: loadBefore })}\n`);
    await rt.shutdown();
    return;
  }
  const server = startJsonProcess<{ port: number; url: string }>(process.execPath, ['--import', 'tsx', 'openai_server.ts', '--latency-ms', String(LATENCY_MS)], HERE);
  const { url } = await server.first;
  progress(`server on ${url} (own process, ${LATENCY_MS} ms latency); load average ${loadBefore.toFixed(2)} on ${cpus().length} cores`);
  const rt = new Runtime({ logger: pino({ level: 'error' }) });
  try {
    const lm = await LM.start(rt, { name: 'bench', model: 'openai/bench', apiBase: url, cache: { memory: false, disk: false }, retries: 0, breaker: false, timeoutMs: 60_000 });
    progress('warm-up');
    await dspexRun(rt, lm, 64, 640);
    await transportRun(url, 64, 640);
    await serverStats(url);
    const measured = await measure(rt, lm, url);

    progress(`dspy.Evaluate, threads ${DSPY_THREADS.join(', ')}: ${DSPY_EXAMPLES} examples each`);
    const python = startJsonProcess<Record<string, { ex_per_s: number; cpu_us_per_example: number }>>(findPython(HERE), ['evaluate_dspy.py', url, String(DSPY_EXAMPLES), DSPY_THREADS.join(',')], HERE);
    python.child.stdin?.end();
    const dspy = await python.last;
    for (const t of DSPY_THREADS) progress(`dspy t${t}: ${round(dspy[String(t)]!.ex_per_s)} ex/s (${round(dspy[String(t)]!.cpu_us_per_example, 0)} µs CPU/ex)`);
    const straggler = await stragglers(rt);

    const dspex = (c: number): number => measured[c]!.dspex.perSecond;
    const transport = (c: number): number => measured[c]!.transport.perSecond;
    const c256 = measured[256]!;
    const result = {
      dspex_eval_ex_per_s_c8: round(dspex(8)),
      dspex_eval_ex_per_s_c64: round(dspex(64)),
      dspex_eval_ex_per_s_c256: round(dspex(256)),
      dspy_eval_ex_per_s_t8: round(dspy['8']!.ex_per_s),
      dspy_eval_ex_per_s_t64: round(dspy['64']!.ex_per_s),
      dspy_eval_ex_per_s_t256: round(dspy['256']!.ex_per_s),
      dspex_cpu_us_per_example_c256: round(c256.dspex.cpuUsPerItem, 0),
      transport_cpu_us_per_example_c256: round(c256.transport.cpuUsPerItem, 0),
      /** Python process CPU (user + system, all threads) over examples. */
      dspy_cpu_us_per_example_t64: round(dspy['64']!.cpu_us_per_example, 0),
      straggler_wall_s_dspex: round(straggler.dspexS, 2),
      /** dspy.Evaluate with its LM timeout at 1 s and 3 retries; without a timeout it waits out the 30 s hang. */
      straggler_wall_s_dspy_best: round(straggler.dspyBestS, 2),
      straggler_floor_s: round(straggler.floorS, 2),
      straggler_dspy_score: straggler.dspyScore,
      limit_ex_per_s_c8: limit(8),
      limit_ex_per_s_c64: limit(64),
      limit_ex_per_s_c256: limit(256),
      transport_req_per_s_c8: round(transport(8)),
      transport_req_per_s_c64: round(transport(64)),
      transport_req_per_s_c256: round(transport(256)),
      dspex_pct_of_transport_c8: round((100 * dspex(8)) / transport(8)),
      dspex_pct_of_transport_c64: round((100 * dspex(64)) / transport(64)),
      dspex_pct_of_transport_c256: round((100 * dspex(256)) / transport(256)),
      cpu_us_per_example_c256: { dspex_client: round(c256.dspex.cpuUsPerItem, 0), bare_transport_client: round(c256.transport.cpuUsPerItem, 0), server: round(c256.serverCpuUs, 0) },
      /** CPU cores client + server need to run at the c256 limit, at the CPU cost measured per example. */
      cores_needed_at_limit_c256: round((limit(256) * (c256.dspex.cpuUsPerItem + c256.serverCpuUs)) / 1e6, 2),
      server_max_in_flight_c256: c256.serverInFlight,
      examples: Object.fromEntries(RUNS.map(({ concurrency, examples }) => [`c${concurrency}`, examples])),
      rounds: ROUNDS,
      latency_ms: LATENCY_MS,
      load_average_1m: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
      cpu_cores: cpus().length,
      targets: {
        c8_at_least_95pct_of_limit: dspex(8) >= 0.95 * limit(8),
        c64_at_least_95pct_of_limit: dspex(64) >= 0.95 * limit(64),
        c256_at_least_95pct_of_limit: dspex(256) >= 0.95 * limit(256),
        c64_at_least_1_5x_dspy_t64: dspex(64) >= 1.5 * dspy['64']!.ex_per_s,
        c256_cpu_at_most_2x_transport: c256.dspex.cpuUsPerItem <= 2 * c256.transport.cpuUsPerItem,
        straggler_within_1_5x_floor: straggler.dspexS <= 1.5 * straggler.floorS,
      },
      meets_targets: false,
    };
    result.meets_targets = Object.values(result.targets).every(Boolean);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await rt.shutdown();
    server.child.stdin?.end();
    server.child.kill('SIGTERM');
  }
}

await main();
