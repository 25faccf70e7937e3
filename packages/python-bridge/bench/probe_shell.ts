import { readFileSync } from 'node:fs';
import { PythonShell } from 'python-shell';
import { findPython } from '../src/index.js';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')')[1]!.trim().split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const shell = new PythonShell('bench/echo.py', { mode: 'json', pythonPath: findPython(), pythonOptions: ['-u'], args: ['pyshell'] });
let onMessage = () => {}; shell.on('message', () => onMessage());
let id = 0;
const run = (count: number) => new Promise<void>((resolve) => { let sent = 0, received = 0; onMessage = () => { received++; if (received === count) resolve(); else if (sent < count) { sent++; shell.send({ t: 'call', id: ++id, cmd: 'ping', args: {} }); } }; for (; sent < 256; sent++) shell.send({ t: 'call', id: ++id, cmd: 'ping', args: {} }); });
await run(5000);
for (let r = 0; r < 3; r++) {
  const N = 40000; const c0 = cpu(shell.childProcess.pid!); const n0 = process.cpuUsage(); const t0 = performance.now();
  await run(N);
  const ms = performance.now() - t0; const n1 = process.cpuUsage(n0);
  console.log(`shell ${Math.round(N / ms * 1000)}/s node ${((n1.user + n1.system) / N).toFixed(1)}us/call python ${((cpu(shell.childProcess.pid!) - c0) * 1000 / N).toFixed(1)}us/call`);
}
shell.end(() => {});
