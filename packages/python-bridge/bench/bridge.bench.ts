// Benchmark of the Python bridge, with its peers measured in the same run: the bare pipe it runs on (a
// minimal Python echo loop on the same extra fds, framing and msgpack: the practical limit) and npm
// python-shell (JSON lines on stdio). Progress goes to stderr; the last stdout line is one JSON object.
//
//   pnpm bench:bridge            (BENCH_SCALE=0.2 for a quick run)

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { PythonShell } from 'python-shell';
import { FrameDecoder, PythonPools, encodeFrame, findPython, type PoolOptions, type PythonPool, type WorkerMessage } from '../src/index.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const n = (count: number): number => Math.max(10, Math.round(count * SCALE));
const ECHO = fileURLToPath(new URL('./echo.py', import.meta.url));
const PYTHON = findPython(fileURLToPath(new URL('.', import.meta.url)));
/** Calls kept in flight by the throughput runs (both for the bridge and for python-shell). */
const IN_FLIGHT = 256;
const RTT_CALLS = n(5000);
const THROUGHPUT_CALLS = n(60_000);

const progress = (message: string): void => void process.stderr.write(`[bench:bridge] ${message}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Sequential round trips (one in flight); returns the sorted latencies in microseconds. */
async function roundTrips(count: number, once: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(1000, count); i++) await once(); // warm-up: JIT, pipe buffers
  const latencies = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await once();
    latencies[i] = (performance.now() - start) * 1000;
  }
  return latencies.sort((a, b) => a - b);
}

/** `count` calls with `inFlight` outstanding at any time; returns calls per second. */
async function throughput(count: number, inFlight: number, call: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      started++;
      await call();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return count / ((performance.now() - t0) / 1000);
}

// --- the bare pipe: the practical limit ---

async function barePipe(): Promise<{ rttP50Us: number; rttP99Us: number }> {
  const child = spawn(PYTHON, ['-u', ECHO], { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'] });
  const out = child.stdio[3] as NodeJS.WritableStream;
  const decoder = new FrameDecoder();
  let waiting: ((message: WorkerMessage) => void) | null = null;
  child.stdio[4]!.on('data', (chunk: Buffer) => decoder.push(chunk, (message) => waiting?.(message)));
  let id = 0;
  const echo = (): Promise<WorkerMessage> =>
    new Promise((resolve) => {
      waiting = resolve;
      out.write(encodeFrame({ t: 'call', id: ++id, cmd: 'ping', args: {}, session: null }));
    });
  const latencies = await roundTrips(RTT_CALLS, echo);
  child.kill();
  await once(child, 'exit');
  return { rttP50Us: percentile(latencies, 50), rttP99Us: percentile(latencies, 99) };
}

// --- python-shell: one Python process echoing JSON lines, pipelined ---

async function pythonShell(): Promise<number> {
  const shell = new PythonShell(ECHO, { mode: 'json', pythonPath: PYTHON, pythonOptions: ['-u'], args: ['pyshell'] });
  let resolveAll!: () => void;
  let received = 0;
  let sent = 0;
  const total = THROUGHPUT_CALLS;
  const done = new Promise<void>((resolve) => (resolveAll = resolve));
  const sendOne = (): void => {
    sent++;
    shell.send({ t: 'call', id: sent, cmd: 'ping', args: {} });
  };
  // Warm-up round trip so the interpreter's start is not counted.
  await new Promise<void>((resolve) => {
    shell.once('message', () => resolve());
    shell.send({ t: 'call', id: 0, cmd: 'ping', args: {} });
  });
  shell.on('message', () => {
    received++;
    if (received === total) resolveAll();
    else if (sent < total) sendOne();
  });
  const t0 = performance.now();
  for (let i = 0; i < IN_FLIGHT; i++) sendOne();
  await done;
  const perSecond = total / ((performance.now() - t0) / 1000);
  await new Promise<void>((resolve) => shell.end(() => resolve()));
  return perSecond;
}

// --- the bridge ---

async function startPool(rt: Runtime, options: PoolOptions): Promise<PythonPool> {
  const pool = await PythonPools.start(rt, options);
  await Promise.all(Array.from({ length: options.size ?? 1 }, () => pool.call('ping', {}, { idempotent: true })));
  for (;;) {
    const stats = await pool.stats();
    if (stats.workers === (options.size ?? 1)) return pool;
    await once(pool.telemetry as never, 'worker_start');
  }
}

/** Spawn to the first reply of a command that imports DSPy: `create` of a dspy.Predict in a fresh worker. */
async function coldStart(rt: Runtime, run: number): Promise<{ toDspyMs: number; toReadyMs: number }> {
  let toReadyMs = NaN;
  const t0 = performance.now();
  const pool = await PythonPools.start(rt, { name: `cold-${run}`, size: 1 });
  pool.telemetry.once('worker_start', (e) => (toReadyMs = e.coldStartMs));
  await pool.session().call('create', { class: 'dspy.Predict', args: ['question -> answer'] });
  const toDspyMs = performance.now() - t0;
  await pool.stop();
  return { toDspyMs, toReadyMs };
}

async function main(): Promise<void> {
  const rt = new Runtime({ logger: pino({ level: process.env.DSPEX_LOG_LEVEL ?? 'silent' }) });
  const noop = (pool: PythonPool) => () => pool.call('ping', {});

  progress(`bare pipe round trips (${RTT_CALLS}) ...`);
  const bare = await barePipe();
  progress(`  p50 ${bare.rttP50Us.toFixed(1)} us, p99 ${bare.rttP99Us.toFixed(1)} us`);

  progress(`python-shell pipelined JSON lines (${THROUGHPUT_CALLS}, ${IN_FLIGHT} in flight) ...`);
  const shellPerSecond = await pythonShell();
  progress(`  ${Math.round(shellPerSecond)} messages/s`);

  const one = await startPool(rt, { name: 'bench-1w', size: 1, callsPerWorker: IN_FLIGHT, maxQueue: 100_000 });
  progress(`bridge no-op round trips, 1 worker (${RTT_CALLS}) ...`);
  const rtt = await roundTrips(RTT_CALLS, noop(one));
  progress(`  p50 ${percentile(rtt, 50).toFixed(1)} us, p99 ${percentile(rtt, 99).toFixed(1)} us`);

  progress(`bridge no-op throughput, 1 worker (${THROUGHPUT_CALLS}, ${IN_FLIGHT} in flight) ...`);
  await throughput(n(5000), IN_FLIGHT, noop(one));
  const perSecond1w = await throughput(THROUGHPUT_CALLS, IN_FLIGHT, noop(one));
  progress(`  ${Math.round(perSecond1w)} calls/s`);

  progress('bridge 1 MiB payload round trips ...');
  const blob = new Uint8Array(1 << 20).fill(7);
  const payload = await roundTrips(n(50), () => one.call('ping', { blob }));
  const payloadMs = percentile(payload, 50) / 1000;
  progress(`  p50 ${payloadMs.toFixed(2)} ms`);
  await one.stop();

  const two = await startPool(rt, { name: 'bench-2w', size: 2, callsPerWorker: IN_FLIGHT, maxQueue: 100_000 });
  progress(`bridge no-op throughput, 2 workers (${THROUGHPUT_CALLS}, ${IN_FLIGHT} in flight) ...`);
  await throughput(n(5000), IN_FLIGHT, noop(two));
  const perSecond2w = await throughput(THROUGHPUT_CALLS, IN_FLIGHT, noop(two));
  progress(`  ${Math.round(perSecond2w)} calls/s`);
  await two.stop();

  progress('worker cold start to a reply with DSPy imported (create dspy.Predict), 3 runs ...');
  const colds = [];
  for (let run = 0; run < 3; run++) colds.push(await coldStart(rt, run));
  const coldMs = median(colds.map((c) => c.toDspyMs));
  progress(`  ${coldMs.toFixed(0)} ms (ready frame, before DSPy: ${median(colds.map((c) => c.toReadyMs)).toFixed(0)} ms)`);
  await rt.shutdown(10_000);

  const result = {
    noop_rtt_p50_us: round(percentile(rtt, 50)),
    noop_rtt_p99_us: round(percentile(rtt, 99)),
    baseline_pipe_rtt_p50_us: round(bare.rttP50Us),
    baseline_pipe_rtt_p99_us: round(bare.rttP99Us),
    noop_calls_per_s_1w: Math.round(perSecond1w),
    noop_calls_per_s: Math.round(perSecond2w),
    python_shell_calls_per_s: Math.round(shellPerSecond),
    payload_1mb_rtt_ms: round(payloadMs, 2),
    worker_cold_start_ms: Math.round(coldMs),
    worker_cold_start_command: 'create dspy.Predict (imports dspy)',
    worker_ready_ms: Math.round(median(colds.map((c) => c.toReadyMs))),
    targets: {
      noop_rtt_p50_within_2x_bare_pipe: percentile(rtt, 50) <= 2 * bare.rttP50Us,
      one_worker_at_least_python_shell: perSecond1w >= shellPerSecond,
      two_workers_at_least_20000_per_s: perSecond2w >= 20_000,
    },
    meets_targets: false,
  };
  result.meets_targets = Object.values(result.targets).every(Boolean);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
