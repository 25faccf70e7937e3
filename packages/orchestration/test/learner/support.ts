// A seeded simulated workload for learner tests: tasks whose best arm differs, Bernoulli quality per
// (task, arm), and a driver that runs requests through choose / report / feedback.

import { Runtime } from '@dspex/runtime';
import type { Store } from '@dspex/store';
import { Learners, defineLearner, type Decision, type Learner, type LearnerOptions } from '../../src/learner/index.js';
import { SeededRng } from '../../src/learner/rng.js';

export const TASKS = ['math', 'extract', 'prove'] as const;
/** P(correct) by task and model: small wins math, medium extract, large prove. */
export const ACCURACY: Record<string, Record<string, number>> = {
  math: { small: 0.95, medium: 0.85, large: 0.8 },
  extract: { small: 0.5, medium: 0.92, large: 0.85 },
  prove: { small: 0.2, medium: 0.5, large: 0.9 },
};
export const BEST: Record<string, string> = { math: 'small', extract: 'medium', prove: 'large' };

export const modelArms = { small: { model: 'small' }, medium: { model: 'medium' }, large: { model: 'large' } };

export function learnerDef(name: string, options: Partial<LearnerOptions> = {}) {
  return defineLearner(name, { arms: modelArms, seed: 7, ...options });
}

export async function startLearner(store: Store, definition = learnerDef('qa'), clock?: () => number): Promise<{ rt: Runtime; learner: Learner }> {
  const rt = new Runtime();
  const learners = await Learners.start(rt, { store, ...(clock === undefined ? {} : { clock }) });
  return { rt, learner: await learners.learner(definition) };
}

/** Runs `count` requests (tasks round-robin); the world's answers come from `seed`. Resolves to the decisions in order. */
export async function drive(learner: Learner, count: number, options: { seed?: number; latencyMs?: (arm: string) => number; accuracy?: Record<string, Record<string, number>> } = {}): Promise<Array<{ task: string; decision: Decision }>> {
  const world = new SeededRng(options.seed ?? 99);
  const accuracy = options.accuracy ?? ACCURACY;
  const out: Array<{ task: string; decision: Decision }> = [];
  for (let i = 0; i < count; i++) {
    const task = TASKS[i % TASKS.length]!;
    const decision = await learner.choose({ task });
    const model = decision.values.model as string;
    await learner.report(decision.requestId, { latencyMs: options.latencyMs?.(decision.arm) ?? 5 + world.next(), cost: 0 });
    await learner.feedback(decision.requestId, world.next() < accuracy[task]![model]! ? 1 : 0);
    out.push({ task, decision });
  }
  return out;
}
