// optimize(): one loop for every search over a variable space. A sampler proposes assignments (ask), each is
// evaluated as a trial on a copy of the bound program (BoundProgram.withValues: the space is not touched while
// searching), trials run `concurrency` at a time as tasks under a TaskSupervisor, each is recorded in the store
// and reported to the sampler (tell) and to onProgress; applyBest writes the winner into the space. Each trial
// measures quality, LM cost and tokens, and latency; the run's objectives (quality alone by default) rank them.

import { GenServer, Task, TaskSupervisor, type Caller, type Pid } from '@dspex/runtime';
import type { JsonValue } from '@dspex/store';
import { withSettings, type Example, type Metric } from 'dspex';
import type { BoundProgram } from '../variables/binding.js';
import type { SpaceSnapshot } from '../variables/coordinator.js';
import type { Assignment } from '../variables/kinds.js';
import type { VariableSpace } from '../variables/variables.js';
import { domainOf, randomSearch, type Sampler, type SamplerContext, type Trial, type TrialMeasures } from './samplers.js';
import { betterTrial, objectiveValues, paretoFront, resolveObjectives, type Objective } from './objectives.js';
import { OptimizeConfigError, OptimizeNoBestError, OptimizeSamplerError } from './errors.js';

/** Progress of a run, in the order things happen. */
export type OptimizeProgress =
  | { type: 'trial_started'; number: number; assignment: Assignment }
  | { type: 'trial_finished'; trial: Trial; best: Trial | null; finished: number; total: number };

/** What optimize() takes: the space, the program, the devset and metric, the sampler, trials and concurrency. */
export interface OptimizeOptions {
  /** The process (or runtime) the trials' TaskSupervisor is started from. */
  caller: Caller;
  space: VariableSpace;
  /** A program bound to `space` (bind()); each trial runs a copy with the trial's values. */
  program: BoundProgram;
  devset: readonly Example[];
  /** Scored per example; a trial's score is the mean (true = 1). */
  metric: Metric;
  /** What proposes assignments. Default randomSearch(). */
  sampler?: Sampler;
  /** At most this many trials (a grid may end sooner). Default 20. */
  trials?: number;
  /** Trials run at once. Default 4. */
  concurrency?: number;
  /** The variables searched. Default: those the program binds that have values to choose among. */
  variables?: readonly string[];
  /**
   * What to optimize, in order of priority: 'quality' (the mean metric, up), 'cost' (USD of the LM calls, down),
   * 'tokens', 'latency' (ms per call, down), or { name, direction, value(measures, assignment) }. Default ['quality'].
   */
  objectives?: readonly Objective[];
  onProgress?: (event: OptimizeProgress) => void;
  /** Names the run in the store (`optimize:<space>` namespace). Default: a timestamp and random suffix. */
  runId?: string;
}

/** What optimize() resolves to: every trial, the best, and applyBest(). */
export interface OptimizeResult {
  runId: string;
  sampler: string;
  /** The objectives' names, in order (the order of every trial's `values`). */
  objectives: string[];
  /** Every trial, by number. */
  trials: Trial[];
  /** The completed trials no other beats on every objective, by number (with one objective: the best ones). */
  paretoFront: Trial[];
  /**
   * The completed trial best on the first objective, ties broken by the next objectives in order, then the
   * earliest (so always on the Pareto front); null when none completed.
   */
  best: Trial | null;
  /**
   * Writes the best trial's values of the searched variables into the space (with its score as the metric), or
   * those of `trial` (e.g. another one of the Pareto front).
   */
  applyBest(options?: { expectedVersion?: number; trial?: Trial }): Promise<SpaceSnapshot>;
}

/** The store namespace of a space's optimizer runs: `<runId>` holds the summary, `<runId>/trial/<n>` each trial. */
export function optimizeNamespace(space: string): string {
  return `optimize:${space}`;
}

function meanScore(scores: number[]): number {
  return scores.length === 0 ? 0 : scores.reduce((a, b) => a + b, 0) / scores.length;
}

async function evaluate(options: OptimizeOptions, assignment: Assignment): Promise<TrialMeasures> {
  const program = options.program.withValues(assignment);
  const scores: number[] = [];
  let tokens = 0;
  let cost = 0;
  const unpriced = new Set<string>();
  let elapsed = 0;
  for (const example of options.devset) {
    const started = performance.now();
    const prediction = await withSettings({ trackUsage: true }, () => program.call(example.inputs().toDict()));
    elapsed += performance.now() - started;
    for (const usage of Object.values(prediction.lmUsage ?? {})) tokens += usage.promptTokens + usage.completionTokens;
    const lmCost = prediction.lmCost;
    cost += lmCost?.total ?? 0;
    for (const model of lmCost?.unpriced ?? []) unpriced.add(model);
    const value = await options.metric(example, prediction);
    scores.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }
  return { quality: meanScore(scores), cost: unpriced.size > 0 ? null : cost, unpriced: [...unpriced], tokens, latencyMs: elapsed / options.devset.length };
}

function searchable(options: OptimizeOptions, sampler: Sampler): string[] {
  const { definition } = options.space;
  const variables = options.variables
    ? [...options.variables]
    : sampler.variablesOf
      ? [...sampler.variablesOf(options.program)]
      : options.program.variables.filter((v) => definition.free.includes(v) && domainOf(definition.variables[v]!, 2) !== undefined);
  for (const v of variables) {
    if (!definition.free.includes(v)) throw new OptimizeConfigError('variables', `"${v}" is not a free variable of space "${definition.name}" (derived variables follow what they depend on).`);
  }
  if (variables.length === 0) throw new OptimizeConfigError('variables', 'nothing to search: bind the program to variables with ranges or choices, or name them in `variables`.');
  return variables;
}

/**
 * Searches `space` for the assignment that scores best on `devset`, as `sampler` proposes. Resolves once every
 * trial has finished (failed trials are recorded with their error; they do not end the run). Rejects with
 * OptimizeConfigError for bad options before any trial runs, and with OptimizeSamplerError when the sampler
 * itself fails (after the trials already running have finished and been recorded).
 */
export async function optimize(options: OptimizeOptions): Promise<OptimizeResult> {
  const { space } = options;
  const sampler = options.sampler ?? randomSearch();
  const total = options.trials ?? 20;
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(total) || total < 1) throw new OptimizeConfigError('trials', `must be a positive integer, not ${String(total)}.`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new OptimizeConfigError('concurrency', `must be a positive integer, not ${String(concurrency)}.`);
  if (options.devset.length === 0) throw new OptimizeConfigError('devset', 'is empty: a trial needs examples to be scored on.');
  if (options.program.space.name !== space.name) throw new OptimizeConfigError('program', `is bound to space "${options.program.space.name}", not "${space.name}".`);
  const variables = searchable(options, sampler);
  const objectives = resolveObjectives(options.objectives);
  const { values: base } = await space.get();
  const runId = options.runId ?? `${new Date().toISOString()}-${Math.random().toString(36).slice(2, 8)}`;
  const ns = optimizeNamespace(space.name);
  const store = space.store;

  const definition = space.definition;
  const complete = (values: Readonly<Assignment>): Assignment => definition.complete(values, base);
  const finished: Trial[] = [];
  const context: SamplerContext = {
    space: definition, variables, base, trials: finished, feasible: (values) => definition.check(complete(values)).length === 0,
    program: options.program, metric: options.metric, caller: options.caller, objectives, concurrency,
  };
  let best: Trial | null = null;
  let proposed = 0;
  let exhausted = false;
  let samplerFailure: { error: unknown } | undefined;
  type Proposal = { number: number; values: Assignment } | undefined;
  let asking: Promise<Proposal> = Promise.resolve(undefined);
  // Asks are serialized: a sampler sees the trials finished before each proposal, one proposal at a time.
  const ask = (): Promise<Proposal> =>
    (asking = asking.then(async () => {
      if (exhausted || proposed >= total) return undefined;
      let values: Assignment | undefined;
      try {
        values = await sampler.ask(context);
      } catch (error) {
        // No more proposals; the trials already running finish and are recorded before the run rejects.
        samplerFailure ??= { error };
        values = undefined;
      }
      if (values === undefined) {
        exhausted = true;
        return undefined;
      }
      return { number: proposed++, values };
    }));

  const started = await TaskSupervisor.start(options.caller);
  if (!('ok' in started) || started.ok === null) throw new OptimizeConfigError('caller', 'could not start the TaskSupervisor for the trials.');
  const supervisor: Pid = started.ok;

  const runTrial = async (number: number, assignment: Assignment): Promise<Trial> => {
    const startedAt = Date.now();
    options.onProgress?.({ type: 'trial_started', number, assignment });
    if (!context.feasible(assignment)) return { number, assignment, status: 'infeasible', score: null, error: null, durationMs: 0, measures: null, values: null };
    try {
      const task = await TaskSupervisor.asyncNolink(options.caller, supervisor, () => evaluate(options, assignment));
      const measures = await Task.await(task, Infinity);
      const values = objectiveValues(objectives, measures, assignment);
      return { number, assignment, status: 'completed', score: measures.quality, error: null, durationMs: Date.now() - startedAt, measures, values };
    } catch (error) {
      const cause = (error as { reason?: unknown }).reason ?? error;
      const message = cause instanceof Error ? cause.message : String(cause);
      return { number, assignment, status: 'failed', score: null, error: message, durationMs: Date.now() - startedAt, measures: null, values: null };
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const proposal = await ask();
      if (proposal === undefined) return;
      const { number } = proposal;
      const trial = await runTrial(number, complete(proposal.values));
      await store.kv.put(ns, `${runId}/trial/${String(number).padStart(6, '0')}`, trial as unknown as JsonValue);
      finished.push(trial);
      if (betterTrial(objectives, trial, best)) best = trial;
      try {
        await sampler.tell?.(trial, context);
      } catch (error) {
        // As a failed ask: no more proposals, and the run rejects once the running trials are recorded.
        samplerFailure ??= { error };
        exhausted = true;
      }
      options.onProgress?.({ type: 'trial_finished', trial, best, finished: finished.length, total });
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await GenServer.stop(options.caller, supervisor).catch(() => undefined);
    await sampler.close?.();
  }
  const trials = [...finished].sort((a, b) => a.number - b.number);
  const winner = best as Trial | null;
  const front = paretoFront(objectives, trials);
  const names = objectives.map((o) => o.name);
  const failure = samplerFailure as { error: unknown } | undefined;
  const samplerError = failure === undefined ? null : failure.error instanceof Error ? failure.error.message : String(failure.error);
  await store.kv.put(ns, runId, {
    sampler: sampler.name, variables: [...variables], objectives: names, trials: trials.length, best: winner as unknown as JsonValue,
    paretoFront: front.map((t) => t.number), ...(samplerError === null ? {} : { samplerError }),
  });
  if (failure !== undefined) throw new OptimizeSamplerError(runId, sampler.name, trials.length, failure.error);
  return {
    runId,
    sampler: sampler.name,
    objectives: names,
    trials,
    paretoFront: front,
    best: winner,
    applyBest: (applyOptions = {}) => {
      const { trial: chosen = winner, ...setOptions } = applyOptions;
      if (chosen === null) return Promise.reject(new OptimizeNoBestError(runId, trials.length));
      if (chosen.status !== 'completed') return Promise.reject(new OptimizeConfigError('trial', `trial ${chosen.number} is ${chosen.status}: only a completed trial can be applied.`));
      const values = Object.fromEntries(variables.map((v) => [v, chosen.assignment[v]!]));
      const why = chosen === winner ? `best of ${trials.length} trials (run ${runId})` : `trial ${chosen.number} of ${trials.length} (run ${runId})`;
      return space.set(values, { ...setOptions, by: `optimize:${sampler.name}`, why, metric: chosen.score! });
    },
  };
}
