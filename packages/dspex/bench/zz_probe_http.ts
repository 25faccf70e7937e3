// TEMP probe (deleted after): dspex evaluate at c256 with global fetch vs a node:http keep-alive shim.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import http from 'node:http';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { LM } from '../src/clients/index.js';
import { Predict } from '../src/predict/predict.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai_server.ts', '--latency-ms', '100'], { stdio: ['pipe', 'pipe', 'inherit'] });
const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)));
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const realFetch = globalThis.fetch;
const shim = (async (input: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => {
  return await new Promise<Response>((resolve, reject) => {
    const req = http.request(input, { method: init.method, headers: { ...init.headers, 'content-length': Buffer.byteLength(init.body) }, agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks).toString('utf8'), { status: res.statusCode, headers: res.headers as Record<string, string> })));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}) as unknown as typeof fetch;
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const lm = await LM.start(rt, { name: 'b', model: 'openai/b', apiBase: url, cache: { memory: false }, retries: 0, breaker: false });
const p = new Predict('question -> answer'); p.lm = lm;
const ds = (n: number) => Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
for (let r = 0; r < 3; r++) for (const [name, f] of [['fetch', realFetch], ['http-shim', shim]] as const) {
  globalThis.fetch = f;
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const res = await evaluate(p, ds(4000), (e, pr) => e.get('answer') === pr.get('answer'), { runtime: rt, concurrency: 256 });
  const c = process.cpuUsage(c0);
  console.log(name.padEnd(10), (4000000 / (performance.now() - t0)).toFixed(0), 'ex/s', ((c.user + c.system) / 4000).toFixed(0), 'us cpu/ex', 'score', res.score);
}
globalThis.fetch = realFetch;
await rt.shutdown(); child.kill();
