import { pino } from 'pino';
import { Runtime, type Pid, type ProcessContext } from '../src/index.js';
const silent = pino({ level: 'silent' });
const t0 = performance.now();
function pp(total: number) {
  const rt = new Runtime({ logger: silent });
  return new Promise<void>((resolve) => {
    const player = (n: number, self: ProcessContext): void => { if (n >= total) resolve(); else self.send(self.pid === ping ? pong : ping, n + 1); };
    const ping: Pid = rt.spawn(player); const pong: Pid = rt.spawn(player); rt.send(ping, 1);
  });
}
let last = performance.now(); const gaps: string[] = [];
const iv = setInterval(() => { const t = performance.now(); const g = t - last; if (g > 3) gaps.push(`${(t - t0).toFixed(0)}:${g.toFixed(1)}`); last = t; }, 1);
let imms = 0; let lastI = performance.now(); const igaps: string[] = [];
const start = performance.now();
await pp(1_000_000);
console.log('run', (performance.now() - start).toFixed(1), 'from', (start - t0).toFixed(0), 'gaps', gaps);
clearInterval(iv);
