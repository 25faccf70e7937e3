// Client CPU per item, layer by layer, against the benchmark's loopback server: the bare transport, post()
// (http.ts), the LM client, Predict, Predict with an AbortSignal, Predict in a task stream, and evaluate().
// The difference between two layers is what the upper one costs. One layer per process keeps them apart:
//   node --conditions=development --import tsx bench/evaluate_layers.ts [concurrency] [items] [layer,...]
// (BENCH_CPU_SPLIT=1 also prints user and system time.)
import { fileURLToPath } from 'node:url';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM } from '../src/clients/index.js';
import { post } from '../src/clients/http.js';
import { systemClock } from '../src/clients/clock.js';
import { Redactor } from '../src/clients/errors.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { Predict } from '../src/predict/predict.js';
import { startJsonProcess, timed, transportRun } from './evaluate_bench_lib.js';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const c = Number(process.argv[2] ?? 256), n = Number(process.argv[3] ?? 4000);
const server = startJsonProcess<{ url: string }>(process.execPath, ['--import', 'tsx', 'openai_server.ts', '--latency-ms', '100'], HERE);
const { url } = await server.first;
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const lm = await LM.start(rt, { name: 'p', model: 'openai/bench', apiBase: url, cache: { memory: false, disk: false }, retries: 0, breaker: false, timeoutMs: 60_000 });
async function pool(f: (i: number) => Promise<unknown>) { let next = 0; await Promise.all(Array.from({ length: c }, async () => { for (let i = next++; i < n; i = next++) await f(i); })); }
const program = new Predict('question -> answer'); program.lm = lm;
const msgs = (i: number) => [{ role: 'system' as const, content: 'sys' }, { role: 'user' as const, content: `[[ ## question ## ]]\nWhat is ${i} + 1?` }];
const redactor = new Redactor([]);
const layers: Record<string, () => Promise<unknown>> = {
  transport: () => transportRun(url, c, n),
  post: () => pool(async (i) => { const r = await post({ provider: 'openai', url: `${url}/chat/completions`, headers: {}, body: { model: 'bench', messages: msgs(i) }, timeoutMs: 60000, clock: systemClock, redactor }); await r.json(); }),
  lmcall: () => pool((i) => lm.call({ messages: msgs(i) })),
  predict: () => pool((i) => program.call({ question: `What is ${i} + 1?` })),
  predictsig: () => pool((i) => { const ac = new AbortController(); return program.call({ question: `What is ${i} + 1?` }, { signal: ac.signal }); }),
  stream: async () => { const { TaskSupervisor, DynamicSupervisor } = await import('@dspex/runtime'); const s = await TaskSupervisor.start(rt); const sup = (s as { ok: any }).ok;
    const idx = function* () { for (let i = 0; i < n; i++) yield i; };
    for await (const _ of TaskSupervisor.asyncStreamNolink(rt, sup, idx(), (i: number) => program.call({ question: `What is ${i} + 1?` }), { maxConcurrency: c, ordered: false, timeout: Infinity, onTimeout: 'kill_task', zipInputOnExit: true, shutdown: 'brutal_kill' })) {}
    await DynamicSupervisor.stop(rt, sup, 'shutdown'); },
  evaluate: async () => { const devset = Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
    const r = await evaluate(program, devset, (e: Example, p: Prediction) => String(e.get('answer')) === String(p.get('answer')), { runtime: rt, concurrency: c, maxErrors: 1 }); if (r.score !== 100) throw new Error('score ' + r.score); },
};
for (const name of (process.argv[4] ?? Object.keys(layers).join(',')).split(',')) {
  await layers[name]!();
  const f = await timed(n, layers[name]!);
  process.stderr.write(`${name}: ${f.perSecond.toFixed(0)}/s ${f.cpuUsPerItem.toFixed(0)} µs CPU/item\n`);
}
await rt.shutdown(); server.child.kill('SIGTERM');
