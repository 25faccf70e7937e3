import { pino } from 'pino';
import { Runtime, type Pid, type ProcessBehavior, type ProcessContext } from '../src/index.js';
const silent = pino({ level: 'silent' });
class SkynetNode implements ProcessBehavior {
  private sum = 0; private pending = 10;
  constructor(private readonly parent: Pid, private readonly num: number, private readonly size: number) {}
  init(self: ProcessContext): void {
    if (this.size === 1) { self.send(this.parent, this.num); self.exit(); return; }
    const step = this.size / 10;
    for (let i = 0; i < 10; i++) self.runtime.spawn(new SkynetNode(self.pid, this.num + i * step, step));
  }
  receive(partial: number, self: ProcessContext): void {
    this.sum += partial;
    if (--this.pending === 0) { self.send(this.parent, this.sum); self.exit(); }
  }
}
async function skynet(leaves: number) {
  const rt = new Runtime({ logger: silent });
  const total = await new Promise<number>((resolve) => {
    const main = rt.spawn((sum: number, self: ProcessContext) => { resolve(sum); self.exit(); });
    rt.spawn(new SkynetNode(main, 0, leaves));
  });
  if (total !== (leaves * (leaves - 1)) / 2) throw new Error('bad sum');
}
const runs = Number(process.argv[2] ?? 4);
await skynet(100_000);
for (let i = 0; i < runs; i++) { (globalThis as any).gc?.(); const t = performance.now(); await skynet(1_000_000); console.log('skynet', (performance.now() - t).toFixed(0), 'ms'); }
