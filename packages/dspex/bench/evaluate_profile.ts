// A focused profile of the evaluate hot path: Predict('question -> answer') through the LM client against the
// benchmark's loopback server (its own process), one evaluation at a chosen concurrency. Run it under
// `node --cpu-prof --conditions=development --import tsx bench/evaluate_profile.ts [concurrency] [examples]`
// and read the profile with bench/profile_summary.ts; it also prints CPU µs per example.

import { fileURLToPath } from 'node:url';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM } from '../src/clients/index.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { Predict } from '../src/predict/predict.js';
import { startJsonProcess, timed, transportRun } from './evaluate_bench_lib.js';

const concurrency = Number(process.argv[2] ?? 256);
const examples = Number(process.argv[3] ?? 8000);
const HERE = fileURLToPath(new URL('.', import.meta.url));

const server = startJsonProcess<{ url: string }>(process.execPath, ['--import', 'tsx', 'openai_server.ts', '--latency-ms', '100'], HERE);
const { url } = await server.first;
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const lm = await LM.start(rt, { name: 'profile', model: 'openai/bench', apiBase: url, cache: { memory: false, disk: false }, retries: 0, breaker: false, timeoutMs: 60_000 });
const devset = Array.from({ length: examples }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
const metric = (example: Example, prediction: Prediction): boolean => String(example.get('answer')) === String(prediction.get('answer'));
const run = async (): Promise<void> => {
  const program = new Predict('question -> answer');
  program.lm = lm;
  const result = await evaluate(program, devset, metric, { runtime: rt, concurrency, maxErrors: 1 });
  if (result.score !== 100) throw new Error(`scored ${result.score}`);
};
// `only` (dspex or transport) runs one side, so that a profile holds one of them.
const only = process.argv[4];
if (only !== 'transport') {
  await run();
  const dspex = await timed(examples, run);
  process.stderr.write(`c${concurrency} x${examples}: dspex ${dspex.perSecond.toFixed(0)} ex/s ${dspex.cpuUsPerItem.toFixed(0)} µs CPU/ex\n`);
}
if (only !== 'dspex') {
  await transportRun(url, concurrency, examples);
  const transport = await timed(examples, () => transportRun(url, concurrency, examples));
  process.stderr.write(`c${concurrency} x${examples}: transport ${transport.perSecond.toFixed(0)} req/s ${transport.cpuUsPerItem.toFixed(0)} µs CPU/req\n`);
}
await rt.shutdown();
server.child.kill('SIGTERM');
