// The learner: it converges to each context's best arm on a seeded workload, keeps what it learned across a
// restart (actor and SQLite store), weighs outcomes by the objective, takes late feedback within its TTL,
// explains each decision, and demotes an anomalous arm (breaker) then probes it back in (fake clock).

import { afterEach, describe, expect, it } from 'vitest';
import { variable } from '../../src/variables/index.js';
import { LearnerDefinitionError, LearnerUnknownRequestError, defineLearner, type LearnerEvent } from '../../src/learner/index.js';
import { sqliteStores } from '../variables/support.js';
import { BEST, TASKS, drive, learnerDef, startLearner } from './support.js';

const stores = sqliteStores();
const runtimes: Array<{ shutdown(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown()));
  await stores.cleanup();
});

async function started(...args: Parameters<typeof startLearner>) {
  const s = await startLearner(...args);
  runtimes.push(s.rt);
  return s;
}

/** The next event of a learner that `match` accepts. */
function nextEvent(learner: { subscribe(l: (e: LearnerEvent) => void): () => void }, match: (e: LearnerEvent) => boolean): Promise<LearnerEvent> {
  return new Promise((resolve) => {
    const off = learner.subscribe((e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe('convergence', () => {
  it('chooses each task’s best arm in more than 85% of the last 300 of 900 seeded requests', async () => {
    const { store } = await stores.fresh();
    const { learner } = await started(store, learnerDef('stationary', { halfLife: 200 })); // a stationary world: forget slowly
    const decisions = await drive(learner, 900);
    for (const task of TASKS) {
      const late = decisions.slice(-300).filter((d) => d.task === task);
      const rate = late.filter((d) => d.decision.arm === BEST[task]).length / late.length;
      expect(rate, `${task}: best-arm rate ${rate}`).toBeGreaterThan(0.85);
    }
    const stats = await learner.stats();
    for (const bucket of Object.values(stats.buckets)) expect(bucket.explored).toBeLessThanOrEqual(0.1 * bucket.decisions + 3);
  });

  it('makes the same choices from the same seed', async () => {
    const a = (await drive((await started((await stores.fresh()).store)).learner, 120)).map((d) => d.decision.arm);
    const b = (await drive((await started((await stores.fresh()).store)).learner, 120)).map((d) => d.decision.arm);
    expect(a).toEqual(b);
  });
});

describe('persistence', () => {
  it('keeps the same posterior (and RNG) across a restart of the actor and a reopened SQLite store', async () => {
    const { store, reopen } = await stores.fresh();
    const first = await started(store);
    await drive(first.learner, 150);
    const before = await first.learner.stats();
    // The actor first: stopped and started again from the store.
    await first.learner.stop();
    expect(await first.learner.stats()).toEqual({ ...before, pending: 0 });
    await first.rt.shutdown();
    await store.close();

    const second = await started(await reopen());
    expect((await second.learner.stats()).buckets).toEqual(before.buckets);
    // The same posterior and RNG state draw the same next choices as a learner that never stopped.
    const control = await started((await stores.fresh()).store);
    await drive(control.learner, 150);
    const next = async (l: typeof control.learner) => Promise.all(TASKS.map(async (task) => (await l.explain((await l.choose({ task })).requestId)).posterior.map((a) => a.draw)));
    expect(await next(second.learner)).toEqual(await next(control.learner));
  });
});

describe('objective', () => {
  const arms = { precise: { model: 'precise' }, cheap: { model: 'cheap' } };
  const truth = { precise: { quality: 0.9, cost: 10 }, cheap: { quality: 0.8, cost: 1 } };
  async function winner(costWeight: number): Promise<string> {
    const { learner } = await started((await stores.fresh()).store, defineLearner(`w${costWeight}`, { arms, objective: { costWeight }, seed: 3 }));
    const chosen: string[] = [];
    for (let i = 0; i < 150; i++) {
      const d = await learner.choose({ task: 't' });
      const t = truth[d.arm as keyof typeof truth];
      await learner.report(d.requestId, { latencyMs: 5, cost: t.cost });
      await learner.feedback(d.requestId, t.quality);
      chosen.push(d.arm);
    }
    const last = chosen.slice(-50);
    return last.filter((a) => a === 'precise').length > 40 ? 'precise' : last.filter((a) => a === 'cheap').length > 40 ? 'cheap' : 'neither';
  }

  it('follows quality alone with costWeight 0 and the cheaper arm when cost weighs (quality − 0.05·cost)', async () => {
    expect(await winner(0)).toBe('precise');
    expect(await winner(0.05)).toBe('cheap');
  });

  it('takes a user-defined objective and gives an errored request quality 0 at once', async () => {
    const { learner } = await started((await stores.fresh()).store, learnerDef('custom', { objective: (o) => (o.error ? -1 : (o.quality ?? 0) - o.latencyMs / 100) }));
    const rewards: number[] = [];
    learner.subscribe((e) => e.type === 'reward' && rewards.push(e.reward));
    const a = await learner.choose({ task: 'x' });
    await learner.report(a.requestId, { latencyMs: 20 });
    expect(await learner.feedback(a.requestId, 1)).toEqual({ applied: true, reward: 0.8 });
    const b = await learner.choose({ task: 'x' });
    await learner.report(b.requestId, { latencyMs: 3, error: true });
    expect(rewards).toEqual([0.8, -1]);
    expect(await learner.feedback(b.requestId, 1)).toEqual({ applied: false, reason: 'duplicate' });
  });
});

describe('late feedback', () => {
  it('applies feedback within the TTL, refuses it after, and bounds what is pending', async () => {
    let now = 1_000;
    const { learner } = await started((await stores.fresh()).store, learnerDef('late', { pending: { ttlMs: 60_000, max: 3 } }), () => now);
    const early = await learner.choose({ task: 'a' });
    await learner.report(early.requestId, { latencyMs: 5, cost: 1 });
    now += 59_000; // late, within the TTL
    expect(await learner.feedback(early.requestId, 1)).toMatchObject({ applied: true });
    expect((await learner.explain(early.requestId)).status).toBe('rewarded');

    const stale = await learner.choose({ task: 'a' });
    const expired = nextEvent(learner, (e) => e.type === 'expired');
    now += 60_001;
    expect(await learner.feedback(stale.requestId, 1)).toEqual({ applied: false, reason: 'unknown' });
    expect(await expired).toEqual({ type: 'expired', requestId: stale.requestId, arm: stale.arm, missing: ['feedback'] });
    await expect(learner.explain(stale.requestId)).rejects.toBeInstanceOf(LearnerUnknownRequestError);

    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await learner.choose({ task: 'a' })).requestId);
    expect((await learner.stats()).pending).toBeLessThanOrEqual(4); // swept at the next call: max 3 plus the newest
    expect(await learner.feedback(ids[0]!, 1)).toEqual({ applied: false, reason: 'unknown' });
    expect(await learner.feedback(ids[4]!, 1)).toMatchObject({ applied: true });
  });
});

describe('explain', () => {
  it('names the arm, the reason and the posterior every arm had', async () => {
    const { learner } = await started((await stores.fresh()).store);
    await drive(learner, 300);
    const d = await learner.choose({ task: 'prove', signature: 'question -> answer', input: 'why?' });
    const e = await learner.explain(d.requestId);
    expect(e).toMatchObject({ requestId: d.requestId, arm: d.arm, bucket: 'task=prove|sig=question -> answer|len=xs', status: 'pending', outcome: null, reward: null });
    expect(['exploit', 'explore', 'budget_spent']).toContain(e.reason);
    expect(e.posterior.map((a) => a.arm)).toEqual(['small', 'medium', 'large']);
    for (const a of e.posterior) expect(a).toMatchObject({ breaker: 'closed', draw: expect.any(Number), std: expect.any(Number) });
    // A new bucket borrows the arms' all-bucket means as its prior: large leads the prove-bucket's posterior too.
    expect(e.why).toContain(d.arm);
    expect(e.exploration.budget).toBe(0.1);
  });
});

describe('anomalies', () => {
  it('opens an arm’s breaker on a latency anomaly, leaves it out, probes it after the cooldown and explores it again', async () => {
    let now = 0;
    const def = learnerDef('lat', { arms: { a: { model: 'a' }, b: { model: 'b' } }, anomaly: { cooldownMs: 10_000, probes: 2, minLatencyIncreaseMs: 20 } });
    const { learner } = await started((await stores.fresh()).store, def, () => now);
    let slow = false;
    const step = async () => {
      const d = await learner.choose({ task: 't' });
      await learner.report(d.requestId, { latencyMs: d.arm === 'a' && slow ? 80 : 5 + (now++ % 3) });
      await learner.feedback(d.requestId, d.arm === 'a' ? 0.9 : 0.6);
      return d;
    };
    for (let i = 0; i < 40; i++) await step();
    const opened = nextEvent(learner, (e) => e.type === 'breaker' && e.to === 'open');
    slow = true;
    for (let i = 0; i < 200 && (await learner.stats()).health.a!.breaker === 'closed'; i++) await step();
    expect(await opened).toMatchObject({ arm: 'a', from: 'closed', to: 'open', reason: 'latency' });
    for (let i = 0; i < 20; i++) expect((await step()).arm).toBe('b');

    slow = false;
    now += 10_000;
    const closed = nextEvent(learner, (e) => e.type === 'breaker' && e.to === 'closed');
    const probe = await step();
    expect(probe).toMatchObject({ arm: 'a', reason: 'probe' });
    expect((await step()).reason).toBe('probe');
    expect(await closed).toMatchObject({ arm: 'a', from: 'half_open', reason: 'probes_passed' });
    const after = [];
    for (let i = 0; i < 20; i++) after.push((await step()).arm);
    expect(after.filter((a) => a === 'a').length).toBeGreaterThan(10);
  });

  it('opens on an error-rate anomaly, and a failed probe opens it again for twice the cooldown', async () => {
    let now = 0;
    const def = learnerDef('err', { arms: { a: { model: 'a' }, b: { model: 'b' } }, anomaly: { cooldownMs: 1_000, probes: 1, fastAlpha: 0.3 } }); // react within a few errors: the rewards alone would starve a
    const { learner } = await started((await stores.fresh()).store, def, () => now);
    let failing = false;
    const step = async () => {
      const d = await learner.choose({ task: 't' });
      await learner.report(d.requestId, { latencyMs: 5, error: d.arm === 'a' && failing });
      if (!(d.arm === 'a' && failing)) await learner.feedback(d.requestId, d.arm === 'a' ? 0.9 : 0.5);
      return d;
    };
    for (let i = 0; i < 40; i++) await step();
    failing = true;
    const opened = nextEvent(learner, (e) => e.type === 'breaker' && e.to === 'open');
    for (let i = 0; i < 200 && (await learner.stats()).health.a!.breaker === 'closed'; i++) await step();
    expect(await opened).toMatchObject({ arm: 'a', reason: 'errors' });
    now += 1_000;
    const reopened = nextEvent(learner, (e) => e.type === 'breaker' && e.to === 'open');
    expect(await step()).toMatchObject({ arm: 'a', reason: 'probe' });
    expect(await reopened).toMatchObject({ arm: 'a', from: 'half_open', reason: 'probe_failed' });
    expect((await learner.stats()).health.a).toMatchObject({ breaker: 'open', cooldownMs: 2_000, openUntil: now + 2_000 });
  });
});

describe('definition', () => {
  it('makes one arm per combination of the decision variables', () => {
    const def = defineLearner('combo', { decisions: { model: variable.lm({ choices: ['s', 'l'] }), module: variable.module({ choices: ['Predict', 'ChainOfThought'] }), temperature: variable.float({ min: 0, max: 1, step: 1 }) } });
    expect(def.arms).toHaveLength(8);
    expect(def.arms[0]).toEqual({ name: 'model=s,module=Predict,temperature=0', values: { model: 's', module: 'Predict', temperature: 0 } });
  });

  it('refuses a decision without a finite domain, and no arms', () => {
    const error = (() => { try { defineLearner('bad', { decisions: { instructions: variable.text() } }); } catch (e) { return e; } })();
    expect(error).toBeInstanceOf(LearnerDefinitionError);
    expect(error).toMatchObject({ code: 'DSPEX_LEARNER_DEFINITION' });
    expect(() => defineLearner('none', {})).toThrow(/exactly one of/);
  });
});
