// The pieces a pipeline is made of: leaf steps (a Module, a Python program, a tool, a function) and the
// combinators over them (sequence, parallel, map, branch, loop). Plain data; pipeline() checks and runs them.

import { Module, Tool } from 'dspex';
import { PythonProgram } from '../python/index.js';

/** The run's state: every field produced so far (the pipeline's inputs first). Values are JSON. */
export type RunState = Record<string, unknown>;

/** What a function step gets besides its inputs. */
export interface StepContext {
  /** Aborted when the run is cancelled or the step times out. Pass it to LM and Python calls. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** The step's journal key (path, map index, loop iteration): unique and stable across resumes. */
  key: string;
}

/** A plain async function: takes its input fields, returns a record with its output fields. */
export type StepFunction = (inputs: Record<string, unknown>, context: StepContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** What a step runs: a native or routed Module, a Python program (by handle), a dspex Tool, or a function. */
export type StepRunnable = Module | PythonProgram | Tool | StepFunction;

/** Retries of one step: only errors `retryOn` accepts (default: retryable typed errors, see README). */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 1: no retry). */
  attempts: number;
  /** Wait before the second attempt, ms (default 100); multiplied by `factor` (default 2) each time, up to `maxBackoffMs`. */
  backoffMs?: number;
  factor?: number;
  maxBackoffMs?: number;
  retryOn?: (error: unknown) => boolean;
}

/** After retries and fallback: fail the run, go on with the outputs set to null, or go on with these values. */
export type FailurePolicy = 'fail' | 'skip' | { default: Record<string, unknown> };

/** Options of one step. */
export interface StepOptions {
  /** Fields read from the run's state. For a Module: its input fields; for a tool: its arguments. */
  inputs: readonly string[];
  /** Fields written to the run's state. For a tool: exactly one, its return value. */
  outputs: readonly string[];
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Run when every attempt failed; must produce the same outputs. */
  fallback?: StepNode;
  onFailure?: FailurePolicy;
  /** false: a resume that finds this step in flight stops with NonIdempotentStepInFlightError. Default true. */
  idempotent?: boolean;
  /** Modules and Python programs: stream the output fields as `chunk` events (module.stream()). */
  stream?: boolean;
}

/** A leaf of the tree, made by step(): what it runs, under its name, with its options. */
export interface StepNode extends StepOptions {
  kind: 'step';
  name: string;
  run: StepRunnable;
}

/** How parallel branches end: every branch; the first to succeed (the others cancelled); the first to finish, failed or not. */
export type ParallelMode = 'all' | 'firstSuccess' | 'race';

/** Named branches run at once, made by parallel(). */
export interface ParallelNode {
  kind: 'parallel';
  name: string;
  branches: Record<string, Node>;
  mode: ParallelMode;
  concurrency: number;
}

/** A failed map item: fail the map, drop it from the results, or put null in its place. */
export type ItemFailurePolicy = 'fail' | 'skip' | 'null';

/** One body per element of a list field, made by map(). */
export interface MapNode {
  kind: 'map';
  name: string;
  /** The list field to map over. */
  over: string;
  /** The field each item is bound to inside the body (default 'item'); `index` is bound too. */
  as: string;
  body: Node;
  /** The field that receives the results: one record of the body's outputs per item, in input order. */
  output: string;
  concurrency: number;
  onItemFailure: ItemFailurePolicy;
}

/** `then` or `else` by a predicate over the state, made by branch(). */
export interface BranchNode {
  kind: 'branch';
  name: string;
  /** Over the run's state; must be deterministic (a resume evaluates it again on the journaled state). */
  when: (state: RunState) => boolean;
  then: Node;
  else?: Node;
}

/** A body repeated until a predicate holds, made by loop(). */
export interface LoopNode {
  kind: 'loop';
  name: string;
  body: Node;
  /** Checked after each iteration over the state (deterministic, as `when`); true ends the loop. */
  until: (state: RunState, iteration: number) => boolean;
  maxIterations: number;
}

/** Nodes one after the other, made by sequence() or an array. */
export interface SequenceNode {
  kind: 'sequence';
  steps: Node[];
}

/** Any piece of a pipeline. */
export type Node = StepNode | SequenceNode | ParallelNode | MapNode | BranchNode | LoopNode;

/** A leaf step. `run` is a Module, a PythonProgram, a Tool or an async function. */
export function step(name: string, run: StepRunnable, options: StepOptions): StepNode {
  return { kind: 'step', name, run, ...options };
}

/** Steps one after the other, each seeing what the earlier ones produced. */
export function sequence(...steps: Node[]): SequenceNode {
  return { kind: 'sequence', steps };
}

/** Named branches run at once (at most `concurrency`, default all). */
export function parallel(name: string, branches: Record<string, Node>, options: { mode?: ParallelMode; concurrency?: number } = {}): ParallelNode {
  return { kind: 'parallel', name, branches, mode: options.mode ?? 'all', concurrency: options.concurrency ?? Infinity };
}

/** Runs `body` once per element of the list field `over`, at most `concurrency` at a time, results in order. */
export function map(
  name: string,
  options: { over: string; as?: string; body: Node; output: string; concurrency?: number; onItemFailure?: ItemFailurePolicy },
): MapNode {
  return { kind: 'map', name, over: options.over, as: options.as ?? 'item', body: options.body, output: options.output, concurrency: options.concurrency ?? 8, onItemFailure: options.onItemFailure ?? 'fail' };
}

/** `then` when the predicate holds over the state, else `else` (or nothing). */
export function branch(name: string, options: { when: (state: RunState) => boolean; then: Node; else?: Node }): BranchNode {
  return { kind: 'branch', name, when: options.when, then: options.then, ...(options.else === undefined ? {} : { else: options.else }) };
}

/** Runs `body` until `until(state, iteration)` holds or `maxIterations` ran; each iteration's outputs replace the last. */
export function loop(name: string, options: { body: Node; until: (state: RunState, iteration: number) => boolean; maxIterations: number }): LoopNode {
  return { kind: 'loop', name, body: options.body, until: options.until, maxIterations: options.maxIterations };
}

/** Which kind of runnable a step holds. */
export function runnableKind(run: StepRunnable): 'module' | 'python' | 'tool' | 'function' {
  if (run instanceof PythonProgram) return 'python';
  if (run instanceof Module) return 'module';
  if (run instanceof Tool) return 'tool';
  return 'function';
}
