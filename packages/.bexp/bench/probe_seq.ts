import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { PythonPools } from '../src/index.js';
const rt = new Runtime({ logger: pino({ level: 'silent' }) });
const pool = await PythonPools.start(rt, { name: 'p', size: 1, python: process.env.PYPATH ? { env: { PYTHONPATH: process.env.PYPATH } } : {} });
for (let i = 0; i < 3000; i++) await pool.call('ping', {});
for (let r = 0; r < 3; r++) {
  const lat: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < 20000; i++) { const t = performance.now(); await pool.call('ping', {}); lat.push((performance.now() - t) * 1000); }
  const c = process.cpuUsage(c0);
  lat.sort((a, b) => a - b);
  console.log(`p50 ${lat[10000]!.toFixed(1)}us p90 ${lat[18000]!.toFixed(1)} node cpu/call ${((c.user + c.system) / 20000).toFixed(1)}us`);
}
await rt.shutdown();
