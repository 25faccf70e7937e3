import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Runtime, type Pid, type ProcessContext } from '../src/index.js';
import { baselinePingPong } from '../bench/baseline.js';
const silent = pino({ level: 'silent' });
function pp(total: number) {
  const rt = new Runtime({ logger: silent });
  return new Promise<void>((resolve) => {
    const player = (n: number, self: ProcessContext): void => { if (n >= total) resolve(); else self.send(self.pid === ping ? pong : ping, n + 1); };
    const ping: Pid = rt.spawn(player); const pong: Pid = rt.spawn(player); rt.send(ping, 1);
  }).then(() => rt.scheduler.maxTickMs.toFixed(2));
}
async function probe(label: string, run: () => Promise<unknown>) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable(); const t = performance.now();
  const r = await run();
  const ms = performance.now() - t;
  h.disable();
  console.log(label, ms.toFixed(1), 'ms', 'blockmax', (h.max / 1e6).toFixed(2), 'tick', r);
}
const which = process.argv[2] ?? 'both';
for (let i = 0; i < 6; i++) {
  if (which !== 'base') await probe('ours', () => pp(1_000_000));
  if (which !== 'ours') await probe('base', () => baselinePingPong(1_000_000));
}
