// `pnpm bench:dspex`: signature parse (uncached and cached), input validation, ChatAdapter.format with 3 demos
// beside DSPy's own timings of the same work (scripts/dspy_timing.py, timed inside Python), batch validation
// on the main thread against the SignatureEngine's worker threads (and where the crossover is), and time to
// the first field chunk through program.stream() against the raw LM
// stream (bench/stream_first_chunk.ts; overhead p50 <= 2 ms). Targets: parse <= 5 us and >= 100x DSPy; cached <= 200 ns; chat format
// >= 20x DSPy. The last stdout line is one JSON object. Run with --quick for a shorter, noisier pass.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { Runtime } from '@dspex/runtime';
import { ChatAdapter } from '../src/adapters/chat_adapter.js';
import { compileSignature } from '../src/signatures/compiler.js';
import { SignatureEngine } from '../src/signature_engine/engine.js';
import { Signature } from '../src/signatures/signature.js';
import { measureStreamFirstChunk } from './stream_first_chunk.js';

const SIGNATURE = 'question: str, context: list[str] -> answer: str, confidence: float';
const DEMOS = [0, 1, 2].map((i) => ({ question: `Demo question ${i}?`, context: [`fact ${i}a`, `fact ${i}b`], answer: `answer ${i}`, confidence: 0.5 + i / 10 }));
const INPUTS = { question: 'Who wrote Hamlet?', context: ['Shakespeare wrote plays.', 'Hamlet is a tragedy.'] };
const EXAMPLE = { ...INPUTS, answer: 'William Shakespeare', confidence: 0.95 };
const COMPLETION = '[[ ## answer ## ]]\nWilliam Shakespeare\n\n[[ ## confidence ## ]]\n0.95\n\n[[ ## completed ## ]]';
const QUICK = process.argv.includes('--quick');
const ROUND_MS = QUICK ? 20 : 100;
const ROUNDS = QUICK ? 5 : 15;

let sink: unknown;

/** Median over rounds of the mean time per call, in nanoseconds; each round runs for about ROUND_MS. */
function perCallNs(fn: () => unknown): number {
  let batch = 64;
  for (let i = 0; i < 20_000; i++) sink = fn();
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink = fn();
    if (Number(process.hrtime.bigint() - start) / 1e6 >= ROUND_MS / 4) break;
    batch *= 2;
  }
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch * 4; i++) sink = fn();
    rounds.push(Number(process.hrtime.bigint() - start) / (batch * 4));
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)]!;
}

/** Python's timings of the same workload, or null without the project's .venv. */
function dspyTimings(): Record<string, number | string> | null {
  const python = new URL('../../../.venv/bin/python', import.meta.url).pathname;
  if (!existsSync(python)) return null;
  try {
    const out = execFileSync(python, [new URL('../scripts/dspy_timing.py', import.meta.url).pathname, '--seconds', QUICK ? '0.2' : '1'], { encoding: 'utf8', timeout: 120_000 });
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, number | string>;
  } catch {
    return null;
  }
}

const chat = new ChatAdapter();
const signature = Signature.parse(SIGNATURE);
const compiled = compileSignature(signature);

const parseUs = perCallNs(() => Signature.parseUncached(SIGNATURE)) / 1000;
// The cached path from a fresh string object each time would measure string hashing too; callers pass literals.
const cachedNs = perCallNs(() => Signature.parse(SIGNATURE));
const validateNs = perCallNs(() => {
  compiled.validateInputs(EXAMPLE);
  return compiled.validateOutputs(EXAMPLE);
});
const formatUs = perCallNs(() => chat.format(signature, DEMOS, INPUTS)) / 1000;
const chatParseUs = perCallNs(() => chat.parse(signature, COMPLETION)) / 1000;
// Practical limits: reading every character of the signature once; concatenating the finished prompt's strings.
const scanNs = perCallNs(() => {
  let h = 0;
  for (let i = 0; i < SIGNATURE.length; i++) h = (h * 31 + SIGNATURE.charCodeAt(i)) | 0;
  return h;
});
const parts = chat.format(signature, DEMOS, INPUTS).map((m) => m.content);
const concatUs = perCallNs(() => parts.map((p) => p.slice(0, -1) + p.slice(-1)).join('')) / 1000;
const dspy = dspyTimings();

/** Best of three timed runs of `fn`, in seconds, after one untimed run (threads started, code optimised). */
async function bestOf(fn: () => unknown): Promise<number> {
  await fn();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

const examplesOf = (n: number) => Array.from({ length: n }, (_, i) => ({ ...EXAMPLE, question: `q${i}`, confidence: String(i / n) }));

/**
 * Batch validation, main thread against the SignatureEngine (2 threads), at growing batch sizes: the
 * crossover is the smallest size at which the threads win (null when they never do on this machine).
 */
async function batchValidation(): Promise<{ main100kMs: number; workers100kMs: number; crossover: number | null; bySize: Record<string, { main_ms: number; workers_ms: number }> }> {
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const engine = await SignatureEngine.start(rt, { threads: 2 });
  const bySize: Record<string, { main_ms: number; workers_ms: number }> = {};
  let crossover: number | null = null;
  for (const size of QUICK ? [1_000, 100_000] : [100, 1_000, 10_000, 100_000]) {
    const batch = examplesOf(size);
    const main = await bestOf(() => batch.map((example) => compiled.validateInputs(example) && compiled.validateOutputs(example)));
    const workers = await bestOf(async () => {
      const results = await engine.validateBatch(signature, batch);
      if (results.length !== batch.length || !results.every((r) => r.ok)) throw new Error('engine results do not match the batch');
    });
    bySize[size] = { main_ms: round(main * 1000, 1), workers_ms: round(workers * 1000, 1) };
    if (crossover === null && workers < main) crossover = size;
  }
  await rt.shutdown();
  return { main100kMs: bySize[100_000]!.main_ms, workers100kMs: bySize[100_000]!.workers_ms, crossover, bySize };
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
const batch = await batchValidation();
const validateInputsNs = perCallNs(() => compiled.validateInputs(INPUTS));
const streamRuntime = new Runtime({ logger: pino({ level: 'silent' }) });
const firstChunk = await measureStreamFirstChunk(streamRuntime, QUICK ? 30 : 200);
await streamRuntime.shutdown();

const ratio = (ours: number, theirs: number | string | undefined): number | null => (typeof theirs === 'number' ? Math.round((theirs / ours) * 10) / 10 : null);
console.log(`parse (uncached)        ${parseUs.toFixed(2)} us   target <= 5 us${dspy ? `   DSPy ${Number(dspy.parse_us).toFixed(1)} us` : ''}`);
console.log(`parse (cached)          ${cachedNs.toFixed(0)} ns   target <= 200 ns`);
console.log(`validate one example    ${validateNs.toFixed(0)} ns   (inputs + outputs of the signature above)`);
console.log(`ChatAdapter.format      ${formatUs.toFixed(2)} us   (3 demos)${dspy ? `   DSPy ${Number(dspy.chat_format_3_demos_us).toFixed(1)} us` : ''}`);
console.log(`ChatAdapter.parse       ${chatParseUs.toFixed(2)} us${dspy ? `   DSPy ${Number(dspy.chat_parse_us).toFixed(1)} us` : ''}`);
console.log(`batch validation           ${JSON.stringify(batch.bySize)} (ms; crossover ${batch.crossover ?? 'none on this machine'})`);
console.log(`limits: scan signature ${scanNs.toFixed(0)} ns, concatenate prompt ${concatUs.toFixed(2)} us`);
if (dspy === null) console.log('(DSPy timings skipped: no .venv/bin/python)');

const dspyParse = typeof dspy?.parse_us === 'number' ? dspy.parse_us : null;
const dspyFormat = typeof dspy?.chat_format_3_demos_us === 'number' ? dspy.chat_format_3_demos_us : null;
console.log(
  JSON.stringify({
    signature_parse_us: round(parseUs),
    signature_parse_cached_ns: round(cachedNs, 1),
    validate_inputs_ns: round(validateInputsNs, 1),
    chat_format_us: round(formatUs),
    dspy_signature_parse_us: dspyParse === null ? null : round(dspyParse, 1),
    dspy_chat_format_us: dspyFormat === null ? null : round(dspyFormat, 1),
    batch_validate_100k_main_ms: batch.main100kMs,
    batch_validate_100k_workers_ms: batch.workers100kMs,
    batch_crossover_examples: batch.crossover,
    batch_by_size_ms: batch.bySize,
    chat_parse_us: round(chatParseUs),
    stream_first_chunk_overhead_ms_p50: round(firstChunk.overheadMs),
    stream_first_chunk_ms_p50: { raw_lm: round(firstChunk.rawMs), program_stream: round(firstChunk.programMs) },
    speedup_vs_dspy: { parse: ratio(parseUs, dspyParse ?? undefined), chat_format: ratio(formatUs, dspyFormat ?? undefined) },
    limits: { scan_signature_ns: round(scanNs, 1), concat_prompt_us: round(concatUs) },
    targets: { stream_first_chunk_overhead_ms_p50_max: 2, signature_parse_us_max: 5, parse_speedup_min: 100, signature_parse_cached_ns_max: 200, chat_format_speedup_min: 20 },
    meets_targets: {
      signature_parse_us: parseUs <= 5,
      parse_speedup: dspyParse !== null && dspyParse / parseUs >= 100,
      signature_parse_cached_ns: cachedNs <= 200,
      chat_format_speedup: dspyFormat !== null && dspyFormat / formatUs >= 20,
      stream_first_chunk_overhead_ms_p50: firstChunk.overheadMs <= 2,
    },
    node: process.version,
    cpus: (await import('node:os')).availableParallelism(),
  }),
);
void sink;
