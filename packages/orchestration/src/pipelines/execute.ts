// Runs a checked pipeline tree for one run. Each leaf step attempt is a task under the run's TaskSupervisor, so
// a crashing step is contained; its output is journaled (awaited) before the step after it starts, and a step
// whose key is already in the journal is replayed from it instead of run. Combinators only compose leaves.

import { setMaxListeners } from 'node:events';
import { Task, TaskSupervisor, type Pid, type Runtime } from '@dspex/runtime';
import type { Prediction, Module, Tool, StreamEvent } from 'dspex';
import type { PythonProgram } from '../python/index.js';
import { isRetryable } from '../router/index.js';
import type { JsonValue } from '@dspex/store';
import { childPath } from './build.js';
import { NonIdempotentStepInFlightError, PipelineCancelledError, StepFailedError, StepOutputError, StepTimeoutError } from './errors.js';
import type { EventLog } from './events.js';
import { runnableKind, type Node, type RunState, type StepContext, type StepFunction, type StepNode } from './nodes.js';

/** The journal operations a run needs (an @dspex/store Store, or Store.connect's handle). */
export interface RunJournal {
  appendJournal(runId: string, entry: { stepKey: string; value: JsonValue }): Promise<unknown>;
}

/** How a resume settles a non-idempotent step that was in flight: run it again, or take these outputs as its result. */
export type InFlightDecision = 'rerun' | { outputs: Record<string, unknown> };

/** Everything a run's steps share. */
export interface RunContext {
  rt: Runtime;
  supervisor: Pid;
  runId: string;
  pipeline: string;
  journal: RunJournal | undefined;
  /** Entries read at resume: step key -> value. */
  replay: Map<string, unknown>;
  decisions: Readonly<Record<string, InFlightDecision>>;
  log: EventLog;
}

/** The journaled value of a completed step. */
interface StepRecord {
  outputs: Record<string, unknown>;
  outcome: 'ok' | 'fallback' | 'skipped' | 'default';
}

const STARTED = '@started';

/**
 * Runs `node` over `state` at journal path `key`; resolves to the fields it adds. `release`, when given, is
 * called once the node's own work is done and only its last journal write is left (a map item's place is
 * handed to the next item then); nodes that cannot tell when that is (loops, parallel, maps) leave it uncalled.
 */
export async function execute(node: Node, state: RunState, key: string, ctx: RunContext, signal: AbortSignal, release?: () => void): Promise<Record<string, unknown>> {
  if (signal.aborted) throw cancelled(ctx, signal);
  switch (node.kind) {
    case 'sequence': {
      const local = { ...state };
      const added: Record<string, unknown> = {};
      const last = node.steps.length - 1;
      for (let i = 0; i <= last; i++) Object.assign(local, Object.assign(added, await execute(node.steps[i]!, local, key, ctx, signal, i === last ? release : undefined)));
      return added;
    }
    case 'step':
      return runStep(node, state, childPath(key, node.name), ctx, signal, release);
    case 'parallel':
      return runParallel(node, state, childPath(key, node.name), ctx, signal);
    case 'map': {
      const path = childPath(key, node.name);
      const items = state[node.over];
      if (!Array.isArray(items)) throw new StepFailedError(path, 0, new TypeError(`map '${path}' needs '${node.over}' to be a list, got ${typeof items}.`));
      // An item's place goes to the next item when its last step's output is being journaled; the item counts
      // as done (its step_finished, the map's output) only after that write.
      const results = await limited(items.length, node.concurrency, signal, async (index, itemSignal, itemRelease) => {
        try {
          return { ok: await execute(node.body, { ...state, [node.as]: items[index], index }, `${path}[${index}]`, ctx, itemSignal, itemRelease) };
        } catch (error) {
          if (node.onItemFailure === 'fail' || signal.aborted) throw error;
          return { failed: error };
        }
      });
      const output = results.flatMap((r) => ('ok' in r ? [r.ok] : node.onItemFailure === 'null' ? [null] : []));
      return { [node.output]: output };
    }
    case 'branch': {
      const path = childPath(key, node.name);
      if (node.when(state)) return execute(node.then, state, childPath(path, 'then'), ctx, signal, release);
      return node.else === undefined ? {} : execute(node.else, state, childPath(path, 'else'), ctx, signal, release);
    }
    case 'loop': {
      const path = childPath(key, node.name);
      const local = { ...state };
      const added: Record<string, unknown> = {};
      for (let iteration = 0; iteration < node.maxIterations; iteration++) {
        Object.assign(local, Object.assign(added, await execute(node.body, local, `${path}#${iteration}`, ctx, signal)));
        if (node.until(local, iteration + 1)) break;
      }
      return added;
    }
  }
}

async function runParallel(node: Extract<Node, { kind: 'parallel' }>, state: RunState, path: string, ctx: RunContext, signal: AbortSignal): Promise<Record<string, unknown>> {
  const names = Object.keys(node.branches);
  if (node.mode === 'all') {
    const outs = await limited(names.length, node.concurrency, signal, (i, s) => execute(node.branches[names[i]!]!, state, childPath(path, names[i]!), ctx, s));
    return Object.assign({}, ...outs) as Record<string, unknown>;
  }
  // Which branch wins is not deterministic, so the decision is journaled and a resume takes it from there.
  const winnerKey = `${path}@winner`;
  const replayed = ctx.replay.get(winnerKey) as { branch: string; outputs: Record<string, unknown> } | undefined;
  if (replayed !== undefined) return replayed.outputs;
  const group = linkedController(signal);
  const errors: unknown[] = [];
  let winner: { branch: string; outputs: Record<string, unknown> } | undefined;
  let raceError: unknown;
  try {
    await limited(names.length, node.concurrency, group.signal, async (i, s) => {
      try {
        const outputs = await execute(node.branches[names[i]!]!, state, childPath(path, names[i]!), ctx, s);
        if (winner === undefined && raceError === undefined) {
          winner = { branch: names[i]!, outputs };
          group.abort();
        }
      } catch (error) {
        if (winner !== undefined || raceError !== undefined || group.signal.aborted) return;
        errors.push(error);
        if (node.mode === 'race') {
          raceError = error;
          group.abort();
        }
      }
    });
  } catch (error) {
    if (winner === undefined && raceError === undefined) throw error;
  }
  if (signal.aborted) throw cancelled(ctx, signal);
  if (winner === undefined) throw raceError ?? new StepFailedError(path, errors.length, errors.at(-1) ?? new Error('no branch succeeded'));
  const won = winner;
  const projected = pickOutputs(won.outputs, Object.keys(won.outputs));
  if (ctx.journal !== undefined) await ctx.journal.appendJournal(ctx.runId, { stepKey: winnerKey, value: { branch: won.branch, outputs: projected } as JsonValue });
  return projected;
}

async function runStep(node: StepNode, state: RunState, key: string, ctx: RunContext, signal: AbortSignal, release?: () => void): Promise<Record<string, unknown>> {
  const done = ctx.replay.get(key) as StepRecord | undefined;
  if (done !== undefined) {
    ctx.log.push({ type: 'step_finished', runId: ctx.runId, pipeline: ctx.pipeline, step: key, durationMs: 0, attempts: 0, replayed: true, outcome: done.outcome, outputs: done.outputs });
    return done.outputs;
  }
  const idempotent = node.idempotent !== false;
  if (!idempotent && ctx.replay.has(key + STARTED)) {
    const decision = ctx.decisions[key];
    if (decision === undefined) throw new NonIdempotentStepInFlightError(ctx.runId, key);
    if (decision !== 'rerun') return finish(ctx, key, { outputs: pickOutputs(decision.outputs, node.outputs), outcome: 'ok' }, 0, 0, release);
  }
  if (!idempotent && ctx.journal !== undefined) await ctx.journal.appendJournal(ctx.runId, { stepKey: key + STARTED, value: { started: true } });

  const started = performance.now();
  const inputs = pickInputs(state, node.inputs);
  const policy = node.retry ?? { attempts: 1 };
  const retryOn = policy.retryOn ?? isRetryable;
  let delay = policy.backoffMs ?? 100;
  let attempt = 0;
  let failure: unknown;
  for (;;) {
    attempt++;
    const attemptStarted = performance.now();
    ctx.log.push({ type: 'step_started', runId: ctx.runId, pipeline: ctx.pipeline, step: key, attempt });
    try {
      const outputs = await runAttempt(node, inputs, key, attempt, ctx, signal);
      return await finish(ctx, key, { outputs, outcome: 'ok' }, performance.now() - started, attempt, release);
    } catch (error) {
      if (signal.aborted) throw cancelled(ctx, signal);
      const retry = attempt < policy.attempts && retryOn(error);
      ctx.log.push({ type: 'step_failed', runId: ctx.runId, pipeline: ctx.pipeline, step: key, durationMs: performance.now() - attemptStarted, attempt, final: !retry, error: asError(error) });
      if (!retry) {
        failure = error;
        break;
      }
      ctx.log.push({ type: 'step_retried', runId: ctx.runId, pipeline: ctx.pipeline, step: key, attempt: attempt + 1, delayMs: delay, error: asError(error) });
      await abortableDelay(delay, signal);
      if (signal.aborted) throw cancelled(ctx, signal);
      delay = Math.min(delay * (policy.factor ?? 2), policy.maxBackoffMs ?? 30_000);
    }
  }
  if (node.fallback !== undefined) {
    try {
      const outputs = await execute(node.fallback, state, `${key}.fallback`, ctx, signal);
      return await finish(ctx, key, { outputs: pickOutputs(outputs, node.outputs), outcome: 'fallback' }, performance.now() - started, attempt, release);
    } catch (error) {
      if (signal.aborted) throw cancelled(ctx, signal);
      failure = error;
    }
  }
  const onFailure = node.onFailure ?? 'fail';
  if (onFailure === 'fail') throw failure instanceof StepFailedError ? failure : new StepFailedError(key, attempt, failure);
  const outputs = onFailure === 'skip' ? Object.fromEntries(node.outputs.map((f) => [f, null])) : pickOutputs(onFailure.default, node.outputs);
  return finish(ctx, key, { outputs, outcome: onFailure === 'skip' ? 'skipped' : 'default' }, performance.now() - started, attempt, release);
}

/** Journals a step's result (awaited: the next step starts after the commit), then reports it. */
async function finish(ctx: RunContext, key: string, record: StepRecord, durationMs: number, attempts: number, release?: () => void): Promise<Record<string, unknown>> {
  if (ctx.journal !== undefined) {
    const written = ctx.journal.appendJournal(ctx.runId, { stepKey: key, value: record as unknown as JsonValue });
    release?.();
    await written;
  }
  ctx.log.push({ type: 'step_finished', runId: ctx.runId, pipeline: ctx.pipeline, step: key, durationMs, attempts, replayed: false, outcome: record.outcome, outputs: record.outputs });
  return record.outputs;
}

/** One attempt as a task under the run's supervisor: a throw or crash is an { exit } outcome, not the caller's crash. */
async function runAttempt(node: StepNode, inputs: Record<string, unknown>, key: string, attempt: number, ctx: RunContext, signal: AbortSignal): Promise<Record<string, unknown>> {
  const controller = linkedController(signal);
  const context: StepContext = { signal: controller.signal, attempt, key };
  // A step's own error comes back as a value (not a crash report); an { exit } outcome is a real crash.
  const task = await TaskSupervisor.asyncNolink(ctx.rt, ctx.supervisor, () =>
    invoke(node, inputs, context, ctx).then(
      (outputs) => ({ outputs }),
      (error: unknown) => ({ error }),
    ),
  );
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) resolve('aborted');
  });
  try {
    const outcome = await Promise.race([Task.yield(task, node.timeoutMs ?? Infinity), aborted]);
    if (outcome === 'aborted' || outcome === null) {
      const error = outcome === null ? new StepTimeoutError(key, node.timeoutMs!) : cancelled(ctx, signal);
      controller.abort(error);
      await Task.shutdown(task, 'brutal_kill');
      throw error;
    }
    if (!('ok' in outcome)) throw asError(outcome.exit);
    if ('error' in outcome.ok) throw outcome.ok.error;
    return outcome.ok.outputs;
  } finally {
    signal.removeEventListener('abort', onAbort!);
    controller.dispose();
  }
}

async function invoke(node: StepNode, inputs: Record<string, unknown>, context: StepContext, ctx: RunContext): Promise<Record<string, unknown>> {
  const kind = runnableKind(node.run);
  if (kind === 'function') {
    const result = await (node.run as StepFunction)(inputs, context);
    if (result === null || typeof result !== 'object') throw new StepOutputError(context.key, node.outputs);
    return pickOutputs(result, node.outputs, context.key);
  }
  if (kind === 'tool') return { [node.outputs[0]!]: await (node.run as Tool).call(inputs) };
  const program = node.run as Module | PythonProgram;
  let prediction: Prediction;
  if (node.stream === true) {
    prediction = undefined as unknown as Prediction;
    const events = (program as { stream(inputs: Record<string, unknown>, options: { signal: AbortSignal }): AsyncIterable<StreamEvent> }).stream(inputs, { signal: context.signal });
    for await (const event of events) {
      if (event.type === 'field') ctx.log.push({ type: 'chunk', runId: ctx.runId, pipeline: ctx.pipeline, step: context.key, field: event.field, delta: event.delta });
      else if (event.type === 'prediction') prediction = event.prediction;
    }
  } else {
    prediction = await (program as { call(inputs: Record<string, unknown>, options: { signal: AbortSignal }): Promise<Prediction> }).call(inputs, { signal: context.signal });
  }
  const fields = Object.fromEntries(prediction.keys().map((k) => [k, prediction.get(k)]));
  return pickOutputs(fields, node.outputs, context.key);
}

function pickInputs(state: RunState, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, state[f]]));
}

function pickOutputs(values: Record<string, unknown>, fields: readonly string[], key?: string): Record<string, unknown> {
  const lacking = fields.filter((f) => !(f in values));
  if (lacking.length > 0) throw new StepOutputError(key ?? '?', lacking);
  return Object.fromEntries(fields.map((f) => [f, values[f]]));
}

/**
 * Runs fn(0..count-1), starting them in index order with at most `limit` holding a place at once; results in
 * index order; the first failure aborts the rest, and every started call has settled when this settles. A call
 * holds its place until it settles or calls its `release`, whichever is first.
 */
export async function limited<T>(count: number, limit: number, signal: AbortSignal, fn: (index: number, signal: AbortSignal, release: () => void) => Promise<T>): Promise<T[]> {
  const group = linkedController(signal);
  const results = new Array<T>(count);
  let next = 0;
  let free = limit;
  let running = 0;
  let failed = false;
  let firstError: unknown;
  try {
    await new Promise<void>((allSettled) => {
      const launch = (): void => {
        while (free > 0 && next < count && !failed && !group.signal.aborted) {
          const index = next++;
          free--;
          running++;
          let holding = true;
          const release = (): void => {
            if (!holding) return;
            holding = false;
            free++;
            launch();
          };
          void fn(index, group.signal, release).then(
            (value) => {
              results[index] = value;
            },
            (error: unknown) => {
              if (!failed) (failed = true), (firstError = error), group.abort();
            },
          ).finally(() => {
            running--;
            release();
            if (running === 0) allSettled();
          });
        }
      };
      launch();
      if (running === 0) allSettled();
    });
  } finally {
    group.dispose();
  }
  if (failed) throw firstError;
  if (signal.aborted) throw signal.reason;
  return results;
}

/** An AbortController aborted with its parent; dispose() detaches it. */
function linkedController(parent: AbortSignal): { signal: AbortSignal; abort(reason?: unknown): void; dispose(): void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // a map or parallel group hangs one listener per running item on it
  const forward = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', forward, { once: true });
  return { signal: controller.signal, abort: (reason) => controller.abort(reason), dispose: () => parent.removeEventListener('abort', forward) };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function cancelled(ctx: RunContext, signal: AbortSignal): PipelineCancelledError {
  return signal.reason instanceof PipelineCancelledError ? signal.reason : new PipelineCancelledError(ctx.runId, signal.reason);
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`step task exited: ${JSON.stringify(reason)}`);
}
