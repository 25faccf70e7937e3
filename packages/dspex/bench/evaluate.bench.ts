// Benchmark of Evaluate: a native Predict through the OpenAI-compatible LMClient against a loopback server in
// its own process (fixed 100 ms latency, ChatAdapter answers), at concurrency 8, 64 and 256, next to real
// dspy.Evaluate (threads 8 and 64) against the same server in the same run, and the practical limit
// (concurrency / latency). Progress goes to stderr; the last stdout line is one JSON object.
//
//   npm run bench:evaluate        (BENCH_SCALE=0.2 for a quick run)

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findPython } from '@dspex/python-bridge';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM, type LMHandle } from '../src/clients/index.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { Predict } from '../src/predict/predict.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const LATENCY_MS = 100;
const RUNS: ReadonlyArray<{ concurrency: number; examples: number }> = [
  { concurrency: 8, examples: Math.max(80, Math.round(1000 * SCALE)) },
  { concurrency: 64, examples: Math.max(640, Math.round(1000 * SCALE)) },
  { concurrency: 256, examples: Math.max(1024, Math.round(4000 * SCALE)) },
];
const DSPY_THREADS = [8, 64];
const DSPY_EXAMPLES = Math.max(200, Math.round(1000 * SCALE));
const HERE = fileURLToPath(new URL('.', import.meta.url));

const progress = (message: string): void => void process.stderr.write(`[bench:evaluate] ${message}\n`);
const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Starts `command` and resolves with it and its first stdout line parsed as JSON. */
async function startWithJsonLine<T>(command: string, args: string[]): Promise<{ child: ChildProcess; first: Promise<T>; last: Promise<T> }> {
  const child = spawn(command, args, { cwd: HERE, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let resolveFirst!: (value: T) => void;
  let latest: string | undefined;
  const first = new Promise<T>((resolve) => (resolveFirst = resolve));
  lines.on('line', (line) => {
    if (!line.trim().startsWith('{')) return;
    if (latest === undefined) resolveFirst(JSON.parse(line) as T);
    latest = line;
  });
  const last = new Promise<T>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && latest !== undefined ? resolve(JSON.parse(latest) as T) : reject(new Error(`${command} exited with ${code}`))));
  });
  return { child, first: Promise.race([first, last]), last };
}

function devset(n: number, offset: number): Example[] {
  return Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + ${offset + 1}?`, answer: String(i + offset + 1) }).withInputs('question'));
}

function exact_match(example: Example, prediction: Prediction): boolean {
  return String(example.get('answer')) === String(prediction.get('answer'));
}

async function dspexRun(rt: Runtime, lm: LMHandle, concurrency: number, examples: number): Promise<number> {
  const program = new Predict('question -> answer');
  program.lm = lm;
  const data = devset(examples, concurrency);
  const result = await evaluate(program, data, exact_match, { runtime: rt, concurrency, maxErrors: 1 });
  if (result.score !== 100) throw new Error(`dspex scored ${result.score} at concurrency ${concurrency}; the server or parsing is off`);
  return result.stats.examplesPerSecond;
}

async function main(): Promise<void> {
  const server = await startWithJsonLine<{ port: number; url: string }>(process.execPath, ['--import', 'tsx', 'openai_server.ts', '--latency-ms', String(LATENCY_MS)]);
  const { url } = await server.first;
  progress(`server on ${url} (own process, ${LATENCY_MS} ms latency)`);
  const rt = new Runtime({ logger: pino({ level: 'warn' }) });
  try {
    const lm = await LM.start(rt, { name: 'bench', model: 'openai/bench', apiBase: url, cache: { memory: false, disk: false }, retries: 0, breaker: false, timeoutMs: 60_000 });
    progress('warm-up');
    await dspexRun(rt, lm, 64, 640);
    const dspex: Record<number, number> = {};
    for (const { concurrency, examples } of RUNS) {
      dspex[concurrency] = await dspexRun(rt, lm, concurrency, examples);
      progress(`dspex c${concurrency}: ${examples} examples, ${round(dspex[concurrency]!)} ex/s (limit ${(concurrency * 1000) / LATENCY_MS})`);
    }

    progress(`dspy.Evaluate, threads ${DSPY_THREADS.join(', ')}: ${DSPY_EXAMPLES} examples each`);
    const python = await startWithJsonLine<Record<string, { ex_per_s: number }>>(findPython(HERE), ['evaluate_dspy.py', url, String(DSPY_EXAMPLES), DSPY_THREADS.join(',')]);
    python.child.stdin?.end();
    const dspy = await python.last;
    for (const t of DSPY_THREADS) progress(`dspy t${t}: ${round(dspy[String(t)]!.ex_per_s)} ex/s`);

    const limit = (c: number): number => (c * 1000) / LATENCY_MS;
    const result = {
      dspex_eval_ex_per_s_c8: round(dspex[8]!),
      dspex_eval_ex_per_s_c64: round(dspex[64]!),
      dspex_eval_ex_per_s_c256: round(dspex[256]!),
      dspy_eval_ex_per_s_t8: round(dspy['8']!.ex_per_s),
      dspy_eval_ex_per_s_t64: round(dspy['64']!.ex_per_s),
      limit_ex_per_s_c8: limit(8),
      limit_ex_per_s_c64: limit(64),
      limit_ex_per_s_c256: limit(256),
      router_overhead_us: null,
      router_overhead_note: 'no Router in src/ yet (Orchestrator not built); the lead wires this figure when it exists',
      examples: Object.fromEntries(RUNS.map(({ concurrency, examples }) => [`c${concurrency}`, examples])),
      latency_ms: LATENCY_MS,
      targets: {
        c8_at_least_95pct_of_limit: dspex[8]! >= 0.95 * limit(8),
        c64_at_least_95pct_of_limit: dspex[64]! >= 0.95 * limit(64),
        c256_at_least_95pct_of_limit: dspex[256]! >= 0.95 * limit(256),
        c64_at_least_1_5x_dspy_t64: dspex[64]! >= 1.5 * dspy['64']!.ex_per_s,
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
