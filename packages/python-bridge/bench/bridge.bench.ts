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
/** Calls kept in flight by the throughput runs (for the bridge and for python-shell alike). */
const IN_FLIGHT = 256;
/**
 * The machine is shared, and its load changes from second to second: each figure and its peer are measured
 * in alternating rounds, so that both see the same conditions, and a ratio compares like with like.
 */
const ROUNDS = 10;
const RTT_PER_ROUND = n(600);
const CALLS_PER_ROUND = n(12_000);

const progress = (message: string): void => void process.stderr.write(`[bench:bridge] ${message}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Sequential round trips (one in flight), appended to `into` in microseconds. */
async function roundTrips(count: number, call: () => Promise<unknown>, into: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    into.push((performance.now() - start) * 1000);
  }
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

/** A minimal Python echo loop on fds 3/4 with the bridge's framing; `echo()` is one round trip. */
async function barePipe(): Promise<{ echo: () => Promise<unknown>; close: () => Promise<void> }> {
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
  return {
    echo,
    close: async () => {
      child.kill();
      await once(child, 'exit');
    },
  };
}

// --- python-shell: one Python process echoing JSON lines, pipelined ---

async function pythonShell(): Promise<{ run: (count: number) => Promise<number>; close: () => Promise<void> }> {
  const shell = new PythonShell(ECHO, { mode: 'json', pythonPath: PYTHON, pythonOptions: ['-u'], args: ['pyshell'] });
  let onMessage: () => void = () => undefined;
  shell.on('message', () => onMessage());
  let id = 0;
  const send = (): void => void shell.send({ t: 'call', id: ++id, cmd: 'ping', args: {} });
  /** `count` messages, IN_FLIGHT outstanding, counted as they come back; returns messages per second. */
  const run = async (count: number): Promise<number> => {
    let sent = 0;
    let received = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      onMessage = () => {
        received++;
        if (received === count) resolve();
        else if (sent < count) {
          sent++;
          send();
        }
      };
      for (; sent < Math.min(IN_FLIGHT, count); sent++) send();
    });
    return count / ((performance.now() - t0) / 1000);
  };
  return { run, close: () => new Promise<void>((resolve) => shell.end(() => resolve())) };
}

// --- the bridge ---

/** Starts a pool and resolves once all its workers are ready (the next worker_start, until stats agree). */
async function startPool(rt: Runtime, options: PoolOptions): Promise<PythonPool> {
  const pool = await PythonPools.start(rt, options);
  for (;;) {
    const started = new Promise<void>((resolve) => pool.telemetry.once('worker_start', () => resolve()));
    if ((await pool.stats()).workers === (options.size ?? 1)) return pool;
    await started;
  }
}

/** Spawn to the first reply of a command that imports DSPy: `create` of a dspy.Predict in a fresh worker. */
async function coldStart(rt: Runtime, run: number): Promise<{ toDspyMs: number; toReadyMs: number }> {
  const t0 = performance.now();
  // An eager pool's start resolves once its worker is ready (its configuration checked).
  const pool = await PythonPools.start(rt, { name: `cold-${run}`, size: 1 });
  const toReadyMs = performance.now() - t0;
  await pool.session().call('create', { class: 'dspy.Predict', args: ['question -> answer'] });
  const toDspyMs = performance.now() - t0;
  await pool.stop();
  return { toDspyMs, toReadyMs };
}

async function main(): Promise<void> {
  const rt = new Runtime({ logger: pino({ level: process.env.DSPEX_LOG_LEVEL ?? 'silent' }) });
  const noop = (pool: PythonPool) => () => pool.call('ping', {});
  const bare = await barePipe();
  const shell = await pythonShell();
  const options = { callsPerWorker: IN_FLIGHT, maxQueue: 100_000 };
  const one = await startPool(rt, { name: 'bench-1w', size: 1, ...options });
  const two = await startPool(rt, { name: 'bench-2w', size: 2, ...options });

  progress('warm-up ...');
  await roundTrips(n(2000), bare.echo, []);
  await roundTrips(n(2000), noop(one), []);
  await shell.run(n(5000));
  await throughput(n(5000), IN_FLIGHT, noop(one));
  await throughput(n(5000), IN_FLIGHT, noop(two));

  const bareRtt: number[] = [];
  const bridgeRtt: number[] = [];
  progress(`round trips, one in flight: bare pipe vs bridge (1 worker), ${ROUNDS} x ${RTT_PER_ROUND} each ...`);
  for (let r = 0; r < ROUNDS; r++) {
    await roundTrips(RTT_PER_ROUND, bare.echo, bareRtt);
    await roundTrips(RTT_PER_ROUND, noop(one), bridgeRtt);
  }
  bareRtt.sort((a, b) => a - b);
  bridgeRtt.sort((a, b) => a - b);
  progress(`  bare pipe p50 ${percentile(bareRtt, 50).toFixed(1)} us p99 ${percentile(bareRtt, 99).toFixed(1)} us; bridge p50 ${percentile(bridgeRtt, 50).toFixed(1)} us p99 ${percentile(bridgeRtt, 99).toFixed(1)} us`);

  const shellRates: number[] = [];
  const oneRates: number[] = [];
  const twoRates: number[] = [];
  progress(`throughput, ${IN_FLIGHT} in flight: python-shell vs bridge 1 worker vs bridge 2 workers, ${ROUNDS} x ${CALLS_PER_ROUND} each ...`);
  for (let r = 0; r < ROUNDS; r++) {
    shellRates.push(await shell.run(CALLS_PER_ROUND));
    oneRates.push(await throughput(CALLS_PER_ROUND, IN_FLIGHT, noop(one)));
    twoRates.push(await throughput(CALLS_PER_ROUND, IN_FLIGHT, noop(two)));
    progress(`  round ${r + 1}: python-shell ${Math.round(shellRates[r]!)}/s, bridge 1w ${Math.round(oneRates[r]!)}/s, 2w ${Math.round(twoRates[r]!)}/s`);
  }
  const [shellPerSecond, perSecond1w, perSecond2w] = [median(shellRates), median(oneRates), median(twoRates)];
  progress(`  medians: python-shell ${Math.round(shellPerSecond)}/s, bridge 1w ${Math.round(perSecond1w)}/s, 2w ${Math.round(perSecond2w)}/s`);

  progress('1 MiB payload round trips (bytes both ways) ...');
  const blob = new Uint8Array(1 << 20).fill(7);
  const payload: number[] = [];
  await roundTrips(n(50), () => one.call('ping', { blob }), payload);
  const payloadMs = median(payload) / 1000;
  progress(`  p50 ${payloadMs.toFixed(2)} ms`);
  await Promise.all([one.stop(), two.stop(), bare.close(), shell.close()]);

  progress('worker cold start to a reply with DSPy imported (create dspy.Predict), 3 runs ...');
  const colds = [];
  for (let run = 0; run < 3; run++) colds.push(await coldStart(rt, run));
  const coldMs = median(colds.map((c) => c.toDspyMs));
  progress(`  ${coldMs.toFixed(0)} ms (ready frame, before DSPy: ${median(colds.map((c) => c.toReadyMs)).toFixed(0)} ms)`);
  await rt.shutdown(10_000);

  const rttP50 = percentile(bridgeRtt, 50);
  const bareP50 = percentile(bareRtt, 50);
  const result = {
    noop_rtt_p50_us: round(rttP50),
    noop_rtt_p99_us: round(percentile(bridgeRtt, 99)),
    baseline_pipe_rtt_p50_us: round(bareP50),
    baseline_pipe_rtt_p99_us: round(percentile(bareRtt, 99)),
    noop_rtt_vs_pipe: round(rttP50 / bareP50, 2),
    noop_calls_per_s_1w: Math.round(perSecond1w),
    noop_calls_per_s: Math.round(perSecond2w),
    python_shell_calls_per_s: Math.round(shellPerSecond),
    one_worker_vs_python_shell: round(perSecond1w / shellPerSecond, 2),
    payload_1mb_rtt_ms: round(payloadMs, 2),
    worker_cold_start_ms: Math.round(coldMs),
    worker_cold_start_command: 'create dspy.Predict in a session (imports dspy)',
    worker_ready_ms: Math.round(median(colds.map((c) => c.toReadyMs))),
    targets: {
      noop_rtt_p50_within_2x_pipe: rttP50 <= 2 * bareP50,
      one_worker_at_least_python_shell: perSecond1w >= shellPerSecond,
      two_workers_at_least_20000_per_s: perSecond2w >= 20_000,
    },
    meets_targets: false,
  };
  result.meets_targets = Object.values(result.targets).every(Boolean);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
