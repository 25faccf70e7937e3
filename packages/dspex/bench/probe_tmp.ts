import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM } from '../src/clients/index.js';
import { Predict } from '../src/predict/predict.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';

const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai_server.ts', '--latency-ms', process.env.LAT ?? '100'], { stdio: ['pipe', 'pipe', 'inherit'] });
const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
const { url } = JSON.parse(line);
const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] });
const C = Number(process.env.C ?? 64), N = Number(process.env.N ?? 2000);
async function pool(c: number, n: number, fn: () => Promise<unknown>) {
  let next = 0; const t0 = performance.now(); const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: c }, async () => { while (next++ < n) await fn(); }));
  return report(n, t0, cpu0);
}
function report(n: number, t0: number, cpu0: NodeJS.CpuUsage) {
  const s = (performance.now() - t0) / 1000; const cpu = process.cpuUsage(cpu0);
  return `${(n / s).toFixed(1)} ex/s  cpu/ex ${((cpu.user + cpu.system) / n).toFixed(0)}us`;
}
const raw = () => fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const lm = await LM.start(rt, { name: 'b', model: 'openai/b', apiBase: url, cache: { memory: false }, retries: 0, breaker: false });
const req = { messages: [{ role: 'user' as const, content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] };
const p = new Predict('question -> answer'); p.lm = lm;
const ds = (n: number) => Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
const fake = { model: 'f', defaults: {}, call: async () => ({ outputs: [{ text: '[[ ## answer ## ]]\n3\n\n[[ ## completed ## ]]' }], usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, model: 'f', cached: false }) };
const pf = new Predict('question -> answer'); pf.lm = fake as any;
const nothing = { call: async () => new (await import('../src/primitives/prediction.js')).Prediction({ answer: '1' }) };
for (let k = 0; k < 2; k++) {
  console.log('fetch      ', await pool(C, N, raw));
  console.log('lm.call    ', await pool(C, N, () => lm.call(req)));
  console.log('predict    ', await pool(C, N, () => p.call({ question: 'What is 1 + 2?' })));
  console.log('predict+sig ', await pool(C, N, () => p.call({ question: 'What is 1 + 2?' }, { signal: new AbortController().signal })));
  console.log('predict(nolm)', await pool(C, N, () => pf.call({ question: 'What is 1 + 2?' })));
  let t0 = performance.now(), c0 = process.cpuUsage();
  await evaluate(nothing, ds(N), () => 1, { runtime: rt, concurrency: C }); console.log('eval(noop) ', report(N, t0, c0));
  t0 = performance.now(); c0 = process.cpuUsage();
  await evaluate(pf, ds(N), () => 1, { runtime: rt, concurrency: C }); console.log('eval(nolm) ', report(N, t0, c0));
  t0 = performance.now(); c0 = process.cpuUsage();
  await evaluate(p, ds(N), () => 1, { runtime: rt, concurrency: C }); console.log('eval(full) ', report(N, t0, c0));
}
await rt.shutdown(); child.kill();
