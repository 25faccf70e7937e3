// Task and TaskSupervisor: Elixir's one-off processes that run a function and give back its result.
// Task.async links the task to its caller; a TaskSupervisor runs tasks as temporary children of a
// DynamicSupervisor, so a crash is a result ({ exit }) and not the caller's death. asyncStream maps an
// (async) iterable through tasks with bounded concurrency and backpressure.
//
//   const task = Task.async(self, async () => fetchScores());
//   const scores = await Task.await(task, 10_000);        // TaskTimeoutError / TaskExitError on failure
//   for await (const item of Task.asyncStream(rt, prompts, (p) => lm.complete(p), { maxConcurrency: 4 })) ...

import { AsyncLocalStorage } from 'node:async_hooks';
import { availableParallelism } from 'node:os';
import { DynamicSupervisor, type DynamicSupervisorOptions } from './dynamic_supervisor.js';
import { BadArgumentError, ChildStartError, TaskExitError, TaskTimeoutError } from './errors.js';
import { runtimeOf, type Caller, type StartOptions, type StartResult } from './gen_server.js';
import type { TerminateChildResult } from './supervisor.js';
import { shutdownChild, type ChildSpec, type Shutdown } from './child_spec.js';
import { flushMessages, type Dest, type Pid, type Process, type ProcessBehavior, type ProcessContext } from './process.js';
import type { ExitReason, Ref } from './reasons.js';
import { Runtime, asProcess } from './runtime.js';

/** What a task came to: its function's value, or the reason it exited without one. */
export type TaskOutcome<T> = { ok: T } | { exit: ExitReason };
/** The function a task runs, in its own process (`self`). */
export type TaskFn<T> = (self: ProcessContext) => T | Promise<T>;

/** Sent to a task's owner with the result (Elixir's `{ref, result}`), before the DOWN of its monitor. */
export class TaskReply<T = unknown> {
  readonly kind = 'TASK_REPLY' as const;
  constructor(readonly ref: Ref, readonly value: T) {}
}

interface TaskState {
  /** Set by the task just before it exits normally. */
  result: { ok: unknown } | undefined;
  outcome: TaskOutcome<unknown> | undefined;
  /** Settles when the task process exits (synchronously, from an exit hook). */
  readonly settled: Promise<TaskOutcome<unknown>>;
  /** The owner that monitors the task and gets a TaskReply; null when results go only through the promise. */
  readonly notify: Process | null;
  readonly ref: Ref;
  /** The process the task is linked to (its owner, an async stream's link holder), or null. */
  linked: Process | null;
  /** Task.ignore was called: its outcome is no longer reported (await and yield wait in vain, as in Elixir). */
  ignored: boolean;
}

const STATES = new WeakMap<Task<unknown>, TaskState>();

/** The function a waiting task process runs; sent once it is linked and monitored as it should be. */
class TaskRun {
  constructor(readonly fn: TaskFn<unknown>, readonly state: TaskState) {}
}

/** A running task. Its pid is a normal pid; `ref` tags its TaskReply and the owner's monitor DOWN. */
export class Task<T = unknown> {
  /** Type-level only (never set): carries T so Task.await infers it, also from the emitted .d.ts. */
  declare readonly valueType?: T;

  constructor(
    readonly pid: Pid,
    readonly ref: Ref,
    /** The process that started it, or null when plain code (a Runtime) did. */
    readonly owner: Pid | null,
  ) {}

  /**
   * Runs `fn` in a new process linked to the caller (when the caller is a process): a crash in the task
   * crashes a caller that does not trap exits. The caller monitors the task and gets a TaskReply message.
   * Throws BadArgumentError when fn is not a function.
   */
  static async<T>(caller: Caller, fn: TaskFn<T>): Task<T> {
    if (typeof fn !== 'function') throw new BadArgumentError('Task.async expects a function (self) => value.');
    const owner = ownerOf(caller);
    return runTask(spawnTask(runtimeOf(caller), owner), owner, fn, true, owner);
  }

  /**
   * Waits for the task's value. Rejects with TaskExitError (its exit reason attached) when it exited
   * without one, or TaskTimeoutError after `timeoutMs` (default 5000; Infinity waits forever), in which
   * case the task is killed (unlinked first, so the caller lives).
   */
  static async await<T>(task: Task<T>, timeoutMs = 5000): Promise<T> {
    const state = stateOf(task);
    const outcome = await within(reported(state), timeoutMs);
    if (outcome === undefined) {
      killTask(task);
      flush(state);
      throw new TaskTimeoutError(String(task.pid), timeoutMs);
    }
    flush(state);
    if ('ok' in outcome) return outcome.ok as T;
    throw new TaskExitError(String(task.pid), outcome.exit);
  }

  /** Waits up to `timeoutMs` (default 5000): the outcome, or null if the task is still running (it keeps running). */
  static async yield<T>(task: Task<T>, timeoutMs = 5000): Promise<TaskOutcome<T> | null> {
    const state = stateOf(task);
    const outcome = await within(reported(state), timeoutMs);
    if (outcome === undefined) return null;
    flush(state);
    return outcome as TaskOutcome<T>;
  }

  /**
   * Waits for every task's value, in the order given. Rejects with TaskExitError as soon as any task exits
   * without a value (the others keep running), or TaskTimeoutError when they are not all done within
   * `timeoutMs` (default 5000; Infinity waits forever), in which case the tasks still running are killed as
   * Task.await kills one. Elixir's Task.await_many.
   */
  static async awaitMany<T>(tasks: ReadonlyArray<Task<T>>, timeoutMs = 5000): Promise<T[]> {
    const states = tasks.map((task) => stateOf(task));
    let failed: ((error: Error) => void) | undefined;
    const firstExit = new Promise<never>((_resolve, reject) => (failed = reject));
    states.forEach((state, i) => void reported(state).then((outcome) => 'exit' in outcome && failed!(new TaskExitError(String(tasks[i]!.pid), outcome.exit))));
    const outcomes = await within(Promise.race([Promise.all(states.map(reported)), firstExit]), timeoutMs).catch((error: unknown) => {
      for (const state of states) flush(state); // no DOWN of any of them reaches the caller afterwards
      throw error;
    });
    if (outcomes === undefined) {
      const pending = tasks.filter((_task, i) => states[i]!.outcome === undefined);
      for (const task of pending) killTask(task);
      for (const state of states) flush(state);
      throw new TaskTimeoutError(pending.map((task) => String(task.pid)).join(', '), timeoutMs);
    }
    for (const state of states) flush(state);
    return outcomes.map((outcome) => (outcome as { ok: T }).ok);
  }

  /**
   * Waits up to `timeout` ms (default 5000) for the tasks, or until `limit` of them (default all) are done,
   * and answers [task, outcome or null] for each, in the order given (Elixir's Task.yield_many). When the
   * time runs out, `onTimeout` decides what becomes of those still running: 'nothing' (default) leaves
   * them, 'ignore' calls Task.ignore on them, 'kill_task' shuts them down with brutal_kill; their entry is
   * what that answers.
   */
  static async yieldMany<T>(tasks: ReadonlyArray<Task<T>>, options: YieldManyOptions = {}): Promise<Array<[Task<T>, TaskOutcome<T> | null]>> {
    const states = tasks.map((task) => stateOf(task));
    const timeout = options.timeout ?? 5000;
    const limit = Math.min(options.limit ?? tasks.length, tasks.length);
    const onTimeout = options.onTimeout ?? 'nothing';
    if (!Number.isInteger(limit) || limit < 0) throw new BadArgumentError(`limit must be a non-negative integer, not ${String(options.limit)}.`);
    if (onTimeout !== 'nothing' && onTimeout !== 'ignore' && onTimeout !== 'kill_task') {
      throw new BadArgumentError(`onTimeout must be 'nothing', 'ignore' or 'kill_task', not ${String(onTimeout)}.`);
    }
    const done = (): number => states.filter((state) => !state.ignored && state.outcome !== undefined).length;
    let reachLimit: (() => void) | undefined;
    const enough = new Promise<true>((resolve) => (reachLimit = () => resolve(true)));
    for (const state of states) void reported(state).then(() => done() >= limit && reachLimit!());
    const timedOut = done() >= limit ? false : (await within(enough, timeout)) === undefined;
    const answers: Array<[Task<T>, TaskOutcome<T> | null]> = [];
    for (const [i, task] of tasks.entries()) {
      const state = states[i]!;
      let answer: TaskOutcome<T> | null = null;
      if (!state.ignored && state.outcome !== undefined) {
        flush(state);
        answer = state.outcome as TaskOutcome<T>;
      } else if (timedOut && onTimeout === 'kill_task') {
        answer = await Task.shutdown(task, 'brutal_kill');
      } else if (timedOut && onTimeout === 'ignore') {
        answer = Task.ignore(task);
      }
      answers.push([task, answer]);
    }
    return answers;
  }

  /**
   * Lets the task run on its own: unlinks it from the caller and drops its monitor, so neither its crash
   * nor its reply reach the caller. Answers its outcome if it already had one, else null; from then on
   * Task.await and Task.yield on it wait in vain (Elixir's Task.ignore).
   */
  static ignore<T>(task: Task<T>): TaskOutcome<T> | null {
    const state = stateOf(task);
    flush(state);
    if (state.ignored) return null;
    state.ignored = true;
    if (state.outcome !== undefined) return state.outcome as TaskOutcome<T>;
    if (state.linked !== null) asProcess(task.pid).runtime.unlink(state.linked, asProcess(task.pid));
    state.linked = null;
    return null;
  }

  /**
   * Unlinks and stops the task as a supervisor would: a `shutdown` exit signal, then a kill after
   * `shutdown` ms (or at once with 'brutal_kill'). Resolves, as Elixir's Task.shutdown does, to { ok } when
   * the task gave its value, null when it ended by this shutdown's own signal (also when it had already
   * died of that very reason: 'shutdown', or 'killed' with brutal_kill), and { exit: reason } otherwise,
   * including { exit: 'killed' } for a task that traps exits and had to be killed when its time ran out.
   */
  static async shutdown<T>(task: Task<T>, shutdown: Shutdown = 5000): Promise<TaskOutcome<T> | null> {
    const state = stateOf(task);
    if (state.outcome !== undefined) {
      // Already dead (Elixir's flush_noproc): its DOWN tells whether it died as this shutdown would end it.
      flush(state);
      const asked = shutdown === 'brutal_kill' ? 'killed' : 'shutdown';
      if ('exit' in state.outcome && state.outcome.exit === asked) return null;
      return state.outcome as TaskOutcome<T>;
    }
    const process = asProcess(task.pid);
    const stopped = await shutdownChild(task.owner === null ? process.runtime.root : asProcess(task.owner), process, shutdown);
    const outcome = (await state.settled) as TaskOutcome<T>;
    flush(state);
    if ('ok' in outcome) return outcome;
    // shutdownChild answers { ok } only for the reason it asked for: 'shutdown', or 'killed' with brutal_kill.
    return 'ok' in stopped ? null : outcome;
  }

  /**
   * Maps `items` through `fn`, each in a task, at most `maxConcurrency` at a time. Yields { ok: value } or
   * { exit: reason } per item. As in Elixir, the tasks are linked to an intermediate process linked to the
   * caller and trapping exits when the caller does: a crash also crashes a caller that does not trap exits,
   * and a caller that traps gets the { exit } item and no EXIT message. The stream throws TaskTimeoutError
   * when an item times out with onTimeout 'exit' and BadArgumentError for bad options. Breaking out of the
   * loop kills the tasks still running.
   */
  static asyncStream<I, T>(caller: Caller, items: Iterable<I> | AsyncIterable<I>, fn: StreamFn<I, T>, options: AsyncStreamOptions = {}): AsyncIterable<StreamItem<T>> {
    const owner = ownerOf(caller);
    const rt = runtimeOf(caller);
    const links = owner === null ? null : new StreamLinks(owner);
    return runStream(
      items,
      fn,
      options,
      (input) => {
        const linked = links === null ? null : links.holder();
        return runTask(spawnTask(rt, linked), owner, (self) => fn(input, self), false, linked);
      },
      () => links?.close(),
    );
  }
}

/** Options of Task.yieldMany. */
export interface YieldManyOptions {
  /** Milliseconds to wait (default 5000; Infinity waits until `limit` tasks are done). */
  timeout?: number;
  /** Return once this many tasks are done (default all of them). */
  limit?: number;
  /** What becomes of the tasks still running when the time runs out (default 'nothing'). */
  onTimeout?: 'nothing' | 'ignore' | 'kill_task';
}

/** The function Task.asyncStream runs for each item, each in its own task. */
export type StreamFn<I, T> = (item: I, self: ProcessContext) => T | Promise<T>;
/** One result of an async stream. With zipInputOnExit, exit is { input, reason }. */
export type StreamItem<T> = { ok: T } | { exit: ExitReason };

/** Options of Task.asyncStream and TaskSupervisor.asyncStreamNolink. */
export interface AsyncStreamOptions {
  /** Tasks alive at once, and how far the stream may run ahead of its consumer (default os.availableParallelism()). */
  maxConcurrency?: number;
  /** Yield results in input order (default true); false yields them as they finish. */
  ordered?: boolean;
  /** Milliseconds each task may run (default 5000; Infinity for none). */
  timeout?: number;
  /** 'exit' (default): a timeout fails the stream with TaskTimeoutError. 'kill_task': the item becomes { exit: 'timeout' }. */
  onTimeout?: 'exit' | 'kill_task';
  /** Exit items carry their input: { exit: { input, reason } }. */
  zipInputOnExit?: boolean;
}

/** Options of TaskSupervisor.start: those of a DynamicSupervisor, less strategy and extraArguments. */
export type TaskSupervisorOptions = Omit<DynamicSupervisorOptions, 'strategy' | 'extraArguments'>;

/** Options of the tasks a TaskSupervisor starts. */
export interface TaskStartOptions {
  /** How the supervisor stops the task on its own shutdown (default 5000 ms). */
  shutdown?: Shutdown;
}

// --- Task processes ---

/** A task process waits for its TaskRun, runs it, replies if asked, and exits normally; a throw is its crash. */
const taskProcess: ProcessBehavior = {
  async init(self: ProcessContext) {
    const run = await self.receive<TaskRun>((m) => m instanceof TaskRun);
    const value = await run.fn(self);
    if (!asProcess(self.pid).alive) return;
    run.state.result = { ok: value };
    if (run.state.notify !== null && !run.state.ignored) self.send(run.state.notify, new TaskReply(run.state.ref, value));
    self.exit('normal');
  },
  receive() {},
};

function spawnTask(rt: Runtime, link: Process | null): Process {
  return asProcess(rt.spawn(taskProcess, link === null ? { label: 'Task' } : { link, label: 'Task' }));
}

function ownerOf(caller: Caller): Process | null {
  return caller instanceof Runtime ? null : asProcess(caller.pid);
}

/**
 * Wraps a spawned, waiting task process in a Task and sends it `fn`. `notify`: the owner monitors it and gets
 * a TaskReply. `linked`: the process it is linked to, unlinked before the task is killed.
 */
function runTask<T>(process: Process, owner: Process | null, fn: TaskFn<T>, notify: boolean, linked: Process | null): Task<T> {
  const rt = process.runtime;
  const watcher = notify && owner !== null && owner.alive ? owner : null;
  const ref = watcher !== null ? watcher.monitor(process) : rt.makeRef();
  let resolve!: (outcome: TaskOutcome<unknown>) => void;
  const state: TaskState = { result: undefined, outcome: undefined, settled: new Promise((r) => (resolve = r)), notify: watcher, ref, linked, ignored: false };
  const finish = (reason: ExitReason): void => {
    state.outcome = state.result ?? { exit: reason };
    resolve(state.outcome);
  };
  if (process.alive) rt.watch(process, finish);
  else finish(process.exitReason);
  const task = new Task<T>(process, ref, owner);
  STATES.set(task, state);
  // The task runs its function in the async context of the code that started it (its AsyncLocalStorage
  // values: settings scopes, the active trace span), as an awaited promise would, not in the scheduler's.
  const inCallerContext = AsyncLocalStorage.snapshot();
  rt.send(process, new TaskRun((self) => inCallerContext(fn, self), state));
  return task;
}

function stateOf(task: Task<unknown>): TaskState {
  const state = STATES.get(task);
  if (state === undefined) throw new BadArgumentError('not a task started by Task.async or TaskSupervisor; pass the Task it returned.');
  return state;
}

/** Kills a task without taking down the process it is linked to. */
function killTask(task: Task<unknown>): void {
  const process = asProcess(task.pid);
  const linked = stateOf(task).linked;
  if (linked !== null) process.runtime.unlink(linked, process);
  process.runtime.exit(process, 'kill');
}

/**
 * The intermediate process of an async stream (Elixir's stream monitor): linked to the caller, trapping
 * exits when the caller does, and linked to every task. A task's crash kills it and so a caller that does not
 * trap; a trapping caller's EXITs stay in this process's mailbox, which it discards. When the caller exits,
 * for any reason, the tasks are killed with it. Made at the first task; close() ends it without a signal.
 */
class StreamLinks {
  private hub: Process | null = null;
  private cancelWatch: (() => void) | undefined;

  constructor(private readonly owner: Process) {}

  holder(): Process {
    if (this.hub !== null) return this.hub;
    const rt = this.owner.runtime;
    const hub = asProcess(rt.spawn(discardMessages, { link: this.owner, trapExit: this.owner.trap, label: 'Task.asyncStream' }));
    this.hub = hub;
    if (hub.alive) this.cancelWatch = rt.watch(this.owner, () => this.end());
    return hub;
  }

  close(): void {
    this.cancelWatch?.();
    this.end();
  }

  /** Kills the tasks still linked, then the hub, unlinked from the caller so the caller gets no signal. */
  private end(): void {
    const hub = this.hub;
    if (hub === null || !hub.alive) return;
    const rt = hub.runtime;
    rt.unlink(this.owner, hub);
    for (const task of [...(hub.links ?? [])]) {
      rt.unlink(hub, task);
      rt.exit(task, 'kill');
    }
    rt.exit(hub, 'kill');
  }
}

const discardMessages: ProcessBehavior = { receive() {} };

const NEVER = new Promise<never>(() => {});

/** The task's outcome as its owner sees it: never, once the task was ignored. */
function reported(state: TaskState): Promise<TaskOutcome<unknown>> {
  return state.ignored ? NEVER : state.settled;
}

/** The owner no longer needs the TaskReply and DOWN of a task it has the result of. */
function flush(state: TaskState): void {
  if (state.notify === null) return;
  state.notify.demonitor(state.ref, { flush: true });
  flushMessages(state.notify, (m) => m instanceof TaskReply && m.ref === state.ref);
}

/** The promise's value, or undefined after `timeoutMs`. */
function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  if (timeoutMs === Infinity) return promise;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) return Promise.reject(new BadArgumentError(`a timeout must be a non-negative number of ms or Infinity, not ${String(timeoutMs)}.`));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

// --- Streams ---

interface Running {
  task: Task<unknown>;
  timer: ReturnType<typeof setTimeout> | undefined;
  timedOut: boolean;
}

/**
 * The engine under every async stream (Elixir's Task.Supervised.stream): pulls an input only when fewer
 * than maxConcurrency results are outstanding (started but not yet taken by the consumer), so it never has
 * more tasks alive, nor runs further ahead of its consumer, than that.
 */
async function* runStream<I, T>(
  items: Iterable<I> | AsyncIterable<I>,
  fn: StreamFn<I, T>,
  options: AsyncStreamOptions,
  start: (input: I) => Task<T> | Promise<Task<T>>,
  close?: () => void,
): AsyncGenerator<StreamItem<T>, void, undefined> {
  const { maxConcurrency, ordered, timeout, onTimeout, zipInputOnExit } = streamOptions(options);
  if (typeof fn !== 'function') throw new BadArgumentError('asyncStream expects a function (item, self) => value.');
  const inputs = iteratorOf(items);
  const running = new Map<number, Running>();
  const finished = new Map<number, StreamItem<T>>(); // ordered: by input index
  const arrivals: StreamItem<T>[] = []; // unordered: in finishing order
  let started = 0;
  let delivered = 0;
  let exhausted = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const launch = async (input: I, index: number): Promise<void> => {
    const task = await start(input);
    const entry: Running = { task, timer: undefined, timedOut: false };
    running.set(index, entry);
    if (timeout !== Infinity) {
      entry.timer = setTimeout(() => {
        if (!running.has(index)) return;
        if (onTimeout === 'kill_task') {
          entry.timedOut = true;
          killTask(task);
          return;
        }
        failure = new TaskTimeoutError(String(task.pid), timeout);
        for (const other of running.values()) killTask(other.task);
        signal();
      }, timeout);
    }
    void stateOf(task).settled.then((outcome) => {
      clearTimeout(entry.timer);
      running.delete(index);
      const reason = entry.timedOut ? 'timeout' : 'exit' in outcome ? outcome.exit : undefined;
      const item: StreamItem<T> = 'ok' in outcome && !entry.timedOut ? { ok: outcome.ok as T } : { exit: zipInputOnExit ? { input, reason } : reason };
      if (ordered) finished.set(index, item);
      else arrivals.push(item);
      signal();
    });
  };

  try {
    for (;;) {
      while (failure === undefined && !exhausted && started - delivered < maxConcurrency) {
        const next = await inputs.next();
        if (next.done === true) exhausted = true;
        else await launch(next.value, started++);
      }
      if (failure !== undefined) throw failure;
      const item = ordered ? finished.get(delivered) : arrivals.shift();
      if (item !== undefined) {
        if (ordered) finished.delete(delivered);
        delivered++;
        yield item;
        continue;
      }
      if (exhausted && running.size === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    for (const entry of running.values()) {
      clearTimeout(entry.timer);
      killTask(entry.task);
    }
    close?.();
    if (!exhausted) await inputs.return?.();
  }
}

function streamOptions(options: AsyncStreamOptions): Required<AsyncStreamOptions> {
  const maxConcurrency = options.maxConcurrency ?? availableParallelism();
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new BadArgumentError(`maxConcurrency must be a positive integer, not ${String(maxConcurrency)}.`);
  const timeout = options.timeout ?? 5000;
  if (typeof timeout !== 'number' || !(timeout > 0)) throw new BadArgumentError(`timeout must be a positive number of ms or Infinity, not ${String(timeout)}.`);
  const onTimeout = options.onTimeout ?? 'exit';
  if (onTimeout !== 'exit' && onTimeout !== 'kill_task') throw new BadArgumentError(`onTimeout must be 'exit' or 'kill_task', not ${String(onTimeout)}.`);
  return { maxConcurrency, ordered: options.ordered ?? true, timeout, onTimeout, zipInputOnExit: options.zipInputOnExit ?? false };
}

function iteratorOf<I>(items: Iterable<I> | AsyncIterable<I>): AsyncIterator<I> | Iterator<I> {
  if (items !== null && typeof items === 'object' && Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  if (items !== null && items !== undefined && typeof (items as Iterable<I>)[Symbol.iterator] === 'function') return (items as Iterable<I>)[Symbol.iterator]();
  throw new BadArgumentError('asyncStream expects an Iterable or an AsyncIterable of items.');
}

// --- TaskSupervisor ---

/** The child spec of one supervised task: a temporary child that waits for its function. */
function taskChildSpec(options: TaskStartOptions): ChildSpec {
  return {
    id: 'Task',
    restart: 'temporary',
    shutdown: options.shutdown ?? 5000,
    start: (parent): StartResult => ({ ok: spawnTask(parent.runtime, asProcess(parent.pid)) }),
  };
}

/** `linkTo`: the process the task is linked to (the caller, an async stream's link holder) or null. */
async function startSupervised<T>(caller: Caller, sup: Dest, fn: TaskFn<T>, linkTo: Process | null, notify: boolean, options: TaskStartOptions): Promise<Task<T>> {
  if (typeof fn !== 'function') throw new BadArgumentError('a supervised task needs a function (self) => value.');
  const pid = await DynamicSupervisor.startChildOrThrow(caller, sup, taskChildSpec(options));
  if (pid === null) throw new ChildStartError('ignore');
  const process = asProcess(pid);
  const owner = ownerOf(caller);
  // Linked and monitored before it is given its function, so no crash can slip between (as Elixir does).
  if (linkTo !== null) linkTo.link(process);
  return runTask(process, owner, fn, notify, linkTo);
}

/** Elixir's Task.Supervisor: tasks as temporary children, so a crash is a result, not the caller's death. */
export const TaskSupervisor = {
  /** Starts a task supervisor (a DynamicSupervisor of temporary tasks). Resolves to { ok: pid } or { error }. */
  start(caller: Caller, options: TaskSupervisorOptions = {}, extra: StartOptions = {}): Promise<StartResult> {
    return DynamicSupervisor.start(caller, options, { label: 'TaskSupervisor', ...extra });
  },

  /** Like start, linked to `parent`. */
  startLink(parent: ProcessContext, options: TaskSupervisorOptions = {}, extra: StartOptions = {}): Promise<StartResult> {
    return DynamicSupervisor.startLink(parent, options, { label: 'TaskSupervisor', ...extra });
  },

  /** A child spec that runs a task supervisor under another supervisor. */
  childSpec(options: TaskSupervisorOptions = {}, overrides: Partial<ChildSpec> = {}): ChildSpec {
    return {
      id: options.name ?? 'TaskSupervisor',
      start: (parent) => TaskSupervisor.startLink(parent, options),
      type: 'supervisor',
      shutdown: 'infinity',
      ...overrides,
    };
  },

  /**
   * Runs `fn` as a child of `sup`, not linked to the caller: a crash comes back as TaskExitError from
   * Task.await, { exit } from Task.yield, or a DOWN to the owner. Rejects with MaxChildrenError when the
   * supervisor is full, NoProcError when it is not running.
   */
  asyncNolink<T>(caller: Caller, sup: Dest, fn: TaskFn<T>, options: TaskStartOptions = {}): Promise<Task<T>> {
    return startSupervised(caller, sup, fn, null, true, options);
  },

  /** Like asyncNolink, and linked to the caller as well (Elixir's Task.Supervisor.async). */
  async<T>(caller: Caller, sup: Dest, fn: TaskFn<T>, options: TaskStartOptions = {}): Promise<Task<T>> {
    return startSupervised(caller, sup, fn, ownerOf(caller), true, options);
  },

  /** Runs `fn` under `sup` for its effect only (no reply, no link). Resolves to its pid; rejects as asyncNolink. */
  async startChild(caller: Caller, sup: Dest, fn: TaskFn<unknown>, options: TaskStartOptions = {}): Promise<Pid> {
    return (await startSupervised(runtimeOf(caller), sup, fn, null, false, options)).pid;
  },

  /** Shuts one task down as its shutdown option says. Resolves to { ok } or { error: 'not_found' }. */
  terminateChild(caller: Caller, sup: Dest, pid: Pid): Promise<TerminateChildResult> {
    return DynamicSupervisor.terminateChild(caller, sup, pid);
  },

  /** The pids of the running tasks. Rejects with NoProcError when the supervisor is not running. */
  async children(caller: Caller, sup: Dest): Promise<Pid[]> {
    const children = await DynamicSupervisor.whichChildren(caller, sup);
    return children.flatMap((c) => (typeof c.pid === 'object' ? [c.pid] : []));
  },

  /**
   * Task.asyncStream with every task a child of `sup` and not linked to the caller: a crash is an
   * { exit: reason } item. Same options, bounds and errors; starting a task may also fail the stream
   * with MaxChildrenError or NoProcError.
   */
  asyncStreamNolink<I, T>(caller: Caller, sup: Dest, items: Iterable<I> | AsyncIterable<I>, fn: StreamFn<I, T>, options: AsyncStreamOptions & TaskStartOptions = {}): AsyncIterable<StreamItem<T>> {
    return runStream(items, fn, options, (input) => startSupervised(caller, sup, (self) => fn(input, self), null, false, options));
  },

  /**
   * Like asyncStreamNolink, with each task also linked to the caller through the stream's intermediate
   * process, as Task.asyncStream (Elixir's Task.Supervisor.async_stream).
   */
  asyncStream<I, T>(caller: Caller, sup: Dest, items: Iterable<I> | AsyncIterable<I>, fn: StreamFn<I, T>, options: AsyncStreamOptions & TaskStartOptions = {}): AsyncIterable<StreamItem<T>> {
    const owner = ownerOf(caller);
    const links = owner === null ? null : new StreamLinks(owner);
    return runStream(
      items,
      fn,
      options,
      (input) => startSupervised(caller, sup, (self) => fn(input, self), links === null ? null : links.holder(), false, options),
      () => links?.close(),
    );
  },
};
