// When a reward is applied, and which definition a learner runs: a reward waits for every part its objective
// reads (feedback and report, in either order, give the same posterior); a learner started again under its name
// with another definition is refused; what the store holds from another definition (an arm's values or the
// reward changed) is refused, or forgotten when the definition says so, never used as it is.

import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { Learners, LearnerDefinitionError, LearnerDefinitionMismatchError, LearnerStoredStateError, learnerNamespace, type Learner, type LearnerEvent } from '../../src/learner/index.js';
import { sqliteStores } from '../variables/support.js';
import { learnerDef, modelArms, startLearner } from './support.js';

const stores = sqliteStores();
const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()));
  await stores.cleanup();
});

async function started(...args: Parameters<typeof startLearner>) {
  const s = await startLearner(...args);
  runtimes.push(s.rt);
  return s;
}

async function refusal<E>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return error as E;
}

const COST = { small: 1, medium: 4, large: 12 } as Record<string, number>;
const QUALITY = { small: 0.6, medium: 0.8, large: 0.9 } as Record<string, number>;

/** 60 requests; each gets its report and its feedback in `order`. Resolves to the rewards applied. */
async function run(learner: Learner, order: 'report-first' | 'feedback-first'): Promise<number[]> {
  const rewards: number[] = [];
  learner.subscribe((e) => e.type === 'reward' && rewards.push(e.reward));
  for (let i = 0; i < 60; i++) {
    const d = await learner.choose({ task: i % 2 === 0 ? 'a' : 'b' });
    const report = () => learner.report(d.requestId, { latencyMs: 5, cost: COST[d.arm]! });
    if (order === 'report-first') {
      await report();
      expect(await learner.feedback(d.requestId, QUALITY[d.arm]!)).toMatchObject({ applied: true });
    } else {
      expect(await learner.feedback(d.requestId, QUALITY[d.arm]!)).toEqual({ applied: false, reason: 'awaiting_report' });
      expect((await learner.explain(d.requestId)).waitingFor).toEqual(['report']);
      await report();
      expect((await learner.explain(d.requestId)).status).toBe('rewarded');
    }
  }
  return rewards;
}

describe('a reward waits for every part its objective reads', () => {
  for (const [label, objective] of [['cost weights', { costWeight: 0.05 }], ['a function', (o: { quality: number | null; cost: number }) => (o.quality ?? 0) - 0.05 * o.cost]] as const) {
    it(`report then feedback, and feedback then report, give the same rewards and posterior (${label})`, async () => {
      const definition = learnerDef('order', { objective });
      const a = await started((await stores.fresh()).store, definition);
      const b = await started((await stores.fresh()).store, definition);
      const rewards = await run(a.learner, 'report-first');
      expect(await run(b.learner, 'feedback-first')).toEqual(rewards);
      expect((await b.learner.stats()).buckets).toEqual((await a.learner.stats()).buckets);
    });
  }

  it('rewards at feedback when the objective reads quality alone; an errored report still rewards at once', async () => {
    const { learner } = await started((await stores.fresh()).store, learnerDef('quality'));
    const d = await learner.choose({ task: 't' });
    expect(await learner.feedback(d.requestId, 0.7)).toEqual({ applied: true, reward: 0.7 });
    const e = await learner.choose({ task: 't' });
    const weighted = await started((await stores.fresh()).store, learnerDef('weighted', { objective: { costWeight: 0.1, errorPenalty: 0.5 } }));
    const f = await weighted.learner.choose({ task: 't' });
    const rewards: number[] = [];
    weighted.learner.subscribe((ev) => ev.type === 'reward' && rewards.push(ev.reward));
    await weighted.learner.report(f.requestId, { latencyMs: 3, cost: 2, error: true });
    expect(rewards).toHaveLength(1);
    expect(rewards[0]).toBeCloseTo(-0.7, 12); // quality 0 − 0.1·2 − 0.5, without waiting for feedback
    expect((await learner.explain(e.requestId)).waitingFor).toEqual(['feedback']);
  });

  it('drops a decision whose report never came at its TTL, saying what was missing; nothing is rewarded', async () => {
    let now = 0;
    const { learner } = await started((await stores.fresh()).store, learnerDef('ttl', { objective: { costWeight: 0.1 }, pending: { ttlMs: 1_000 } }), () => now);
    const events: LearnerEvent[] = [];
    learner.subscribe((e) => events.push(e));
    const d = await learner.choose({ task: 't' });
    expect(await learner.feedback(d.requestId, 1)).toEqual({ applied: false, reason: 'awaiting_report' });
    now += 1_001;
    await learner.choose({ task: 't' }); // sweeps
    expect(events.filter((e) => e.type !== 'decision')).toEqual([{ type: 'expired', requestId: d.requestId, arm: d.arm, missing: ['report'] }]);
    expect(Object.values((await learner.stats()).buckets['task=t']!.arms).every((a) => a.count === 0)).toBe(true);
  });

  it('refuses awaitFeedback and awaitReport both false', () => {
    expect(() => learnerDef('nothing', { awaitFeedback: false, awaitReport: false })).toThrow(LearnerDefinitionError);
  });
});

describe('one definition per running learner, and what another definition learned', () => {
  it('reuses the running actor for the same code built again, and refuses another definition naming what differs', async () => {
    const { store } = await stores.fresh();
    const rt = new Runtime();
    runtimes.push(rt);
    const learners = await Learners.start(rt, { store });
    const running = await learners.learner(learnerDef('qa', { objective: { costWeight: 0.01 } }));
    const d = await running.choose({ task: 't' });
    expect(await (await learners.learner(learnerDef('qa', { objective: { costWeight: 0.01 } }))).explain(d.requestId)).toMatchObject({ arm: d.arm });
    const error = await refusal(learners.learner(learnerDef('qa', { objective: { costWeight: 0.02 } })), LearnerDefinitionMismatchError);
    expect(error).toMatchObject({ code: 'DSPEX_LEARNER_DEFINITION_MISMATCH', learner: 'qa' });
    expect(error.differences).toContain('objective.costWeight is 0.01 in the running one, 0.02 in this one');
    expect(error.message).toMatch(/learners\.stop\("qa"\)/);
    const bucketed = await refusal(learners.learner(learnerDef('qa', { objective: { costWeight: 0.01 }, bucket: (c) => c.task ?? '*' })), LearnerDefinitionMismatchError);
    expect(bucketed.differences).toEqual(['bucket is another function (its source text differs)']);
    expect((await running.explain(d.requestId)).status).toBe('pending'); // the running one is untouched
  });

  it('refuses what the store holds from another reward or other arm values; forgets what the change invalidates when told to', async () => {
    const { store } = await stores.fresh();
    const rt = new Runtime();
    runtimes.push(rt);
    const learners = await Learners.start(rt, { store });
    const first = await learners.learner(learnerDef('qa', { objective: { costWeight: 0.01 } }));
    await run(first, 'report-first');
    const learned = await first.stats();
    await learners.stop('qa');
    const row = await store.kv.get(learnerNamespace('qa'), 'state');

    const reward = await refusal(learners.learner(learnerDef('qa', { objective: { costWeight: 0.05 } })), LearnerStoredStateError);
    expect(reward).toMatchObject({ code: 'DSPEX_LEARNER_STORED_STATE', learner: 'qa' });
    expect(reward.changes).toEqual(['the reward was objective {"costWeight":0.01,"latencyWeight":0,"errorPenalty":0} awaiting feedback and report, now objective {"costWeight":0.05,"latencyWeight":0,"errorPenalty":0} awaiting feedback and report (its posteriors are on another scale)']);
    const swapped = { ...modelArms, small: { model: 'tiny' } };
    const arm = await refusal(learners.learner(learnerDef('qa', { arms: swapped, objective: { costWeight: 0.01 } })), LearnerStoredStateError);
    expect(arm.changes).toEqual(['arm "small" was {"model":"small"}, now {"model":"tiny"}']);
    expect(await store.kv.get(learnerNamespace('qa'), 'state')).toEqual(row); // nothing written

    // An added arm changes nothing learned: it starts from the prior.
    const added = await learners.learner(learnerDef('qa', { arms: { ...modelArms, huge: { model: 'huge' } }, objective: { costWeight: 0.01 } }));
    expect((await added.stats()).buckets['task=a']!.arms.filter((a) => a.arm !== 'huge')).toEqual(learned.buckets['task=a']!.arms);
    await learners.stop('qa');

    // 'forget': only the changed arm's statistics go (the others' stay), and the change is written at once.
    const forgetting = await learners.learner(learnerDef('qa', { arms: swapped, objective: { costWeight: 0.01 }, onDefinitionChange: 'forget' }));
    const after = await forgetting.stats();
    for (const bucket of ['task=a', 'task=b']) {
      expect(after.buckets[bucket]!.arms.find((a) => a.arm === 'small')!.count).toBe(0);
      expect(after.buckets[bucket]!.arms.filter((a) => a.arm !== 'small')).toEqual(learned.buckets[bucket]!.arms.filter((a) => a.arm !== 'small'));
    }
    await learners.stop('qa');
    // The store now records the new arm: the same definition without 'forget' starts as it is.
    await learners.learner(learnerDef('qa', { arms: swapped, objective: { costWeight: 0.01 } }));
  });
});
