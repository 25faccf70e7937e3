import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Runtime, type Pid, type ProcessContext } from '../src/index.js';
const silent = pino({ level: 'silent' });
function pp(total: number) {
  const rt = new Runtime({ logger: silent });
  return new Promise<void>((resolve) => {
    const player = (n: number, self: ProcessContext): void => { if (n >= total) resolve(); else self.send(self.pid === ping ? pong : ping, n + 1); };
    const ping: Pid = rt.spawn(player); const pong: Pid = rt.spawn(player); rt.send(ping, 1);
  }).then(() => rt.scheduler.maxTickMs);
}
async function probe(label: string, run: () => Promise<unknown>) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now(), maxGap = 0; const gaps: number[] = [];
  const iv = setInterval(() => { const t = performance.now(); const g = t - last; if (g > maxGap) maxGap = g; if (g > 4) gaps.push(+g.toFixed(1)); last = t; }, 1);
  h.enable();
  const r = await run();
  h.disable(); clearInterval(iv);
  console.log(label, 'hist max', (h.max / 1e6).toFixed(2), 'p99', (h.percentile(99)/1e6).toFixed(2), 'interval maxgap', maxGap.toFixed(2), 'big gaps', gaps.slice(0,20), 'ret', r);
}
await probe('idle', () => new Promise((r) => setTimeout(r, 100)));
for (let i = 0; i < 5; i++) await probe('pp', () => pp(1_000_000));
