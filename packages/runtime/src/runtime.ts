// The runtime: process table, name table, scheduler, signals (links, monitors, exits), timers,
// telemetry and logging. One Runtime is one "node"; everything else in the package runs on one.

import { EventEmitter } from 'eventemitter3';
import type { Logger } from 'pino';
import { defaultLogger } from './logger.js';
import { BadArgumentError, NameTakenError, NoProcError, formatReason } from './errors.js';
import {
  DEAD,
  INJECTED,
  InjectedCrash,
  NEEDS_INIT,
  Process,
  QUEUED,
  SUSPENDED,
  TOP_LEVEL,
  type Dest,
  type MonitorWatcher,
  type Pid,
  type ProcessBehavior,
  type ProcessContext,
  type ReceiveFn,
} from './process.js';
import { Down, Ref, isNormalExit, type ExitReason } from './reasons.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import type { TelemetryEvents } from './telemetry.js';

/** Options of `new Runtime(options)`; every one has a default. */
export interface RuntimeOptions {
  /** pino logger for crash and supervisor reports (default: defaultLogger(): DSPEX_LOG_LEVEL, pretty on a terminal, no absolute paths). */
  logger?: Logger;
  /** Monotonic clock in ms, used for restart intensity periods (default performance.now). */
  clock?: () => number;
  scheduler?: SchedulerOptions;
  /** Mailbox length from which `mailbox_high_water` events fire, at each power of two (default 16384). */
  mailboxHighWater?: number;
}

/** Options of `rt.spawn(code, options)`. */
export interface SpawnOptions {
  /** Link the new process to this one before it runs (spawn_link). */
  link?: Pid;
  trapExit?: boolean;
  /** Register the process under this node-wide name. */
  name?: string;
  /** Shown in crash reports and process info, e.g. the module or child id. */
  label?: string;
}

/**
 * @internal Decides what happens to a message on its way (the testing kit's message faults): deliver, drop, deliver after a delay, or
 * crash: the receiver exits with `crash` as its reason when it comes to this message in its mailbox (at
 * once if it is waiting in a selective receive).
 */
export type Interceptor = (to: Pid, message: unknown) => 'deliver' | 'drop' | { delayMs: number } | { crash: ExitReason };

/** What `rt.processInfo(pid)` tells about a live process (Erlang's process_info/1). */
export interface ProcessInfo {
  pid: Pid;
  name: string | null;
  label: string | null;
  status: 'runnable' | 'waiting' | 'suspended' | 'exiting';
  mailboxLength: number;
  links: Pid[];
  trapExit: boolean;
}

const LABEL = new WeakMap<Process, string>();

/** The pseudo-process that stands for code outside any process (it never runs; messages to it are dropped). */
class RootProcess extends Process {
  override deliver(): void {}
}

/**
 * One node of processes: spawn, send, link, monitor, exit, names, timers, introspection and shutdown.
 * Create one per application (or per test) and call `shutdown()` when done.
 */
export class Runtime {
  /** Typed event bus: spawn, exit, crash_report, message_dropped, mailbox_high_water, internal_error, ... */
  readonly telemetry = new EventEmitter<TelemetryEvents>();
  /** Where crash and supervisor reports go. */
  readonly logger: Logger;
  /** Monotonic milliseconds (RuntimeOptions.clock). */
  readonly clock: () => number;
  /** Mailbox length from which `mailbox_high_water` telemetry fires (RuntimeOptions.mailboxHighWater). */
  readonly mailboxHighWater: number;
  /** @internal The run queue. */
  readonly scheduler: Scheduler;
  /** @internal Stands for callers outside any process: the `from` of exit signals sent by plain code. */
  readonly root: Process;
  /** @internal Set by the testing kit (faults.ts). */
  interceptor: Interceptor | null = null;
  /** @internal The process whose handler is running synchronously right now, if any. */
  current: Process | null = null;

  /** The process table: live processes in spawn order, linked through their prev/next fields. */
  private first: Process | null = null;
  private last: Process | null = null;
  private live = 0;
  private readonly names = new Map<string, Process>();
  private nextPid = 1;
  private nextRef = 1;
  private exitQueue: Process[] = [];
  private propagating = false;
  /** Pending sendAfter and delayed-delivery timers, cancelled by shutdown(). */
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(options: RuntimeOptions = {}) {
    this.logger = options.logger ?? defaultLogger();
    this.clock = options.clock ?? (() => performance.now());
    this.mailboxHighWater = options.mailboxHighWater ?? 16384;
    this.scheduler = new Scheduler(this.runSlice, options.scheduler);
    this.root = new RootProcess(this, 0, noop);
    this.root.flags = 0;
  }

  // --- Spawning ---

  /** Starts a process running `code`. The process runs later, from the run queue, never in this call. */
  spawn(code: ReceiveFn | ProcessBehavior, options?: SpawnOptions): Pid {
    if (typeof code !== 'function' && (typeof code !== 'object' || code === null || typeof code.receive !== 'function')) {
      throw new BadArgumentError('spawn expects a receive function or an object with a receive(message, self) method.');
    }
    const process = new Process(this, this.nextPid++, code);
    this.addToTable(process);
    if (options !== undefined) {
      if (options.name !== undefined) this.register(options.name, process);
      if (options.trapExit === true) process.trap = true;
      if (options.label !== undefined) LABEL.set(process, options.label);
      if (options.link !== undefined) {
        // spawn_link from a parent that is already dead: the new process gets the noproc exit signal.
        const parent = asProcess(options.link);
        if (parent.alive) {
          if (parent !== this.root) this.addLink(process, parent);
        } else {
          process.deliverExitSignal(parent, 'noproc', true);
        }
      }
      else process.flags |= TOP_LEVEL;
    } else {
      process.flags |= TOP_LEVEL;
    }
    this.scheduler.enqueue(process);
    if (this.telemetry.listenerCount('spawn') > 0) this.telemetry.emit('spawn', { pid: process, label: LABEL.get(process) ?? null });
    return process;
  }

  /** Runs one slice of a process: its init if it has not run, then up to `reductions` messages. */
  private readonly runSlice = (process: Process, reductions: number): number => {
    const code = process.code;
    this.current = process;
    try {
      if ((process.flags & NEEDS_INIT) !== 0) {
        process.flags &= ~NEEDS_INIT;
        if (typeof code !== 'function' && code.init !== undefined) {
          this.settle(process, code.init(process));
          return 1;
        }
      }
      let handled = 0;
      while (handled < reductions && process.mq !== null && process.head < process.mq.length) {
        const message = process.dequeue() as never;
        handled++;
        if ((process.flags & INJECTED) !== 0 && (message as unknown) instanceof InjectedCrash) {
          this.terminate(process, (message as InjectedCrash).reason, true);
          break;
        }
        const result = typeof code === 'function' ? code(message, process) : code.receive(message, process);
        if (result !== undefined && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
          this.settle(process, result);
          break;
        }
        if ((process.flags & DEAD) !== 0) break;
      }
      return handled;
    } catch (error) {
      this.terminate(process, error, true);
      return 1;
    } finally {
      this.current = null;
    }
  };

  /** Suspends a process on the promise its handler returned; it runs again once the promise settles. */
  private settle(process: Process, result: unknown): void {
    if (result === undefined || result === null || typeof (result as PromiseLike<unknown>).then !== 'function') return;
    process.flags |= SUSPENDED;
    (result as PromiseLike<unknown>).then(
      () => this.resume(process),
      (error: unknown) => {
        if ((process.flags & DEAD) === 0) this.terminate(process, error, true);
      },
    );
  }

  private resume(process: Process): void {
    if ((process.flags & DEAD) !== 0) return;
    process.flags &= ~SUSPENDED;
    if ((process.flags & QUEUED) === 0 && process.mailboxLength > 0) this.scheduler.enqueue(process);
  }

  // --- Messages ---

  /**
   * Sends `message` to `dest`. As in Erlang, a message to a dead pid is dropped: this returns false and a
   * `message_dropped` event fires. A name that is not registered throws NoProcError (Erlang's badarg).
   */
  send(dest: Dest, message: unknown): boolean {
    const target = dest instanceof Process ? dest : this.resolve(dest);
    if (target === undefined) throw new NoProcError(describeDest(dest), 'send');
    if ((target.flags & DEAD) !== 0) {
      if (this.telemetry.listenerCount('message_dropped') > 0) this.telemetry.emit('message_dropped', { to: target, message });
      return false;
    }
    if (this.interceptor !== null) return this.intercept(target, message);
    target.deliver(message);
    return true;
  }

  /** Like send, but a dead destination is a NoProcError instead of a silent drop. */
  sendChecked(dest: Dest, message: unknown): void {
    if (!this.send(dest, message)) throw new NoProcError(describeDest(dest), 'send');
  }

  private intercept(target: Process, message: unknown): boolean {
    const verdict = this.interceptor!(target, message);
    if (verdict === 'deliver') target.deliver(message);
    else if (typeof verdict === 'object' && 'crash' in verdict) this.injectCrash(target, verdict.crash);
    else if (verdict !== 'drop') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (target.alive) target.deliver(message);
      }, verdict.delayMs);
      this.timers.add(timer);
    }
    else if (this.telemetry.listenerCount('message_dropped') > 0) this.telemetry.emit('message_dropped', { to: target, message });
    return true;
  }

  private injectCrash(target: Process, reason: ExitReason): void {
    target.flags |= INJECTED;
    if (target.waiter !== null) this.terminate(target, reason, true);
    else target.deliver(new InjectedCrash(reason));
  }

  /** @internal The live process behind a destination, or undefined. */
  resolve(dest: Dest): Process | undefined {
    let target: Pid | undefined;
    if (dest instanceof Process) target = dest;
    else if (typeof dest === 'string') target = this.names.get(dest);
    else if (typeof dest === 'object' && dest !== null && 'via' in dest) target = dest.via.whereisName(dest.key);
    else throw new BadArgumentError(`not a destination: ${formatReason(dest)}; pass a pid, a registered name or { via, key }.`);
    if (target === undefined || !(target instanceof Process) || (target.flags & DEAD) !== 0) return undefined;
    return target;
  }

  /**
   * Sends `message` to `dest` after `ms` milliseconds (erlang:send_after). Returns a handle for cancelTimer.
   * The destination is resolved when the timer fires (a name then unregistered drops the message), and
   * `shutdown()` cancels every timer still pending, so none fires after it.
   */
  sendAfter(dest: Dest, message: unknown, ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const target = this.resolve(dest);
      if (target !== undefined) this.send(target, message);
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  /** Cancels a sendAfter timer; a no-op when it already fired. */
  cancelTimer(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** @internal */
  mailboxHighWaterReached(process: Process, length: number): void {
    if (this.telemetry.listenerCount('mailbox_high_water') > 0) this.telemetry.emit('mailbox_high_water', { pid: process, length });
  }

  // --- Links, monitors, exit signals ---

  /**
   * Links `a` to `b`, acting as `a`. When `b` is dead, `a` gets an exit signal `noproc` if it traps exits
   * (an Exit message), and otherwise this throws NoProcError, as OTP's link/1 raises noproc in its caller.
   */
  link(a: Pid, b: Pid): void {
    const pa = asProcess(a);
    const pb = asProcess(b);
    if (pa === pb || pa === this.root || pb === this.root) return;
    if (!pa.alive) return;
    if (!pb.alive) {
      if (!pa.trap) throw new NoProcError(String(pb), 'link');
      pa.deliverExitSignal(pb, 'noproc', true);
      return;
    }
    this.addLink(pa, pb);
  }

  private addLink(pa: Process, pb: Process): void {
    (pa.links ??= new Set()).add(pb);
    (pb.links ??= new Set()).add(pa);
  }

  /** Removes the link between `a` and `b`, if any (unlink/1). */
  unlink(a: Pid, b: Pid): void {
    const pa = asProcess(a);
    const pb = asProcess(b);
    pa.links?.delete(pb);
    pb.links?.delete(pa);
  }

  /** `watcher` monitors `dest`; a DOWN message arrives when it exits (at once, with 'noproc', if it is not alive). */
  monitor(watcher: Pid, dest: Dest): Ref {
    const owner = asProcess(watcher);
    const ref = this.makeRef();
    const target = this.resolve(dest);
    if (target === undefined) {
      owner.deliver(new Down(ref, dest instanceof Process ? dest : this.root, 'noproc'));
      return ref;
    }
    (target.watchers ??= new Map()).set(ref, owner);
    (owner.watching ??= new Map()).set(ref, target);
    return ref;
  }

  /**
   * Calls `hook(reason)` when `pid` exits: an exit hook for code outside processes (a pool failing the calls a
   * dead manager held, a resource closed with its owner). The hook runs inside the runtime's exit handling,
   * once, before linked processes get their exit signals handled; it must be quick and must not throw (a
   * throw is logged and emitted as `internal_error`). If `pid` is not alive, the hook runs on a microtask with
   * `'noproc'`, as a monitor of a dead process gets a DOWN with noproc. Returns a function that removes the
   * hook. Processes should use `self.monitor(pid)` instead, which gets a Down message in the mailbox.
   */
  onExit(pid: Pid, hook: (reason: ExitReason) => void): () => void {
    const target = asProcess(pid);
    if ((target.flags & DEAD) !== 0) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) this.runHook(hook, 'noproc', target);
      });
      return () => {
        cancelled = true;
      };
    }
    return this.watch(target, hook);
  }

  /** @internal Runtime-internal monitor: calls `onDown` when `target` exits. Returns a cancel function. */
  watch(target: Process, onDown: (reason: ExitReason, pid: Process) => void): () => void {
    const ref = this.makeRef();
    (target.watchers ??= new Map()).set(ref, onDown);
    return () => target.watchers?.delete(ref);
  }

  /** A new unique reference (make_ref/0). */
  makeRef(): Ref {
    return new Ref(this.nextRef++);
  }

  /** exit/2: sends an exit signal with `reason` from `from` (default: outside any process) to `pid`. */
  exit(pid: Pid, reason: ExitReason, from: Pid = this.root): void {
    const target = asProcess(pid);
    target.deliverExitSignal(asProcess(from), reason, false);
  }

  /**
   * @internal Ends a process with `reason`. `own` marks an exit of the process's own making (a crash or exit() in its
   * code), which is what gets a crash report when the reason is abnormal, as in proc_lib.
   */
  terminate(process: Process, reason: ExitReason, own: boolean): void {
    if ((process.flags & DEAD) !== 0) return;
    process.flags |= DEAD;
    process.exitReason = reason;
    if (process.name !== null) {
      this.names.delete(process.name);
      process.name = null;
    }
    if (own && !isNormalExit(reason)) this.crashReport(process, reason);
    if (this.propagating) {
      this.exitQueue.push(process);
      return;
    }
    this.propagating = true;
    try {
      // A worklist, not recursion: a chain of a million links must not overflow the stack. The first exit
      // stays off the list, so a lone exit (the common case) allocates nothing.
      this.propagateExit(process);
      for (let i = 0; i < this.exitQueue.length; i++) this.propagateExit(this.exitQueue[i]!);
    } finally {
      if (this.exitQueue.length > 0) this.exitQueue = [];
      this.propagating = false;
    }
  }

  private propagateExit(process: Process): void {
    const reason = process.exitReason;
    this.removeFromTable(process);
    const waiter = process.waiter;
    if (waiter !== null && waiter.timer !== undefined) clearTimeout(waiter.timer);
    process.waiter = null;
    process.mq = null;
    process.head = 0;
    if (process.watching !== null) {
      for (const [ref, target] of process.watching) target.watchers?.delete(ref);
      process.watching = null;
    }
    if (process.exitHooks !== null) {
      for (const hook of process.exitHooks) this.runHook(hook, reason, process);
      process.exitHooks = null;
    }
    if (process.links !== null) {
      const links = process.links;
      process.links = null;
      for (const linked of links) {
        linked.links?.delete(process);
        linked.deliverExitSignal(process, reason, true);
      }
    }
    if (process.watchers !== null) {
      const watchers = process.watchers;
      process.watchers = null;
      for (const [ref, watcher] of watchers) this.notifyDown(watcher, ref, process, reason);
    }
    process.abort?.abort(reason);
    if (this.telemetry.listenerCount('exit') > 0) this.telemetry.emit('exit', { pid: process, reason, label: LABEL.get(process) ?? null });
  }

  private notifyDown(watcher: MonitorWatcher, ref: Ref, process: Process, reason: ExitReason): void {
    if (typeof watcher === 'function') {
      this.runHook(() => watcher(reason, process), reason, process);
      return;
    }
    watcher.watching?.delete(ref);
    if (watcher.alive) watcher.deliver(new Down(ref, process, reason));
  }

  private runHook(hook: (reason: ExitReason) => void, reason: ExitReason, process: Process): void {
    try {
      hook(reason);
    } catch (error) {
      this.logger.error({ err: error, pid: String(process) }, 'runtime exit hook failed');
      if (this.telemetry.listenerCount('internal_error') > 0) this.telemetry.emit('internal_error', { error, pid: process });
    }
  }

  private crashReport(process: Process, reason: ExitReason): void {
    const label = LABEL.get(process) ?? null;
    this.logger.error(
      { crash_report: { pid: String(process), label, reason: reason instanceof Error ? undefined : formatReason(reason) }, err: reason instanceof Error ? reason : undefined },
      `process ${process}${label === null ? '' : ` (${label})`} crashed: ${formatReason(reason)}`,
    );
    if (this.telemetry.listenerCount('crash_report') > 0) this.telemetry.emit('crash_report', { pid: process, reason, label });
  }

  // --- Names ---

  /** register/2: a node-wide name for a live process. Names are freed when the process exits. */
  register(name: string, pid: Pid): void {
    if (typeof name !== 'string' || name.length === 0) throw new BadArgumentError('a registered name must be a non-empty string.');
    const process = asProcess(pid);
    if (!process.alive) throw new NoProcError(String(pid), 'register');
    const holder = this.names.get(name);
    if (holder !== undefined && holder !== process) throw new NameTakenError(name, String(holder));
    if (process.name !== null && process.name !== name) {
      throw new BadArgumentError(`${process} is already registered as ${process.name}; a process has at most one name.`);
    }
    this.names.set(name, process);
    process.name = name;
  }

  /** Frees a registered name; NoProcError when it is not registered. */
  unregister(name: string): void {
    const process = this.names.get(name);
    if (process === undefined) throw new NoProcError(name, 'unregister');
    this.names.delete(name);
    process.name = null;
  }

  /** The pid registered under `name`, or undefined. */
  whereis(name: string): Pid | undefined {
    return this.names.get(name);
  }

  /** Every registered name. */
  registered(): string[] {
    return [...this.names.keys()];
  }

  // --- Introspection ---

  /** Whether `pid` is a live process of this runtime. */
  isAlive(pid: Pid): boolean {
    return pid instanceof Process && pid.alive;
  }

  /** Live processes right now. */
  get processCount(): number {
    return this.live;
  }

  /** Live processes in spawn order. */
  processes(): Pid[] {
    const all: Process[] = [];
    for (let p = this.first; p !== null; p = p.next) all.push(p);
    return all;
  }

  private addToTable(process: Process): void {
    process.prev = this.last;
    if (this.last === null) this.first = process;
    else this.last.next = process;
    this.last = process;
    this.live++;
  }

  private removeFromTable(process: Process): void {
    if (process.prev !== null) process.prev.next = process.next;
    else if (this.first === process) this.first = process.next;
    else return; // never in the table: the root pseudo-process
    if (process.next !== null) process.next.prev = process.prev;
    else this.last = process.prev;
    process.prev = null;
    process.next = null;
    this.live--;
  }

  /** A snapshot of a live process (process_info/1), or undefined when it is dead. */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const process = asProcess(pid);
    if (!process.alive) return undefined;
    const flags = process.flags;
    return {
      pid: process,
      name: process.name,
      label: LABEL.get(process) ?? null,
      status: (flags & SUSPENDED) !== 0 ? 'suspended' : (flags & QUEUED) !== 0 ? 'runnable' : 'waiting',
      mailboxLength: process.mailboxLength,
      links: process.links === null ? [] : [...process.links],
      trapExit: process.trap,
    };
  }

  /** Resolves once every runnable process has run and the run queue is empty. */
  whenIdle(): Promise<void> {
    return this.scheduler.whenIdle();
  }

  /**
   * Stops everything: sends `shutdown` to each top-level process (newest first), waits for them to exit up
   * to `timeoutMs`, then kills what is left. Supervisors stop their children in order on the way. Every
   * runtime timer (sendAfter, GenServer timeouts, receive timeouts) is cancelled, so none fires afterwards.
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    const tops: Process[] = [];
    for (let p = this.last; p !== null; p = p.prev) if ((p.flags & TOP_LEVEL) !== 0) tops.push(p);
    const downs = tops.map((p) => new Promise<void>((resolve) => (p.alive ? this.watch(p, () => resolve()) : resolve())));
    for (const p of tops) this.exit(p, 'shutdown');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(downs), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const p of this.processes().reverse()) this.exit(p, 'kill');
    for (const pending of this.timers) clearTimeout(pending);
    this.timers.clear();
    // The kills above may have queued one last tick (it finds the processes dead): let it run, so nothing of
    // this runtime is left in the event loop once shutdown resolves. Manual scheduling runs ticks on drain().
    if (!this.scheduler.isManual) await this.scheduler.whenIdle();
  }
}

/** @internal The process behind a pid; BadArgumentError for anything else. */
export function asProcess(pid: Pid): Process {
  if (!(pid instanceof Process)) throw new BadArgumentError(`not a pid: ${formatReason(pid)}`);
  return pid;
}

/** @internal A destination as error messages print it. */
export function describeDest(dest: Dest): string {
  if (typeof dest === 'string') return dest;
  if (dest instanceof Process) return dest.toString();
  return `{ via: ${formatReason((dest as { key: unknown }).key)} }`;
}

function noop(): void {}

export type { ProcessContext };
