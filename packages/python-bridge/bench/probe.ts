import { readFileSync } from 'node:fs';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { PythonPools } from '../src/index.js';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')')[1]!.trim().split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const rt = new Runtime({ logger: pino({ level: 'silent' }) });
const size = Number(process.env.SIZE ?? 1);
const pool = await PythonPools.start(rt, { name: 'p', size, callsPerWorker: 256, maxQueue: 100000, ...(process.env.NOTIMER ? { callTimeoutMs: Infinity } : {}), python: process.env.PYPATH ? { env: { PYTHONPATH: process.env.PYPATH } } : {} });
for (let i = 0; i < 2000; i++) await pool.call('ping', {});
while ((await pool.stats()).workers < size) await pool.call('ping', {});
const pids = (await pool.stats()).workerOsPids;
const N = Number(process.env.N ?? 60000);
for (let rep = 0; rep < 3; rep++) {
  const c0 = pids.map(cpu); const n0 = process.cpuUsage();
  let started = 0; const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(process.env.LANES ?? 256) }, async () => { while (started < N) { started++; await pool.call('ping', {}); } }));
  const ms = performance.now() - t0; const n1 = process.cpuUsage(n0);
  console.log(`${Math.round(N / ms * 1000)} calls/s wall ${ms.toFixed(0)}ms node cpu ${((n1.user + n1.system) / 1000).toFixed(0)}ms (${((n1.user + n1.system) / N).toFixed(1)}us/call) python cpu ${pids.map((p, i) => cpu(p) - c0[i]!).join(',')}ms`);
}
await rt.shutdown();
