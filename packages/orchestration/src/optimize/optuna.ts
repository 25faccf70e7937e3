// optunaTPE(): a Sampler backed by a real Optuna study (TPESampler) in a Python worker, driven by ask and tell
// through the bridge's study_* commands. Node keeps the loop, the trials and the constraints; Optuna proposes
// (ask), learns from each finished trial (tell: its objectives' values, or FAIL, or the constraints it broke) and
// keeps running trials in mind (constant liar), so several asks may be outstanding. Every trial told is also
// kept here, so a study lost with its worker is rebuilt on a live one and the search goes on.

import { nanoid } from 'nanoid';
import type { PythonPool, Session } from '@dspex/python-bridge';
import type { JsonValue } from '@dspex/store';
import type { Assignment, VariableSpec } from '../variables/kinds.js';
import { domainOf, type Sampler, type SamplerContext, type Trial } from './samplers.js';
import { OptimizeConfigError, OptunaError, OptunaStudyLostError } from './errors.js';

/** What optunaTPE takes: the pool its study lives in, TPESampler's options, and how the sampler behaves around them. */
export interface OptunaTPEOptions {
  /** The Python pool the study runs in (DSPex.start's `app.pools.optimizer`, or PythonPools.start). */
  pool: PythonPool;
  /** TPESampler's seed: with `reproducible` (the default) a seeded run proposes the same trials again. */
  seed?: number;
  /** Random trials before TPE starts modelling (Optuna's default 10). */
  nStartupTrials?: number;
  /** Candidates TPE scores per proposal (Optuna's default 24). */
  nEiCandidates?: number;
  /** Model the variables jointly rather than one by one (Optuna's default). */
  multivariate?: boolean;
  /** With multivariate: model each group of variables that occur together separately. */
  group?: boolean;
  /** Treat running trials as bad while proposing, so concurrent asks spread out (Optuna's default true). */
  constantLiar?: boolean;
  /**
   * Default true: trial n is proposed once trials 0..n−concurrency are told, and tells reach Optuna in trial
   * order, so what the study knows at each ask, and so a seeded run, does not depend on timing. A slow trial
   * then holds up the proposals after it; false tells as trials finish and never waits.
   */
  reproducible?: boolean;
  /** Times a study lost with its worker is rebuilt (from the trials told so far) before the run fails. Default 3. */
  maxRecoveries?: number;
  /** Limit of each call to the study (default the pool's callTimeoutMs). */
  callTimeoutMs?: number;
  /** Recoveries and a failed close, as they happen. */
  onEvent?: (event: OptunaEvent) => void;
}

/** What happens to the study besides asks and tells. */
export type OptunaEvent =
  | { type: 'recovered'; recoveries: number; replayed: number; cause: unknown }
  | { type: 'close_failed'; error: unknown };

type Direction = 'maximize' | 'minimize';
type Distribution =
  | { type: 'float'; low: number; high: number; step?: number; log?: boolean }
  | { type: 'int'; low: number; high: number; step?: number; log?: boolean }
  | { type: 'categorical'; choices: number[] };

interface Encoded {
  distribution: Distribution;
  decode(raw: unknown): JsonValue | undefined;
}

/** A trial as Optuna is told it, kept for replay into a rebuilt study. */
interface Told {
  params: Record<string, unknown>;
  state: 'complete' | 'fail' | 'pruned';
  values?: number[];
  constraints?: Record<string, number>;
}

interface Study {
  directions: Direction[];
  distributions: Record<string, Distribution>;
  decoders: Record<string, Encoded['decode']>;
  /** Optuna's constraint names: the space's cross constraints, and VARIABLE_CHECKS for per-variable checks. */
  constraints: string[];
}

/** The constraint that counts an assignment's per-variable issues (a `validate` refusing a proposed value). */
const VARIABLE_CHECKS = '$variables';
const LOST_WORKER = new Set(['DSPEX_SESSION_WORKER_LOST', 'DSPEX_WORKER_CRASHED', 'DSPEX_WORKER_OVER_MEMORY']);

/** The distribution Optuna samples a variable from; discrete values as indices into the variable's domain. */
function encode(spec: VariableSpec): Encoded | undefined {
  if (spec.kind === 'float') {
    const step = spec.step;
    return {
      distribution: { type: 'float', low: spec.min, high: spec.max, ...(step === undefined ? {} : { step }), ...(spec.log === true ? { log: true } : {}) },
      decode: (raw) => (typeof raw !== 'number' ? undefined : step === undefined ? raw : Number(raw.toPrecision(12))),
    };
  }
  if (spec.kind === 'int' && [spec.min, spec.max, spec.step ?? 1].every(Number.isInteger)) {
    return {
      distribution: { type: 'int', low: spec.min, high: spec.max, ...(spec.step === undefined ? {} : { step: spec.step }), ...(spec.log === true ? { log: true } : {}) },
      decode: (raw) => (typeof raw === 'number' && Number.isInteger(raw) ? raw : undefined),
    };
  }
  const domain = domainOf(spec, 2);
  if (domain === undefined || domain.length === 0) return undefined;
  return {
    distribution: { type: 'categorical', choices: domain.map((_, i) => i) },
    decode: (raw) => (typeof raw === 'number' ? domain[raw] : undefined),
  };
}

function studyOf(context: SamplerContext): Study {
  const distributions: Record<string, Distribution> = {};
  const decoders: Record<string, Encoded['decode']> = {};
  for (const variable of context.variables) {
    const encoded = encode(context.space.variables[variable]!);
    if (encoded === undefined) continue; // nothing to choose among: it stays at the run's base value
    distributions[variable] = encoded.distribution;
    decoders[variable] = encoded.decode;
  }
  if (Object.keys(distributions).length === 0) throw new OptimizeConfigError('variables', 'optunaTPE found none of the searched variables with a range or values to choose among.');
  const constraints = [...new Set(context.space.constraints.map((c) => c.name)), VARIABLE_CHECKS];
  return { directions: context.objectives.map((o) => o.direction), distributions, decoders, constraints };
}

/** Each constraint's violation for Optuna: how many checks of that name refuse the assignment (0: satisfied). */
function violations(study: Study, context: SamplerContext, assignment: Readonly<Assignment>): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(study.constraints.map((name) => [name, 0]));
  for (const issue of context.space.check(assignment)) {
    const name = issue.constraint ?? VARIABLE_CHECKS;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

function isLostWorker(error: unknown): boolean {
  const { code, pythonType } = (error ?? {}) as { code?: string; pythonType?: string };
  // UnknownHandle: the session outlived its Python objects (an idle session expired with its study).
  return (code !== undefined && LOST_WORKER.has(code)) || (code === 'DSPEX_PYTHON_EXCEPTION' && pythonType === 'UnknownHandle');
}

function failure(operation: string, error: unknown): OptunaError {
  const { pythonType, pythonMessage } = (error ?? {}) as { pythonType?: string; pythonMessage?: string };
  if (pythonType === undefined) return new OptunaError(operation, error instanceof Error ? error.message : String(error), { cause: error });
  const hint = pythonType === 'ModuleNotFoundError' ? " Install Optuna in the pool's Python (pip install 'dspy[optuna]', a dependency of dspex_bridge)." : '';
  return new OptunaError(operation, `Python raised ${pythonType}: ${pythonMessage ?? ''}.${hint}`, { cause: error });
}

class OptunaTPE implements Sampler {
  readonly name = 'optuna-tpe';
  private readonly reproducible: boolean;
  private readonly maxRecoveries: number;
  private session: Session | null = null;
  private handle: string | null = null;
  private study: Study | null = null;
  /** Bumped each time the study is rebuilt: a trial asked from an older study is told by its params. */
  private generation = 0;
  private recoveries = 0;
  /** Calls to the study, one at a time, in the order made. */
  private queue: Promise<unknown> = Promise.resolve();
  private fatal: Error | null = null;
  /** By trial number: what Optuna proposed, from which study. */
  private readonly asked: Array<{ number: number; generation: number; params: Record<string, unknown> }> = [];
  /** Every trial sent to Optuna, in the order sent (what a rebuilt study replays). */
  private readonly told: Told[] = [];
  /** Trials finished and not yet sent, by number. */
  private readonly finished = new Map<number, Trial>();
  /** reproducible: trials numbered below this are sent (queued) to Optuna. */
  private sentUpTo = 0;
  private readonly waiting = new Set<{ until: number; resolve: () => void; reject: (error: Error) => void }>();
  private context: SamplerContext | null = null;

  constructor(private readonly options: OptunaTPEOptions) {
    this.reproducible = options.reproducible ?? true;
    this.maxRecoveries = options.maxRecoveries ?? 3;
  }

  async ask(context: SamplerContext): Promise<Assignment> {
    const number = this.asked.length;
    this.context = context;
    this.study ??= studyOf(context);
    if (this.reproducible) {
      // What Optuna knows at ask n is exactly trials 0..n−concurrency: sent now, in order, and none later.
      const until = number - context.concurrency + 1;
      await this.finishedUpTo(until);
      this.sendUpTo(until);
    }
    const proposal = await this.call<{ number: number; params: Record<string, unknown> }>('study_ask', () => ({ handle: this.handle }));
    this.asked[number] = { number: proposal.number, generation: this.generation, params: proposal.params };
    const values: Assignment = {};
    for (const [variable, raw] of Object.entries(proposal.params)) {
      const value = this.study.decoders[variable]?.(raw);
      if (value === undefined) throw this.fail(new OptunaError('study_ask', `Optuna proposed ${JSON.stringify(raw)} for "${variable}", which is not one of its values.`));
      values[variable] = value;
    }
    return values;
  }

  async tell(trial: Trial): Promise<void> {
    if (!this.reproducible) return this.send(trial);
    this.finished.set(trial.number, trial);
    this.wake();
  }

  async close(): Promise<void> {
    const failedBefore = this.fatal !== null;
    if (this.reproducible && !failedBefore) this.sendUpTo(this.asked.length); // the last trials: no proposal follows them
    await this.queue;
    // A run that failed has reported its error; one whose last tells failed learns it here.
    if (!failedBefore && this.fatal !== null) this.options.onEvent?.({ type: 'close_failed', error: this.fatal });
    const session = this.session;
    // A later run starts a new study (with the same seed, the same proposals).
    this.session = this.handle = this.study = this.fatal = this.context = null;
    this.generation = this.recoveries = this.sentUpTo = 0;
    this.asked.length = this.told.length = 0;
    this.finished.clear();
    for (const waiter of this.waiting) waiter.reject(new OptunaError('close', 'the run ended before this proposal.'));
    this.waiting.clear();
    await session?.close().catch((error: unknown) => this.options.onEvent?.({ type: 'close_failed', error }));
  }

  /** Queues the tells of trials sentUpTo..until−1 (all finished), in order; a failure shows in the next call. */
  private sendUpTo(until: number): void {
    for (; this.sentUpTo < until; this.sentUpTo++) {
      const trial = this.finished.get(this.sentUpTo);
      if (trial === undefined) continue; // never finished: the run failed
      this.finished.delete(this.sentUpTo);
      this.send(trial).catch(() => undefined); // kept in `fatal`: the next call throws it
    }
  }

  /** Queues one finished trial's tell: complete with its objectives' values, pruned with the constraints it broke, or fail. */
  private send(trial: Trial): Promise<void> {
    const asked = this.asked[trial.number]!;
    const study = this.study!;
    const context = this.context!;
    const told: Told =
      trial.status === 'completed'
        ? { params: asked.params, state: 'complete', values: trial.values!, constraints: violations(study, context, trial.assignment) }
        : trial.status === 'infeasible'
          ? { params: asked.params, state: 'pruned', constraints: violations(study, context, trial.assignment) }
          : { params: asked.params, state: 'fail' };
    const { params, ...outcome } = told;
    return this.call('study_tell', () => ({
      handle: this.handle,
      ...outcome,
      // Asked from a study since lost: the rebuilt one gets it as a finished trial, by its params.
      ...(asked.generation === this.generation ? { number: asked.number } : { params }),
    })).then(() => {
      this.told.push(told);
    });
  }

  /** Resolves once every trial numbered sentUpTo..until−1 has finished. */
  private finishedUpTo(until: number): Promise<void> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (this.ready(until)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.add({ until, resolve, reject }));
  }

  private ready(until: number): boolean {
    for (let n = this.sentUpTo; n < until; n++) if (!this.finished.has(n)) return false;
    return true;
  }

  private wake(): void {
    for (const waiter of this.waiting) {
      if (this.ready(waiter.until)) {
        this.waiting.delete(waiter);
        waiter.resolve();
      }
    }
  }

  private fail(error: Error): Error {
    this.fatal ??= error;
    for (const waiter of this.waiting) waiter.reject(this.fatal);
    this.waiting.clear();
    return this.fatal;
  }

  /** One call to the study, after those queued before it; a study lost with its worker is rebuilt first. */
  private call<T>(command: string, args: () => Record<string, unknown>): Promise<T> {
    const result = this.queue.then(async () => {
      for (;;) {
        if (this.fatal !== null) throw this.fatal;
        try {
          await this.createStudy();
          return await this.session!.call<T>(command, args(), this.callOptions());
        } catch (error) {
          if (!isLostWorker(error)) throw this.fail(error instanceof OptunaError ? error : failure(command, error));
          await this.recover(error);
        }
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async recover(cause: unknown): Promise<void> {
    if (this.recoveries >= this.maxRecoveries) throw this.fail(new OptunaStudyLostError(this.recoveries, { cause }));
    this.recoveries++;
    this.generation++;
    this.handle = null;
    try {
      await this.session!.rebuild();
    } catch (error) {
      throw this.fail(failure('recovery', error));
    }
    this.options.onEvent?.({ type: 'recovered', recoveries: this.recoveries, replayed: this.told.length, cause });
  }

  private async createStudy(): Promise<void> {
    if (this.handle !== null) return;
    const study = this.study!;
    this.session ??= this.options.pool.session(`optuna-${nanoid(8)}`, { affinity: 'strict_queue' });
    const { seed, nStartupTrials, nEiCandidates, multivariate, group, constantLiar } = this.options;
    const sampler = Object.fromEntries(
      Object.entries({ seed, n_startup_trials: nStartupTrials, n_ei_candidates: nEiCandidates, multivariate, group, constant_liar: constantLiar }).filter(([, v]) => v !== undefined),
    );
    const created = await this.session.call<{ handle: string }>(
      'study_create',
      { directions: study.directions, distributions: study.distributions, sampler, constraints: study.constraints, trials: this.told },
      this.callOptions(),
    );
    this.handle = created.handle;
  }

  private callOptions(): { timeoutMs?: number } {
    return this.options.callTimeoutMs === undefined ? {} : { timeoutMs: this.options.callTimeoutMs };
  }
}

/**
 * A Sampler backed by Optuna's TPESampler in a Python worker of `pool`: multi-objective over the run's
 * objectives (their directions), the space's constraints told with every trial so TPE learns where they fail,
 * failed trials told as FAIL, several asks outstanding (concurrency), reproducible under a seed. A study lost
 * with its worker is rebuilt from the trials told so far, up to `maxRecoveries` times (then
 * OptunaStudyLostError). Throws OptimizeConfigError at once without a pool.
 */
export function optunaTPE(options: OptunaTPEOptions): Sampler {
  if (options?.pool === undefined || typeof options.pool.session !== 'function') {
    throw new OptimizeConfigError('pool', "optunaTPE runs Optuna in a Python worker and needs { pool }: DSPex.start(rt) gives app.pools.optimizer, or start one with PythonPools.start(rt, { name: 'optimizer', size: 1 }) from @dspex/python-bridge.");
  }
  if (options.maxRecoveries !== undefined && !(Number.isInteger(options.maxRecoveries) && options.maxRecoveries >= 0)) {
    throw new OptimizeConfigError('maxRecoveries', `must be a non-negative integer, not ${String(options.maxRecoveries)}.`);
  }
  return new OptunaTPE(options);
}
