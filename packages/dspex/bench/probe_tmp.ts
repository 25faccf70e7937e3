import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM } from '../src/clients/index.js';
import { Predict } from '../src/predict/predict.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai_server.ts', '--latency-ms', process.env.LAT ?? '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
const { url } = JSON.parse(line);
const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] });
const C = Number(process.env.C ?? 64), N = Number(process.env.N ?? 3000);
async function pool(fn: () => Promise<unknown>) {
  let next = 0; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: C }, async () => { while (next++ < N) await fn(); }));
  const cpu = process.cpuUsage(c0); return (cpu.user + cpu.system) / N;
}
const raw = () => fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const lm = await LM.start(rt, { name: 'b', model: 'openai/b', apiBase: url, cache: { memory: false }, retries: 0, breaker: false });
const req = { messages: [{ role: 'user' as const, content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] };
const p = new Predict('question -> answer'); p.lm = lm;
const ds = (n: number) => Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
import { Task, TaskSupervisor } from '@dspex/runtime';
import { Prediction } from '../src/primitives/prediction.js';
const sup = await TaskSupervisor.start(rt); const supPid = (sup as any).ok;
async function streamCpu(fn: () => Promise<unknown>, supervised: boolean) {
  const c0 = process.cpuUsage();
  const items = Array.from({ length: N }, (_, i) => i);
  const it = supervised ? TaskSupervisor.asyncStreamNolink(rt, supPid, items, () => fn(), { maxConcurrency: C, ordered: false, timeout: Infinity }) : Task.asyncStream(rt, items, () => fn(), { maxConcurrency: C, ordered: false, timeout: Infinity });
  for await (const _ of it) void _;
  const c = process.cpuUsage(c0); return (c.user + c.system) / N;
}
const fetchProgram = { call: async () => { await raw(); return new Prediction({ answer: '1' }); } };
const variants: Record<string, () => Promise<number>> = {
  'fetch in Task.asyncStream': () => streamCpu(raw, false),
  'fetch in TaskSup stream': () => streamCpu(raw, true),
  'predict in TaskSup stream': () => streamCpu(() => p.call({ question: 'What is 1 + 2?' }), true),
  'evaluate(fetch program)': async () => { const c0 = process.cpuUsage(); await evaluate(fetchProgram, ds(N), () => 1, { runtime: rt, concurrency: C }); const c = process.cpuUsage(c0); return (c.user + c.system) / N; },
  fetch: () => pool(raw),
  lm: () => pool(() => lm.call(req)),
  predict: () => pool(() => p.call({ question: 'What is 1 + 2?' })),
  evaluate: async () => { const c0 = process.cpuUsage(); await evaluate(p, ds(N), () => 1, { runtime: rt, concurrency: C }); const c = process.cpuUsage(c0); return (c.user + c.system) / N; },
};
const best: Record<string, number> = {};
for (let r = 0; r < 4; r++) for (const [k, f] of Object.entries(variants)) { const v = await f(); best[k] = Math.min(best[k] ?? Infinity, v); }
for (const [k, v] of Object.entries(best)) console.log(k.padEnd(28), v.toFixed(0), 'us cpu/ex (min of 4)');
await rt.shutdown(); child.kill();
