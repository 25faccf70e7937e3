// Raw RTT/throughput against a Python process over fds 3/4 without the pool: echo.py vs the real worker.
import { spawn } from 'node:child_process';
import { FrameDecoder, encodeFrame, findPython } from '../src/index.js';
const PY = findPython();
async function run(label: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(PY, args, { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'], env: { ...process.env, DSPEX_BRIDGE_IN_FD: '3', DSPEX_BRIDGE_OUT_FD: '4', ...env } });
  const dec = new FrameDecoder();
  const waiters = new Map<number, () => void>();
  let ready!: () => void; const readyP = new Promise<void>((r) => (ready = r));
  child.stdio[4]!.on('data', (c: Buffer) => dec.push(c, (m: any) => { if (m.t === 'ready') ready(); else waiters.get(m.id)?.(); }));
  if (!args.includes('bench/echo.py')) await readyP;
  const out = child.stdio[3] as NodeJS.WritableStream;
  let id = 0;
  const call = () => new Promise<void>((res) => { const i = ++id; waiters.set(i, () => { waiters.delete(i); res(); }); out.write(encodeFrame({ t: 'call', id: i, cmd: 'ping', args: {}, session: null })); });
  for (let i = 0; i < 1000; i++) await call();
  const lat: number[] = [];
  for (let i = 0; i < 5000; i++) { const t = performance.now(); await call(); lat.push((performance.now() - t) * 1000); }
  lat.sort((a, b) => a - b);
  let started = 0; const N = 50000; const t0 = performance.now();
  await Promise.all(Array.from({ length: 256 }, async () => { while (started < N) { started++; await call(); } }));
  console.log(`${label}: p50 ${lat[2500]!.toFixed(1)}us p99 ${lat[4950]!.toFixed(1)}us  throughput ${Math.round(N / (performance.now() - t0) * 1000)}/s`);
  child.kill('SIGKILL');
}
await run('echo.py', ['-u', 'bench/echo.py']);
await run('worker ', ['-u', '-m', 'dspex_bridge.worker', '--run-id', `${process.pid}.x`, '--worker-id', 'w'], process.env.PYPATH ? { PYTHONPATH: process.env.PYPATH } : {});
{
  const { Runtime } = await import('@dspex/runtime');
  const { pino } = await import('pino');
  const { PythonPools } = await import('../src/index.js');
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const pool = await PythonPools.start(rt, { name: 'p', size: 1, callsPerWorker: 256, maxQueue: 100000, python: process.env.PYPATH ? { env: { PYTHONPATH: process.env.PYPATH } } : {} });
  for (let i = 0; i < 1000; i++) await pool.call('ping', {});
  const lat: number[] = [];
  for (let i = 0; i < 5000; i++) { const t = performance.now(); await pool.call('ping', {}); lat.push((performance.now() - t) * 1000); }
  lat.sort((a, b) => a - b);
  let started = 0; const N = 50000; const t0 = performance.now();
  await Promise.all(Array.from({ length: 256 }, async () => { while (started < N) { started++; await pool.call('ping', {}); } }));
  console.log(`pool   : p50 ${lat[2500]!.toFixed(1)}us p99 ${lat[4950]!.toFixed(1)}us  throughput ${Math.round(N / (performance.now() - t0) * 1000)}/s`);
  await rt.shutdown();
}
