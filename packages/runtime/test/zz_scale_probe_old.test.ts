import { it } from 'vitest';
import { Supervisor } from './zz_old_supervisor.js';
import type { ChildSpec } from '../src/child_spec.js';
import { okPid, silentRuntime } from './helpers.js';
it('probe', async () => {
  const rt = silentRuntime();
  const sup = okPid(await Supervisor.start(rt, { strategy: 'one_for_one', intensity: 2, period: 3600, children: [] }));
  const plain = (id: string): ChildSpec => ({ id, shutdown: 1000, start: (parent) => ({ ok: parent.runtime.spawn(() => undefined, { link: parent.pid }) }) });
  for (const n of [1000, 20000, 100000]) {
    const ids = Array.from({ length: n }, (_, i) => `c${n}_${i}`);
    const t0 = performance.now();
    for (const id of ids) await Supervisor.startChild(rt, sup, plain(id));
    const t1 = performance.now();
    for (const id of ids) await Supervisor.terminateChild(rt, sup, id);
    const t2 = performance.now();
    console.log(n, 'start', (t1 - t0).toFixed(0), 'stop', (t2 - t1).toFixed(0));
  }
}, 120000);
