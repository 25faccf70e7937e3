// What the learner refuses, with a LearnerValueError and nothing changed, so one bad call cannot poison what it
// learned (a NaN reward would make every later write fail): non-finite scores and telemetry, contexts it cannot
// bucket, reused request ids, objectives and bucket functions that fail; and definitions it cannot run.

import { afterEach, describe, expect, it } from 'vitest';
import { variable } from '../../src/variables/index.js';
import { LearnerDefinitionError, LearnerValueError, defaultBucket, defineLearner, learnerNamespace, type Learner, type LearnerOptions } from '../../src/learner/index.js';
import { sqliteStores } from '../variables/support.js';
import { learnerDef, startLearner } from './support.js';

const stores = sqliteStores();
const runtimes: Array<{ shutdown(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()));
  await stores.cleanup();
});

async function started(definition = learnerDef('refusals'), clock?: () => number) {
  const { store } = await stores.fresh();
  const s = await startLearner(store, definition, clock);
  runtimes.push(s.rt);
  return { ...s, store };
}

async function refusal(promise: Promise<unknown>): Promise<LearnerValueError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LearnerValueError);
  expect(error).toMatchObject({ code: 'DSPEX_LEARNER_VALUE' });
  return error as LearnerValueError;
}

/** One rewarded request (score 1), so stats have something to compare. */
async function rewarded(learner: Learner): Promise<void> {
  const d = await learner.choose({ task: 't' });
  await learner.report(d.requestId, { latencyMs: 5, cost: 1 });
  await learner.feedback(d.requestId, 1);
}

describe('refused calls change nothing', () => {
  it('a score or telemetry that is not a finite number is refused; the decision still takes a good one', async () => {
    const { learner, store } = await started();
    await rewarded(learner);
    const before = await learner.stats();
    const d = await learner.choose({ task: 't' });
    for (const score of [Number.NaN, Infinity, -Infinity, '1' as unknown as number, null as unknown as number]) {
      expect((await refusal(learner.feedback(d.requestId, score))).message).toMatch(/a score is a finite number/);
    }
    expect((await refusal(learner.report(d.requestId, { latencyMs: -5 }))).message).toMatch(/latencyMs must be a finite number >= 0, not -5/);
    expect((await refusal(learner.report(d.requestId, { latencyMs: 5, cost: Number.NaN }))).message).toMatch(/cost must be a finite number, not NaN/);
    expect((await refusal(learner.report(d.requestId, { error: 'yes' as unknown as boolean }))).message).toMatch(/error must be a boolean/);
    expect((await learner.explain(d.requestId)).status).toBe('pending');
    expect((await learner.stats()).buckets['task=t']!.arms).toEqual(before.buckets['task=t']!.arms);

    await learner.report(d.requestId, { latencyMs: 5, cost: 1 });
    expect(await learner.feedback(d.requestId, 0.5)).toEqual({ applied: true, reward: 0.5 });
    const row = await store.kv.get(learnerNamespace('refusals'), 'state');
    expect(JSON.stringify(row!.value)).not.toContain('null,'); // every statistic it wrote is a number
    expect((await learner.stats()).buckets['task=t']!.arms.find((a) => a.arm === d.arm)!.count).toBe((before.buckets['task=t']!.arms.find((a) => a.arm === d.arm)!.count) + 1);
  });

  it('refuses contexts it cannot bucket, and empty or reused request ids', async () => {
    const { learner } = await started();
    expect((await refusal(learner.choose(null as never))).message).toMatch(/a context is an object/);
    expect((await refusal(learner.choose({ task: 7 as unknown as string }))).message).toMatch(/context.task must be a string, not 7/);
    expect((await refusal(learner.choose({ features: { tokens: Number.NaN } }))).message).toMatch(/context.features.tokens must be a string, a finite number or a boolean, not NaN/);
    expect((await refusal(learner.choose({ features: { nested: { a: 1 } as unknown as string } }))).message).toMatch(/features.nested/);
    expect((await refusal(learner.choose({ task: 't' }, { requestId: '' }))).message).toMatch(/non-empty string/);
    const first = await learner.choose({ task: 't' }, { requestId: 'r1' });
    expect((await refusal(learner.choose({ task: 'u' }, { requestId: 'r1' }))).message).toMatch(/"r1" was already chosen/);
    expect(await learner.explain('r1')).toMatchObject({ arm: first.arm, bucket: 'task=t' }); // the first decision is untouched
    expect((await learner.stats()).decisions).toBe(1);
  });

  it('an objective that throws or returns no finite number, and a bucket function that fails, are refused', async () => {
    let broken = true;
    const { learner } = await started(learnerDef('objective', { objective: (o) => (broken ? Number.NaN : (o.quality ?? 0) - o.cost) }));
    const d = await learner.choose({ task: 't' });
    await learner.report(d.requestId, { latencyMs: 3, cost: 0.25 });
    expect((await refusal(learner.feedback(d.requestId, 1))).message).toMatch(/objective returned NaN.*nothing was applied/);
    broken = false;
    expect(await learner.feedback(d.requestId, 1)).toEqual({ applied: true, reward: 0.75 }); // still pending: a fixed objective applies it

    const e = await learner.choose({ task: 't' });
    broken = true;
    expect((await refusal(learner.report(e.requestId, { latencyMs: 3, error: true }))).message).toMatch(/objective returned NaN/); // an error is rewarded at once
    expect((await learner.explain(e.requestId)).outcome).toBeNull();

    const thrower = (await started(learnerDef('thrower', { objective: () => { throw new Error('no prices'); } }))).learner;
    const t = await thrower.choose({});
    expect(await thrower.feedback(t.requestId, 1)).toEqual({ applied: false, reason: 'awaiting_report' }); // a function objective waits for the report
    const error = await refusal(thrower.report(t.requestId, { latencyMs: 2 }));
    expect(error.message).toMatch(/its objective threw: no prices/);
    expect((error.cause as Error).message).toBe('no prices');

    const bucketer = (await started(learnerDef('bucketer', { bucket: (c) => (c.task === 'bad' ? (undefined as unknown as string) : `t=${c.task}`) }))).learner;
    expect((await refusal(bucketer.choose({ task: 'bad' }))).message).toMatch(/bucket function must return a non-empty string, not undefined/);
    expect((await bucketer.choose({ task: 'good' })).bucket).toBe('t=good');
  });

  it('a report without a latency (an error, a cost) leaves the arm’s latency baseline alone', async () => {
    const { learner } = await started(learnerDef('latency', { arms: { only: { model: 'only' } } }));
    for (let i = 0; i < 30; i++) {
      const d = await learner.choose({ task: 't' });
      await learner.report(d.requestId, { latencyMs: 200 });
      await learner.feedback(d.requestId, 1);
    }
    for (let i = 0; i < 10; i++) {
      const d = await learner.choose({ task: 't' });
      await learner.report(d.requestId, i % 2 === 0 ? { error: true } : { cost: 2 });
    }
    const health = (await learner.stats()).health.only!;
    expect(health.latencyMean).toBe(200);
    expect(health.latencySamples).toBe(30);
    expect(health.errorRate).toBeGreaterThan(0);
  });
});

describe('user context features', () => {
  it('buckets by task, signature, input length class and features (numbers in power-of-two classes)', () => {
    expect(defaultBucket({ task: 'qa', signature: 'question -> answer', input: 'x'.repeat(300), features: { tier: 'pro', tokens: 300, beta: true } })).toBe('task=qa|sig=question -> answer|len=m|beta=true|tier=pro|tokens=2^8');
    expect(defaultBucket({ features: { tokens: 0.5 } })).toBe('task=*|tokens=2^-1');
    expect(defaultBucket({ features: { tokens: 0 } })).toBe('task=*|tokens=2^-');
  });

  it('learns each feature value’s best arm apart', async () => {
    const { learner } = await started(learnerDef('tiers', { arms: { a: { model: 'a' }, b: { model: 'b' } }, halfLife: 200 }));
    const quality = { pro: { a: 0.9, b: 0.3 }, free: { a: 0.3, b: 0.9 } } as const;
    const late: Record<string, string[]> = { pro: [], free: [] };
    for (let i = 0; i < 240; i++) {
      const tier = i % 2 === 0 ? 'pro' : 'free';
      const d = await learner.choose({ task: 'qa', features: { tier } });
      await learner.report(d.requestId, { latencyMs: 5 });
      await learner.feedback(d.requestId, quality[tier][d.arm as 'a' | 'b']);
      if (i >= 160) late[tier]!.push(d.arm);
    }
    expect(late.pro!.filter((a) => a === 'a').length).toBeGreaterThan(34); // of 40
    expect(late.free!.filter((a) => a === 'b').length).toBeGreaterThan(34);
  });
});

describe('definitions', () => {
  it('refuses options it could not run with, naming the option', () => {
    const refused = (options: Partial<LearnerOptions>): string => {
      try {
        defineLearner('bad', { arms: { a: { model: 'a' } }, ...options } as LearnerOptions);
      } catch (error) {
        expect(error).toBeInstanceOf(LearnerDefinitionError);
        return (error as Error).message;
      }
      throw new Error('defineLearner accepted it');
    };
    expect(refused({ anomaly: { probes: 0 } })).toMatch(/anomaly.probes must be a whole number >= 1/);
    expect(refused({ anomaly: { fastAlpha: 0 } })).toMatch(/anomaly.fastAlpha must be a smoothing factor/);
    expect(refused({ anomaly: { cooldownMs: 10_000, maxCooldownMs: 5_000 } })).toMatch(/maxCooldownMs must be/);
    expect(refused({ prior: { mean: Number.NaN } })).toMatch(/prior needs a finite mean/);
    expect(refused({ objective: { costWeight: Number.NaN } })).toMatch(/objective.costWeight must be a finite number, not NaN/);
    expect(refused({ objective: { costWieght: 1 } as never })).toMatch(/not "costWieght"/);
    expect(refused({ pending: { ttlMs: 0 } })).toMatch(/pending.ttlMs/);
    expect(refused({ pending: { max: 0 } })).toMatch(/pending.max/);
    expect(refused({ arms: { a: null as never } })).toMatch(/arm "a" must be an assignment/);
    expect(refused({ arms: { a: { temperature: Number.NaN } } })).toMatch(/arm "a".temperature is NaN/);
    expect(refused({ arms: undefined, decisions: {} })).toMatch(/decisions must name at least one/);
    expect(refused({ arms: undefined, decisions: { kind: variable.module({ choices: ['Agent' as never] }) } })).toMatch(/decision variable "kind": module choices must be among/);
  });
});
