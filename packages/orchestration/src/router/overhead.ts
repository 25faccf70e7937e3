// measureRouterOverhead(): what routing adds to a call, for the bench. A router warmed with samples on both sides
// of a module decides again and again; the call itself is not counted. The budget is 10 µs per decision.

import { Predict, Prediction, type Program } from 'dspex';
import { Router } from './router.js';

/** What `measureRouterOverhead()` reports: the mean cost of one routing decision against the design's budget. */
export interface RouterOverhead {
  /** Mean cost of one decide() in nanoseconds. */
  nsPerDecision: number;
  decisions: number;
  /** The 10 µs budget the design sets, in ns, and whether the mean is within it. */
  budgetNs: number;
  withinBudget: boolean;
}

/** Decides `decisions` times (at least 100,000) on a warm router and returns the mean cost per decision. */
export function measureRouterOverhead(decisions = 200_000): RouterOverhead {
  const count = Math.max(100_000, Math.floor(decisions));
  const python: Program = { call: async () => new Prediction({ answer: 'python' }) };
  const router = new Router({ prefer: 'native' });
  const module = router.module({ name: 'bench', native: new Predict('question -> answer'), python });
  // Warm: both sides measured (so every rule is evaluated), and decide() itself JIT-compiled.
  let clock = 0;
  for (let i = 0; i < 20; i++) {
    module.stats.native.record(5 + (i % 3), i % 7 !== 0, (clock += 10));
    module.stats.python.record(8 + (i % 2), true, (clock += 10));
  }
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += router.decide(module).side === 'native' ? 1 : 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) sink += router.decide(module).side === 'native' ? 1 : 0;
  const elapsed = Number(process.hrtime.bigint() - start);
  router.close();
  if (sink < 0) throw new Error('unreachable'); // keeps the loop from being optimised away
  const nsPerDecision = elapsed / count;
  return { nsPerDecision, decisions: count, budgetNs: 10_000, withinBudget: nsPerDecision <= 10_000 };
}
