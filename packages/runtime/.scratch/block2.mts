import { PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { Runtime, type Pid, type ProcessContext } from '../src/index.js';
const silent = pino({ level: 'silent' });
const gcs: string[] = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.duration > 0.5) gcs.push(`@${e.startTime.toFixed(0)}:${e.duration.toFixed(1)}k${(e as any).detail?.kind}`); }).observe({ entryTypes: ['gc'] });
function pp(total: number) {
  const rt = new Runtime({ logger: silent });
  return new Promise<void>((resolve) => {
    const player = (n: number, self: ProcessContext): void => { if (n >= total) resolve(); else self.send(self.pid === ping ? pong : ping, n + 1); };
    const ping: Pid = rt.spawn(player); const pong: Pid = rt.spawn(player); rt.send(ping, 1);
  }).then(() => rt.scheduler.maxTickMs.toFixed(2));
}
let last = performance.now(); const gaps: string[] = [];
const iv = setInterval(() => { const t = performance.now(); const g = t - last; if (g > 3.5) gaps.push(`@${t.toFixed(0)}:${g.toFixed(1)}`); last = t; }, 1);
for (let i = 0; i < 8; i++) { const t = performance.now(); const r = await pp(1_000_000); await new Promise((r) => setTimeout(r, 5)); if (process.argv[2]) (globalThis as any).gc(); console.log('run', i, `@${t.toFixed(0)}`, (performance.now() - t).toFixed(1), 'maxTick', r, 'gaps', gaps.splice(0), 'gc', gcs.splice(0)); }
clearInterval(iv);
