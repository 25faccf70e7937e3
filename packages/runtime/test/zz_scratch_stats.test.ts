import fc from 'fast-check';
import { it } from 'vitest';
import { GenServer, type ChildSpec, type GenServerBehavior } from '../src/index.js';
import { arbChildSpec, arbStrategy, runSupervisorModel, supervisorCommands, type SupervisorModelConfig, type SupervisorCommand } from '../src/testing/index.js';
const IDS = ['a', 'b', 'c', 'd'] as const;
const counter: GenServerBehavior<number, void, 'ping', number> = { init: () => ({ ok: 0 }), handleCall: (_r, _f, c) => ({ reply: c + 1, state: c + 1 }) };
const start: ChildSpec['start'] = (parent) => GenServer.startLink(parent, counter, undefined);
const call: SupervisorModelConfig['call'] = async (rt, pid, { callsBefore }) => { const a = await GenServer.call<number>(rt, pid, 'ping'); if (a !== callsBefore + 1) throw new Error('x'); };
const arbConfig = fc.record({ strategy: arbStrategy(), intensity: fc.integer({ min: 0, max: 4 }), period: fc.integer({ min: 1, max: 5 }), catalog: fc.tuple(...IDS.map((id) => arbChildSpec(start, { id: fc.constant(id) }))), initial: fc.shuffledSubarray([...IDS]) })
  .map(({ strategy, intensity, period, catalog, initial }): SupervisorModelConfig => ({ strategy, intensity, period, catalog, children: initial.map((id) => catalog.find((s) => s.id === id)!), call, maxCommands: 40 }));
it('stats', async () => {
  const kinds = new Map<string, number>(); let runs = 0; let deaths = 0; let total = 0;
  await fc.assert(fc.asyncProperty(arbConfig.chain((c) => fc.tuple(fc.constant(c), supervisorCommands(c))), fc.scheduler(), fc.integer(), async ([config, commands], s, seed) => {
    runs++;
    const wrapped: SupervisorCommand[] = [...commands].map((cmd) => ({ check: (m) => cmd.check(m), run: async (m, r) => { const k = cmd.toString().split('(')[0]!; kinds.set(k, (kinds.get(k) ?? 0) + 1); total++; await cmd.run(m, r); if (!m.alive) deaths++; }, toString: () => cmd.toString() }));
    await runSupervisorModel(config, wrapped, { scheduler: s, runtime: { seed } });
  }), { numRuns: 200 });
  console.log({ runs, total, deaths, kinds: Object.fromEntries(kinds) });
}, 60000);
