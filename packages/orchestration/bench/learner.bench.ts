// bench:learner — does the learner pay for itself? Three task types over three strategies (loopback model servers,
// real HTTP through dspex LM clients and Predict) whose accuracy, cost and latency differ by task; 2,000 requests
// with feedback; from request 1,200 the best strategy for `prove` degrades. Every strategy also answers every
// request (the table), which gives the static strategies in hindsight and trains a kNN router on the first 20%.
// One JSON object on the last line.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { ChatAdapter, LM, Predict, configure } from 'dspex';
import { Learners, defineLearner, type Outcome } from '../src/index.js';
import { accuracyAt, startStrategyServer, uniform, type StrategyProfile } from './learner_servers.js';

const REQUESTS = Number(process.env.BENCH_LEARNER_REQUESTS ?? 2000);
const DRIFT_AT = Math.round(REQUESTS * 0.6);
const CONCURRENCY = 8;
const SEED = Number(process.env.BENCH_SEED ?? 1);
const COST_WEIGHT = 0.01; // the objective: quality − 0.01·cost (quality 0..1, cost in server units)
const TASKS = ['math', 'extract', 'prove'] as const;
type Task = (typeof TASKS)[number];

const PROFILES: Record<string, StrategyProfile> = {
  small: { tasks: { math: { accuracy: 0.95, cost: 1, latencyMs: 2 }, extract: { accuracy: 0.55, cost: 1, latencyMs: 2 }, prove: { accuracy: 0.25, cost: 1, latencyMs: 3 } } },
  medium: { tasks: { math: { accuracy: 0.88, cost: 4, latencyMs: 4 }, extract: { accuracy: 0.93, cost: 4, latencyMs: 4 }, prove: { accuracy: 0.62, cost: 4, latencyMs: 5 } } },
  large: {
    tasks: { math: { accuracy: 0.86, cost: 12, latencyMs: 6 }, extract: { accuracy: 0.9, cost: 12, latencyMs: 7 }, prove: { accuracy: 0.93, cost: 12, latencyMs: 9 } },
    drift: { task: 'prove', from: DRIFT_AT, accuracy: 0.4 },
  },
};
const STRATEGIES = Object.keys(PROFILES);

const CITIES = ['Paris', 'Lima', 'Oslo', 'Cairo', 'Quito', 'Seoul', 'Perth', 'Rome'];
const NAMES = ['Ana', 'Bo', 'Chen', 'Dara', 'Eli', 'Femi'];
const METHODS = ['induction', 'contradiction', 'a counting argument', 'the pigeonhole principle'];
function question(i: number): { task: Task; text: string } {
  const task = TASKS[Math.floor(uniform(SEED, 'task', i) * 3)]!;
  const r = (k: string, n: number): number => Math.floor(uniform(SEED, k, i) * n);
  const body =
    task === 'math' ? `Compute ${r('a', 900)} + ${r('b', 900)} and give the sum.`
    : task === 'extract' ? `Extract the city from: "${NAMES[r('n', NAMES.length)]} flew to ${CITIES[r('c', CITIES.length)]} on day ${r('d', 28)} with ${r('k', 5)} bags."`
    : `Prove that ${r('p', 1000)} cannot be written as a sum of ${r('q', 5) + 2} squares, using ${METHODS[r('m', METHODS.length)]}.`;
  return { task, text: `Q${i} (${task}): ${body}` };
}

const rt = new Runtime();
const servers = await Promise.all(STRATEGIES.map((s) => startStrategyServer(s, PROFILES[s]!, SEED)));
const lms = Object.fromEntries(await Promise.all(STRATEGIES.map(async (s, k) => [s, await LM.start(rt, { model: `openai/${s}`, apiBase: servers[k]!.url, apiKey: 'unused', cache: { memory: false } })] as const)));
configure({ adapter: new ChatAdapter(), trackUsage: true });
const predict = new Predict('question -> answer');

interface Answer { quality: number; cost: number; latencyMs: number; error: boolean }
/** One request through dspex: Predict on the strategy's LM; quality from the metric, cost from the usage. */
async function ask(strategy: string, i: number, text: string): Promise<Answer> {
  const started = performance.now();
  try {
    const prediction = await predict.call({ question: text }, { lm: lms[strategy]! });
    const usage = Object.values(prediction.lmUsage ?? {});
    return { quality: String(prediction.get('answer')).trim() === `A${i}` ? 1 : 0, cost: usage.reduce((sum, u) => sum + u.completionTokens, 0), latencyMs: performance.now() - started, error: false };
  } catch {
    return { quality: 0, cost: 0, latencyMs: performance.now() - started, error: true };
  }
}

async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

const began = performance.now();
const requests = Array.from({ length: REQUESTS }, (_, i) => question(i));

// The table: every strategy on every request (static strategies in hindsight, the kNN router's training data).
const table = await pool(REQUESTS, 16, async (i) => Object.fromEntries(await Promise.all(STRATEGIES.map(async (s) => [s, await ask(s, i, requests[i]!.text)] as const))) as Record<string, Answer>);

// The learner, on the real path: choose, call, report telemetry, feedback with the metric.
const dir = mkdtempSync(join(tmpdir(), 'dspex-bench-learner-'));
const store = await openStore({ sqlite: { dir, synchronous: 'normal' } });
const objective = (o: Outcome): number => (o.error ? 0 : (o.quality ?? 0)) - COST_WEIGHT * o.cost;
const learner = await (await Learners.start(rt, { store })).learner(
  defineLearner('bench', { decisions: { model: { kind: 'lm', choices: STRATEGIES } }, objective, seed: SEED, explorationBudget: 0.05, halfLife: 40 }),
);
const chosen: string[] = [];
const learnerAnswers: Answer[] = [];
for (let start = 0; start < REQUESTS; start += CONCURRENCY) {
  const batch = Array.from({ length: Math.min(CONCURRENCY, REQUESTS - start) }, (_, k) => start + k);
  const decisions = await Promise.all(batch.map((i) => learner.choose({ task: requests[i]!.task, signature: 'question -> answer', input: requests[i]!.text })));
  const answers = await Promise.all(batch.map((i, k) => ask(decisions[k]!.values.model as string, i, requests[i]!.text)));
  // Telemetry and feedback in request order, after the whole batch: feedback arrives late, and the run replays.
  for (const [k, i] of batch.entries()) {
    const a = answers[k]!;
    chosen[i] = decisions[k]!.values.model as string;
    learnerAnswers[i] = a;
    await learner.report(decisions[k]!.requestId, { latencyMs: a.latencyMs, cost: a.cost, error: a.error });
    if (!a.error) await learner.feedback(decisions[k]!.requestId, a.quality);
  }
}

// kNN router: hashed bag-of-words, cosine, k = 15, trained on the first 20% with every strategy's outcome.
const DIM = 256;
const embed = (text: string): Float64Array => {
  const v = new Float64Array(DIM);
  for (const word of text.toLowerCase().replace(/q\d+ \(\w+\):/, '').split(/[^a-z]+/).filter(Boolean)) v[Math.floor(uniform('w', word) * DIM)]! += 1;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
};
const TRAIN = Math.round(REQUESTS * 0.2);
const trainVectors = requests.slice(0, TRAIN).map((r) => embed(r.text));
const knnChoice = (i: number): string => {
  const v = embed(requests[i]!.text);
  const neighbours = trainVectors.map((t, j) => ({ j, sim: t.reduce((s, x, d) => s + x * v[d]!, 0) })).sort((a, b) => b.sim - a.sim).slice(0, 15);
  return STRATEGIES.reduce((bestS, s) => {
    const score = (x: string) => neighbours.reduce((sum, n) => sum + objective({ ...table[n.j]![x]!, quality: table[n.j]![x]!.quality }), 0);
    return score(s) > score(bestS) ? s : bestS;
  });
};

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);
const all = range(0, REQUESTS);
const test = range(TRAIN, REQUESTS);
const summary = (pick: (i: number) => Answer, over: number[]) => ({ quality: 100 * mean(over.map((i) => pick(i).quality)), cost: mean(over.map((i) => pick(i).cost)), objective: mean(over.map((i) => objective(pick(i)))) });

const statics = STRATEGIES.map((s) => ({ strategy: s, ...summary((i) => table[i]![s]!, all) }));
const bestStatic = statics.reduce((a, b) => (b.quality > a.quality ? b : a));
const cheapestNearBest = statics.filter((s) => s.quality >= bestStatic.quality - 1).reduce((a, b) => (b.cost < a.cost ? b : a));
const bestStaticByObjective = statics.reduce((a, b) => (b.objective > a.objective ? b : a));
const learnerAll = summary((i) => learnerAnswers[i]!, all);
const learnerTest = summary((i) => learnerAnswers[i]!, test);
const knnPicks = new Map(test.map((i) => [i, knnChoice(i)]));
const knnTest = summary((i) => table[i]![knnPicks.get(i)!]!, test);

// Regret against the best strategy in expectation for each request's task at its time.
const expected = (s: string, i: number): number => accuracyAt(PROFILES[s]!, requests[i]!.task, i) - COST_WEIGHT * PROFILES[s]!.tasks[requests[i]!.task]!.cost;
const bestAt = (i: number): string => STRATEGIES.reduce((a, b) => (expected(b, i) > expected(a, i) ? b : a));
let cumulative = 0;
const regretCurve: Array<{ requests: number; cumulative_regret: number }> = [];
for (const i of all) {
  cumulative += expected(bestAt(i), i) - expected(chosen[i]!, i);
  if ((i + 1) % 250 === 0) regretCurve.push({ requests: i + 1, cumulative_regret: round(cumulative, 1) });
}

// Recovery: requests after the drift until 8 of the last 10 `prove` decisions take the new best strategy.
const newBest = bestAt(requests.findIndex((r, i) => i >= DRIFT_AT && r.task === 'prove'));
let recovery: number | null = null;
const window: boolean[] = [];
for (const i of range(DRIFT_AT, REQUESTS)) {
  if (requests[i]!.task !== 'prove') continue;
  window.push(chosen[i] === newBest);
  if (window.length > 10) window.shift();
  if (window.length === 10 && window.filter(Boolean).length >= 8) {
    recovery = i - DRIFT_AT + 1;
    break;
  }
}

const costCut = 100 * (1 - learnerAll.cost / bestStatic.cost);
const improvement = 100 * (learnerAll.objective - bestStatic.objective) / Math.abs(bestStatic.objective);
const choiceShare = Object.fromEntries(TASKS.map((t) => [t, Object.fromEntries(STRATEGIES.map((s) => [s, round(mean(all.filter((i) => requests[i]!.task === t && i >= DRIFT_AT - 400 && i < DRIFT_AT).map((i) => (chosen[i] === s ? 1 : 0))), 2)]))]));
const result = {
  requests: REQUESTS,
  drift_at: DRIFT_AT,
  objective: `quality - ${COST_WEIGHT} * cost`,
  learner_quality: round(learnerAll.quality),
  learner_cost: round(learnerAll.cost),
  best_static: bestStatic.strategy,
  best_static_quality: round(bestStatic.quality),
  best_static_cost: round(bestStatic.cost),
  cheapest_near_best_static: cheapestNearBest.strategy,
  cheapest_near_best_static_quality: round(cheapestNearBest.quality),
  cheapest_near_best_static_cost: round(cheapestNearBest.cost),
  static_strategies: statics.map((s) => ({ strategy: s.strategy, quality: round(s.quality), cost: round(s.cost), objective: round(s.objective, 3) })),
  knn_quality: round(knnTest.quality),
  knn_cost: round(knnTest.cost),
  knn_objective: round(knnTest.objective, 3),
  learner_quality_on_knn_test_requests: round(learnerTest.quality),
  learner_cost_on_knn_test_requests: round(learnerTest.cost),
  learner_objective_on_knn_test_requests: round(learnerTest.objective, 3),
  learner_choice_share_before_drift: choiceShare,
  regret_curve: regretCurve,
  drift_recovery_requests: recovery,
  cost_reduction_pct_vs_best_static: round(costCut, 1),
  improvement_pct_vs_best_static: round(improvement, 1),
  improvement_pct_vs_best_static_by_objective: round(100 * (learnerAll.objective - bestStaticByObjective.objective) / Math.abs(bestStaticByObjective.objective), 1),
  goal_quality_at_30pct_lower_cost: learnerAll.quality >= bestStatic.quality && costCut >= 30,
  goal_ahead_of_knn: learnerTest.objective > knnTest.objective && learnerTest.quality >= knnTest.quality,
  goal_recovery_within_200: recovery !== null && recovery <= 200,
  goal_seed_20pct_improvement: improvement >= 20,
  wall_s: round((performance.now() - began) / 1000, 1),
};
console.error(`[bench:learner] learner ${result.learner_quality} quality at ${result.learner_cost}/request; ${bestStatic.strategy} ${result.best_static_quality} at ${result.best_static_cost}; kNN ${result.knn_quality} at ${result.knn_cost}; recovery ${recovery} requests`);
await store.close();
rmSync(dir, { recursive: true, force: true });
await Promise.all(servers.map((s) => s.close()));
await rt.shutdown();
console.log(JSON.stringify(result));
