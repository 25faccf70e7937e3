import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Runtime, TaskSupervisor } from '@dspex/runtime';
import { pino } from 'pino';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import { Prediction } from '../src/primitives/prediction.js';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai_server.ts', '--latency-ms', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)));
const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] });
const raw = () => fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const C = 64, N = 3000;
const sup = (await TaskSupervisor.start(rt) as any).ok;
const ds = Array.from({ length: N }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
const prog = { call: async () => { await raw(); return new Prediction({ answer: '1' }); } };
const cpu = async (f: () => Promise<unknown>) => { const c0 = process.cpuUsage(); await f(); const c = process.cpuUsage(c0); return (c.user + c.system) / N; };
const best: Record<string, number> = {};
for (let r = 0; r < 5; r++) {
  const a = await cpu(async () => { for await (const _ of TaskSupervisor.asyncStreamNolink(rt, sup, ds, () => prog.call(), { maxConcurrency: C, ordered: false, timeout: Infinity })) void _; });
  const b = await cpu(() => evaluate(prog, ds, () => 1, { runtime: rt, concurrency: C }));
  best.stream = Math.min(best.stream ?? 1e9, a); best.evaluate = Math.min(best.evaluate ?? 1e9, b);
}
console.log(best);
await rt.shutdown(); child.kill();
