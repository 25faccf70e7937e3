// optimize(): one loop for every search over a variable space. A sampler proposes assignments (ask), each is
// evaluated as a trial on a copy of the bound program (BoundProgram.withValues: the space is not touched while
// searching), trials run `concurrency` at a time as tasks under a TaskSupervisor, each is recorded in the store
// and reported to the sampler (tell) and to onProgress; applyBest writes the winner into the space.

import { GenServer, Task, TaskSupervisor, type Caller, type Pid } from '@dspex/runtime';
import type { JsonValue } from '@dspex/store';
import type { Example, Metric } from 'dspex';
import type { BoundProgram } from '../variables/binding.js';
import type { SpaceSnapshot } from '../variables/coordinator.js';
import type { Assignment } from '../variables/kinds.js';
import type { VariableSpace } from '../variables/variables.js';
import { domainOf, randomSearch, type Sampler, type SamplerContext, type Trial } from './samplers.js';
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
  onProgress?: (event: OptimizeProgress) => void;
  /** Names the run in the store (`optimize:<space>` namespace). Default: a timestamp and random suffix. */
  runId?: string;
}

/** What optimize() resolves to: every trial, the best, and applyBest(). */
export interface OptimizeResult {
  runId: string;
  sampler: string;
  /** Every trial, by number. */
  trials: Trial[];
  /** The completed trial with the highest score (the earliest among equals), or null. */
  best: Trial | null;
  /** Writes the best trial's values of the searched variables into the space (with the score as its metric). */
  applyBest(options?: { expectedVersion?: number }): Promise<SpaceSnapshot>;
}

/** The store namespace of a space's optimizer runs: `<runId>` holds the summary, `<runId>/trial/<n>` each trial. */
export function optimizeNamespace(space: string): string {
  return `optimize:${space}`;
}

function meanScore(scores: number[]): number {
  return scores.length === 0 ? 0 : scores.reduce((a, b) => a + b, 0) / scores.length;
}

async function evaluate(options: OptimizeOptions, assignment: Assignment): Promise<number> {
  const program = options.program.withValues(assignment);
  const scores: number[] = [];
  for (const example of options.devset) {
    const prediction = await program.call(example.inputs().toDict());
    const value = await options.metric(example, prediction);
    scores.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }
  return meanScore(scores);
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

function better(a: Trial, b: Trial | null): boolean {
  return a.status === 'completed' && (b === null || a.score! > b.score! || (a.score === b.score && a.number < b.number));
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
  const { values: base } = await space.get();
  const runId = options.runId ?? `${new Date().toISOString()}-${Math.random().toString(36).slice(2, 8)}`;
  const ns = optimizeNamespace(space.name);
  const store = space.store;

  const definition = space.definition;
  const complete = (values: Readonly<Assignment>): Assignment => definition.complete(values, base);
  const finished: Trial[] = [];
  const context: SamplerContext = {
    space: definition, variables, base, trials: finished, feasible: (values) => definition.check(complete(values)).length === 0,
    program: options.program, metric: options.metric, caller: options.caller,
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
    if (!context.feasible(assignment)) return { number, assignment, status: 'infeasible', score: null, error: null, durationMs: 0 };
    try {
      const task = await TaskSupervisor.asyncNolink(options.caller, supervisor, () => evaluate(options, assignment));
      const score = await Task.await(task, Infinity);
      return { number, assignment, status: 'completed', score, error: null, durationMs: Date.now() - startedAt };
    } catch (error) {
      const cause = (error as { reason?: unknown }).reason ?? error;
      const message = cause instanceof Error ? cause.message : String(cause);
      return { number, assignment, status: 'failed', score: null, error: message, durationMs: Date.now() - startedAt };
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
      if (better(trial, best)) best = trial;
      await sampler.tell?.(trial, context);
      options.onProgress?.({ type: 'trial_finished', trial, best, finished: finished.length, total });
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await GenServer.stop(options.caller, supervisor).catch(() => undefined);
  }
  const trials = [...finished].sort((a, b) => a.number - b.number);
  const winner = best as Trial | null;
  const failure = samplerFailure as { error: unknown } | undefined;
  const samplerError = failure === undefined ? null : failure.error instanceof Error ? failure.error.message : String(failure.error);
  await store.kv.put(ns, runId, { sampler: sampler.name, variables: [...variables], trials: trials.length, best: winner as unknown as JsonValue, ...(samplerError === null ? {} : { samplerError }) });
  if (failure !== undefined) throw new OptimizeSamplerError(runId, sampler.name, trials.length, failure.error);
  return {
    runId,
    sampler: sampler.name,
    trials,
    best: winner,
    applyBest: (applyOptions = {}) => {
      if (winner === null) return Promise.reject(new OptimizeNoBestError(runId, trials.length));
      const values = Object.fromEntries(variables.map((v) => [v, winner.assignment[v]!]));
      return space.set(values, { ...applyOptions, by: `optimize:${sampler.name}`, why: `best of ${trials.length} trials (run ${runId})`, metric: winner.score! });
    },
  };
}
