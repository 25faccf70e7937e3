// PipelineRunner: starts runs and resumes them from the journal. A run is a TaskSupervisor (the run's
// supervisor) whose tasks are the step attempts, a record in the store (status, input, output), and an event log.
// In an application tree the runs sit under the Pipelines DynamicSupervisor (`Pipelines.childSpec()`).

import { setMaxListeners } from 'node:events';
import { DynamicSupervisor, TaskSupervisor, type ChildSpec, type Dest, type Pid, type Runtime } from '@dspex/runtime';
import type { JsonValue, RunRecord } from '@dspex/store';
import type { Pipeline } from './build.js';
import { PipelineCancelledError, PipelineResumeError } from './errors.js';
import { EventLog, type PipelineEvent } from './events.js';
import { execute, type InFlightDecision, type RunJournal } from './execute.js';
import type { RunState } from './nodes.js';
import { withProgress, type RunProgressOptions } from './progress.js';

/** The store operations a runner uses: an @dspex/store Store or Store.connect's handle. */
export interface PipelineStore extends RunJournal {
  createRun(input: { runId?: string; pipeline: string; input?: JsonValue }): Promise<RunRecord>;
  loadRun(runId: string): Promise<{ run: RunRecord; journal: ReadonlyArray<{ stepKey: string; value: JsonValue }> } | null | undefined>;
  updateRun(runId: string, update: { status: 'completed' | 'failed' | 'cancelled'; output?: JsonValue; error?: JsonValue }): Promise<unknown>;
}

/** Options of a PipelineRunner. */
export interface PipelineRunnerOptions {
  /** Where runs and journals are kept. Without it runs are not durable (no journal, no resume). */
  store?: PipelineStore;
  /** The pipelines resume() can find by the name stored with a run. start() registers its pipeline too. */
  pipelines?: readonly Pipeline[];
  /**
   * The DynamicSupervisor each run's supervisor starts under (a temporary child, ended with the run), e.g.
   * `PIPELINES_SUPERVISOR` from `Pipelines.childSpec()` in your tree. Without it a run's supervisor is unlinked.
   */
  supervisor?: Dest;
}

/** The name `Pipelines.childSpec()` registers its DynamicSupervisor under (unless given another). */
export const PIPELINES_SUPERVISOR = 'dspex.pipelines';

/** The Pipelines subtree of DESIGN.md's tree: a DynamicSupervisor holding one supervisor per run (its steps' tasks). */
export const Pipelines = {
  /**
   * A child spec for your supervisor: a DynamicSupervisor registered as `name` (default PIPELINES_SUPERVISOR).
   * Pass the same name as `supervisor` to a PipelineRunner so its runs sit under it.
   */
  childSpec(options: { name?: string } = {}, overrides: Partial<ChildSpec> = {}): ChildSpec {
    const name = options.name ?? PIPELINES_SUPERVISOR;
    return DynamicSupervisor.childSpec({ name }, { id: 'Pipelines', ...overrides });
  },
};

/** Options of one run. */
export interface RunOptions {
  /** Defaults to a random UUID. */
  runId?: string;
  /** Aborting it cancels the run: running steps' signals abort (their LM and Python calls), tasks are killed. */
  signal?: AbortSignal;
  /** Show the run's progress (process.stderr, or `output`): a bar on a terminal, plain lines otherwise. See showProgress. */
  progress?: boolean | RunProgressOptions;
}

/** Options of a resume: the same as a run's, and decisions about non-idempotent steps found in flight. */
export interface ResumeOptions extends Omit<RunOptions, 'runId'> {
  inFlight?: Readonly<Record<string, InFlightDecision>>;
}

/** A run in progress: its result, its events, and a way to cancel it. */
export interface PipelineRun {
  readonly runId: string;
  /** The final state (the pipeline's inputs and every output field); rejects with the run's typed error. */
  readonly result: Promise<RunState>;
  /** Every event of the run from its start, ending after run_finished / run_failed. */
  events(): AsyncIterable<PipelineEvent>;
  cancel(reason?: unknown): void;
}

/** Starts pipeline runs and resumes them after a crash. */
export class PipelineRunner {
  private readonly pipelines = new Map<string, Pipeline>();

  constructor(
    private readonly rt: Runtime,
    private readonly options: PipelineRunnerOptions = {},
  ) {
    for (const p of options.pipelines ?? []) this.pipelines.set(p.name, p);
  }

  /** Starts a run of `pipeline` on `inputs` (which must hold the pipeline's input fields). */
  start(pipeline: Pipeline, inputs: RunState, options: RunOptions = {}): PipelineRun {
    this.pipelines.set(pipeline.name, pipeline);
    const runId = options.runId ?? crypto.randomUUID();
    const run = this.launch(runId, pipeline.name, options, async (store) => {
      if (store !== undefined) await store.createRun({ runId, pipeline: pipeline.name, input: inputs as JsonValue });
      return { pipeline, inputs, replay: new Map() };
    });
    return options.progress === undefined || options.progress === false ? run : withProgress(run, options.progress, { pipeline, inputs });
  }

  /**
   * Continues a run from its journal: completed steps are replayed, not run; steps in flight run again.
   * A non-idempotent step in flight rejects the result with NonIdempotentStepInFlightError until `inFlight`
   * decides it. A run already completed resolves to its stored output.
   */
  resume(runId: string, options: ResumeOptions = {}): PipelineRun {
    const run = this.launch(runId, '?', options, async (store) => {
      if (store === undefined) throw new PipelineResumeError(runId, 'this runner has no store; pass { store } to its constructor.');
      const loaded = await store.loadRun(runId);
      if (loaded == null) throw new PipelineResumeError(runId, 'the store has no such run.');
      const pipeline = this.pipelines.get(loaded.run.pipeline);
      if (pipeline === undefined) throw new PipelineResumeError(runId, `this runner does not know pipeline '${loaded.run.pipeline}'; pass it in { pipelines }.`);
      if (loaded.run.status === 'completed') return { done: loaded.run.output as RunState, pipeline };
      const replay = new Map(loaded.journal.map((e) => [e.stepKey, e.value as unknown]));
      return { pipeline, inputs: (loaded.run.input ?? {}) as RunState, replay };
    }, options.inFlight);
    return options.progress === undefined || options.progress === false ? run : withProgress(run, options.progress, { pipeline: (name) => this.pipelines.get(name) });
  }

  private launch(
    runId: string,
    name: string,
    options: RunOptions,
    prepare: (store: PipelineStore | undefined) => Promise<{ pipeline: Pipeline; inputs?: RunState; replay?: Map<string, unknown>; done?: RunState }>,
    decisions: Readonly<Record<string, InFlightDecision>> = {},
  ): PipelineRun {
    const log = new EventLog();
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    if (options.signal !== undefined) {
      if (options.signal.aborted) controller.abort(options.signal.reason);
      else options.signal.addEventListener('abort', () => controller.abort(options.signal!.reason), { once: true });
    }
    const store = this.options.store;
    const began = performance.now();
    const result = (async (): Promise<RunState> => {
      let pipelineName = name;
      let supervisor: Pid | undefined;
      try {
        const prepared = await prepare(store);
        pipelineName = prepared.pipeline.name;
        if (prepared.done !== undefined) {
          log.push({ type: 'run_finished', runId, pipeline: pipelineName, durationMs: performance.now() - began });
          return prepared.done;
        }
        const parent = this.options.supervisor;
        const started = parent === undefined
          ? await TaskSupervisor.start(this.rt)
          : await DynamicSupervisor.startChild(this.rt, parent, TaskSupervisor.childSpec({}, { id: `pipeline-run:${runId}`, restart: 'temporary' }));
        if (!('ok' in started)) throw new PipelineResumeError(runId, `the run's task supervisor did not start: ${JSON.stringify(started)}`);
        supervisor = started.ok;
        const inputs = prepared.inputs ?? {};
        const ctx = { rt: this.rt, supervisor, runId, pipeline: pipelineName, journal: store, replay: prepared.replay ?? new Map(), decisions, log };
        let added: Record<string, unknown>;
        try {
          added = await execute(prepared.pipeline.body, inputs, '', ctx, controller.signal);
        } catch (error) {
          throw controller.signal.aborted && !(error instanceof PipelineCancelledError) ? new PipelineCancelledError(runId, controller.signal.reason) : error;
        }
        const state = { ...inputs, ...added };
        const output = Object.fromEntries(prepared.pipeline.outputs.map((f) => [f, state[f]]));
        if (store !== undefined) await store.updateRun(runId, { status: 'completed', output: output as JsonValue });
        log.push({ type: 'run_finished', runId, pipeline: pipelineName, durationMs: performance.now() - began });
        return output;
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (store !== undefined && !(error instanceof PipelineResumeError)) {
          const status = error instanceof PipelineCancelledError ? 'cancelled' : 'failed';
          await store.updateRun(runId, { status, error: { code: (failure as { code?: string }).code ?? failure.name, message: failure.message } }).catch(() => undefined);
        }
        log.push({ type: 'run_failed', runId, pipeline: pipelineName, durationMs: performance.now() - began, error: failure });
        throw failure;
      } finally {
        if (supervisor !== undefined) {
          const parent = this.options.supervisor;
          if (parent === undefined) await DynamicSupervisor.stop(this.rt, supervisor, 'shutdown').catch(() => undefined);
          else await DynamicSupervisor.terminateChild(this.rt, parent, supervisor).catch(() => undefined);
        }
      }
    })();
    result.catch(() => undefined); // the caller sees the rejection when it awaits; an unawaited run is not a crash
    return { runId, result, events: () => log.read(), cancel: (reason?: unknown) => controller.abort(reason ?? new PipelineCancelledError(runId)) };
  }
}
