// What a learner learned survives a crash of its actor and a new process on the same database, on each store
// (SQLite, and PostgreSQL: required in CI): the same posteriors, exploration counts and arm health (an open
// breaker stays open, then is probed). Decisions still waiting for feedback live in the actor only.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry, Runtime } from '@dspex/runtime';
import { awaitDown } from '@dspex/runtime/testing';
import { Learners } from '../../src/learner/index.js';
import { STORES } from '../sessions/backends.js';
import { TASKS, drive, learnerDef } from './support.js';

for (const backend of STORES) describe.skipIf(!backend.available)(`learner persistence on ${backend.name}`, () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime();
  });
  afterEach(async () => {
    await rt.shutdown();
    await backend.cleanup();
  });

  it('keeps posteriors and arm health (an open breaker) across a crash and a reopened store; pending feedback is unknown after', async () => {
    const { store, reopen } = await backend.fresh();
    let now = 0;
    const clock = () => now;
    const definition = learnerDef('persisted', { anomaly: { cooldownMs: 60_000, warmup: 5, fastAlpha: 0.5 } });
    const learner = await (await Learners.start(rt, { store, clock })).learner(definition);
    await drive(learner, 90, { latencyMs: (arm) => (arm === 'small' ? 5 : 6) });
    // Demote `small` with errors, so an open breaker is part of what must survive.
    for (let i = 0; i < 60 && (await learner.stats()).health.small!.breaker === 'closed'; i++) {
      const d = await learner.choose({ task: 'math' });
      await learner.report(d.requestId, { latencyMs: 5, error: d.arm === 'small' });
    }
    const before = await learner.stats();
    expect(before.health.small!.breaker).toBe('open');
    const waiting = await learner.choose({ task: 'math' });

    // A crash: the DynamicSupervisor restarts the actor, which reloads from the store.
    const pid = Registry.of<string, unknown>(rt, 'Learners.Registry').lookup('persisted')[0]![0];
    const down = awaitDown(rt, pid);
    rt.exit(pid, 'kill');
    await down;
    const afterCrash = await learner.stats();
    expect(afterCrash.buckets).toEqual(before.buckets);
    expect(afterCrash.health).toEqual(before.health);
    expect(await learner.feedback(waiting.requestId, 1)).toEqual({ applied: false, reason: 'unknown' });

    // Another process on the same database draws what this one would have drawn.
    await rt.shutdown();
    rt = new Runtime();
    const again = await (await Learners.start(rt, { store: await reopen(), clock })).learner(definition);
    const reloaded = await again.stats();
    expect(reloaded.buckets).toEqual(before.buckets);
    expect(reloaded.health).toEqual(before.health);
    const choices = await Promise.all(TASKS.map(async (task) => (await again.choose({ task })).arm));
    expect(choices).not.toContain('small'); // still demoted: its breaker stayed open
    now += 60_000;
    expect((await again.choose({ task: 'math' })).reason).toBe('probe'); // and it is probed after its cooldown
  });
});
