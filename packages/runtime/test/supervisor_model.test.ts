// Model-based chaos test of Supervisor: random sequences of starts, crashes (every OTP exit reason), kills,
// terminate/restart/delete, calls, clock steps and concurrent batches (ordered by fc.scheduler()), compared
// after every step with SupervisorModel, the reference written from OTP's supervisor.erl.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GenServer, type ChildSpec, type GenServerBehavior } from '../src/index.js';
import { arbChildSpec, arbStrategy, runSupervisorModel, supervisorCommands, SupervisorModel, type SupervisorModelConfig } from '../src/testing/index.js';

const RUNS = Number(process.env.DSPEX_CHAOS_RUNS ?? 200);
const IDS = ['a', 'b', 'c', 'd'] as const;

/** A child that counts the calls it answered: a restarted child answers 1 again. */
const counter: GenServerBehavior<number, void, 'ping', number> = {
  init: () => ({ ok: 0 }),
  handleCall: (_request, _from, calls) => ({ reply: calls + 1, state: calls + 1 }),
};
const start: ChildSpec['start'] = (parent) => GenServer.startLink(parent, counter, undefined, { label: 'model-child' });

const call: SupervisorModelConfig['call'] = async (rt, pid, { id, callsBefore }) => {
  const answer = await GenServer.call<number>(rt, pid, 'ping');
  if (answer !== callsBefore + 1) throw new Error(`${id} answered ${answer} to call ${callsBefore + 1}: its state was not fresh`);
};

/** Prints as `one_for_all intensity 2/3s children [a:permanent b:temporary] catalog [...]` in counterexamples. */
function describeConfig(config: SupervisorModelConfig): string {
  const specs = (list: ChildSpec[]): string => list.map((s) => `${s.id}:${s.restart ?? 'permanent'}`).join(' ');
  return `${config.strategy} intensity ${config.intensity}/${config.period}s children [${specs(config.children)}] catalog [${specs(config.catalog ?? [])}]`;
}

const arbConfig: fc.Arbitrary<SupervisorModelConfig> = fc
  .record({
    strategy: arbStrategy(),
    intensity: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 3, max: 10 })),
    period: fc.integer({ min: 1, max: 5 }),
    catalog: fc.tuple(...IDS.map((id) => arbChildSpec(start, { id: fc.constant(id) }))),
    initial: fc.shuffledSubarray([...IDS]),
  })
  .map(({ strategy, intensity, period, catalog, initial }) => {
    const config: SupervisorModelConfig = {
      strategy,
      intensity,
      period,
      catalog,
      children: initial.map((id) => catalog.find((spec) => spec.id === id)!),
      call,
      maxCommands: 60,
    };
    return Object.assign(config, { [fc.toStringMethod]: () => describeConfig(config) });
  });

describe('Supervisor against its reference model', () => {
  it(
    `agrees on children, liveness, restart counts and intensity over ${RUNS} random sequences`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          arbConfig.chain((config) => fc.tuple(fc.constant(config), supervisorCommands(config))),
          fc.scheduler(),
          fc.integer(),
          async ([config, commands], scheduler, runQueueSeed) => {
            await runSupervisorModel(config, commands, { scheduler, runtime: { seed: runQueueSeed } });
          },
        ),
        { numRuns: RUNS },
      );
    },
    Math.max(60_000, RUNS * 60),
  );
});

describe('SupervisorModel follows supervisor.erl', () => {
  it('forgets a temporary sibling stopped by a one_for_all or rest_for_one restart', () => {
    for (const strategy of ['one_for_all', 'rest_for_one'] as const) {
      const model = new SupervisorModel(strategy, 3, 5000, [
        { id: 'a', restart: 'permanent' },
        { id: 'b', restart: 'temporary' },
        { id: 'c', restart: 'transient' },
      ]);
      expect(model.childExited('a', model.running('a')!, 'boom')).toBe('restarted');
      expect(model.children.map((c) => c.id)).toEqual(['a', 'c']);
      expect(model.children.every((c) => c.incarnation !== null)).toBe(true);
    }
  });

  it('gives up on the restart past the intensity within the period, and not once the period has passed', () => {
    const model = new SupervisorModel('one_for_one', 1, 5000, [{ id: 'a', restart: 'permanent' }]);
    expect(model.childExited('a', model.running('a')!, 'boom')).toBe('restarted');
    model.advance(5001);
    expect(model.childExited('a', model.running('a')!, 'boom')).toBe('restarted');
    model.advance(5000);
    expect(model.childExited('a', model.running('a')!, 'boom')).toBe('gave_up');
    expect(model.alive).toBe(false);
  });
});
