// One trainset example of BootstrapFewShot (DSPy's _bootstrap_one_example, all its rounds): the teacher runs on
// the example's inputs with a trace open and without that example among its demos, the metric judges the
// prediction, and the trace of a success becomes augmented demos per predictor. Runs inside a task, concurrently
// with other examples, so it works on its own copy of the teacher instead of DSPy's swap-and-restore of demos.

import { createHash } from 'node:crypto';
import type { LM, LMRequest } from '../primitives/lm.js';
import { Example } from '../primitives/example.js';
import type { Module } from '../program/module.js';
import { NoLMConfiguredError } from '../primitives/errors.js';
import type { Prediction } from '../primitives/prediction.js';
import { currentSettings, withSettings, type Settings, type TraceEntry } from '../program/settings.js';
import { PyRandom } from './py_random.js';
import { metricAccepts, type TelepromptMetric } from './teleprompter.js';

/** One round of one example (what BootstrapFewShot keeps per round): whether it was accepted, the error that made it fail, the demos it yields. */
export interface BootstrapAttempt {
  readonly round: number;
  readonly success: boolean;
  /** The program's or the metric's error (DSPy counts these against max_errors). */
  readonly error?: unknown;
  /** Demos per predictor name from the trace of a successful round (already reduced to one per predictor). */
  readonly traces: ReadonlyMap<string, Example[]>;
}

export interface ExampleContext {
  teacher: Module;
  metric: TelepromptMetric | undefined;
  metricThreshold: number | null | undefined;
  maxRounds: number;
  /** The caller's settings with teacherSettings over them, re-applied inside each task. */
  settings: Partial<Settings>;
}

/** DSPy's lm.copy(rollout_id=round, temperature=1.0): the same LM with those defaults, under per-call config. */
export function rolloutLm(lm: LM, round: number): LM {
  const overrides = { rollout_id: round, temperature: 1.0 };
  return {
    model: lm.model,
    defaults: { ...lm.defaults, ...overrides },
    call: (request: LMRequest) => lm.call({ ...request, config: { ...overrides, ...(request.config ?? {}) } }),
  };
}

/** The settings captured where compile() was called, so tasks (whose async context is the runtime's) see them. */
export function captureSettings(teacherSettings: Partial<Settings>): Partial<Settings> {
  const { lm, adapter, maxTraceSize, callerModules } = currentSettings();
  return { lm, adapter, maxTraceSize, callerModules, ...teacherSettings };
}

/** Every round of `example` until one succeeds (DSPy's inner `for round_idx in range(max_rounds)`). */
export async function bootstrapExample(ctx: ExampleContext, example: Example, signal: AbortSignal): Promise<BootstrapAttempt[]> {
  const attempts: BootstrapAttempt[] = [];
  for (let round = 0; round < ctx.maxRounds && !signal.aborted; round++) {
    const attempt = await bootstrapRound(ctx, example, round, signal);
    attempts.push(attempt);
    if (attempt.success) break;
  }
  return attempts;
}

async function bootstrapRound(ctx: ExampleContext, example: Example, round: number, signal: AbortSignal): Promise<BootstrapAttempt> {
  const teacher = ctx.teacher.deepcopy();
  const names = new Map<object, string>();
  for (const [name, predictor] of teacher.namedPredictors()) {
    predictor.demos = predictor.demos.filter((demo) => !(demo instanceof Example ? demo.equals(example) : false));
    names.set(predictor, name);
  }
  const trace: TraceEntry[] = [];
  let success: boolean;
  try {
    let lm = ctx.settings.lm ?? null;
    if (round > 0) {
      if (lm === null) throw new NoLMConfiguredError();
      lm = rolloutLm(lm, round);
    }
    const inputs = Object.fromEntries(example.inputs().items());
    const prediction = await withSettings({ ...ctx.settings, lm, trace }, () => teacher.call(inputs, { signal }));
    success = ctx.metric === undefined ? true : metricAccepts(await ctx.metric(example, prediction, trace), ctx.metricThreshold);
  } catch (error) {
    return { round, success: false, error, traces: new Map() };
  }
  return { round, success, traces: success ? demosFromTrace(trace, names) : new Map() };
}

/** The trace as augmented demos per predictor; a predictor traced several times keeps one (DSPy's 50/50 rule). */
function demosFromTrace(trace: readonly TraceEntry[], names: ReadonlyMap<object, string>): Map<string, Example[]> {
  const byName = new Map<string, Example[]>();
  for (const { predictor, inputs, prediction } of trace) {
    const name = names.get(predictor as object);
    if (name === undefined) continue;
    const outputs = Object.fromEntries((prediction as Prediction).items());
    const demo = new Example({ augmented: true, ...inputs, ...outputs });
    const list = byName.get(name);
    if (list === undefined) byName.set(name, [demo]);
    else list.push(demo);
  }
  for (const [name, demos] of byName) {
    if (demos.length <= 1) continue;
    // DSPy seeds this rng with a hash of the pickled demos; a hash of their JSON keeps it deterministic here.
    const rng = new PyRandom(createHash('sha256').update(JSON.stringify(demos.map((d) => d.toDict()))).digest('hex'));
    byName.set(name, [rng.random() < 0.5 ? rng.choice(demos.slice(0, -1)) : demos[demos.length - 1]!]);
  }
  return byName;
}
