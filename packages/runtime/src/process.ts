// A process: a pid, a FIFO mailbox with selective receive, links, monitors and exit handling.
// The same object is the process's pid (opaque to users) and the context its handler gets, so an idle
// process costs one object plus what it lazily allocates. Scheduling lives in scheduler.ts.

import { BadArgumentError, NoProcError } from './errors.js';
import { Down, Exit, Ref, TIMEOUT, type ExitReason, type Timeout } from './reasons.js';
import type { Runtime } from './runtime.js';

/** A process identifier. Opaque: print it, compare it, send to it. */
export interface Pid {
  readonly id: number;
  toString(): string;
}

/** Where a message can go: a pid, a registered name, or a via-name resolved through a registry. */
export type Dest = Pid | string | ViaName;

/** A name resolved through a registry (Elixir's `{:via, Registry, {reg, key}}`). */
export interface ViaName {
  /** The registry: resolves keys, and registers them for StartOptions.name (Registry does both). */
  readonly via: { whereisName(key: unknown): Pid | undefined; registerName?(key: unknown, pid: Pid): boolean };
  readonly key: unknown;
}

/** What a process's code can do: the context passed to every handler. */
export interface ProcessContext {
  readonly pid: Pid;
  readonly runtime: Runtime;
  /** process_flag(trap_exit): exit signals arrive as `Exit` messages instead of killing the process. */
  trapExit: boolean;
  /** Aborted when the process exits, so async work started by a handler can stop with it. */
  readonly signal: AbortSignal;
  send(dest: Dest, message: unknown): boolean;
  /**
   * Links this process and `pid`. A dead `pid` sends this process an exit signal `noproc` when it traps
   * exits (an `Exit` message); otherwise link throws NoProcError, as OTP's link/1 raises noproc.
   */
  link(pid: Pid): void;
  unlink(pid: Pid): void;
  monitor(dest: Dest): Ref;
  /**
   * Removes a monitor. Returns true, as OTP's demonitor/1 does; with `info: true`, whether the monitor was
   * still active (false: unknown ref, or its DOWN already sent). `flush: true` also drops a queued DOWN.
   */
  demonitor(ref: Ref, options?: { flush?: boolean; info?: boolean }): boolean;
  /** Exits this process now with `reason`; code after it in the handler runs but can no longer act. */
  exit(reason?: ExitReason): void;
  /**
   * Selective receive: the first message in the mailbox for which `match` is true, waiting for one if none
   * is there. With `timeoutMs`, resolves to TIMEOUT when nothing matched in time (Erlang's `after`).
   */
  receive<T = unknown>(match?: (message: unknown) => boolean): Promise<T>;
  receive<T = unknown>(match: ((message: unknown) => boolean) | undefined, timeoutMs: number): Promise<T | Timeout>;
}

/** The code of a raw process: a message handler, optionally with an init step run before any message. */
export type ReceiveFn = (message: never, self: ProcessContext) => unknown;
/** A raw process with an init step: `rt.spawn({ init(self), receive(message, self) })`. */
export interface ProcessBehavior {
  init?(self: ProcessContext): unknown;
  receive(message: never, self: ProcessContext): unknown;
}

/** @internal Watcher of a monitor: a process (gets a DOWN message) or a function (runtime-internal). */
export type MonitorWatcher = Process | ((reason: ExitReason, pid: Process) => void);

interface ReceiveWaiter {
  match: ((message: unknown) => boolean) | undefined;
  resolve: (message: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** @internal Process state flags. */
export const QUEUED = 1; // in the run queue
/** @internal */
export const SUSPENDED = 2; // awaiting an async handler or init
/** @internal */
export const NEEDS_INIT = 4; // init has not run yet
/** @internal */
export const DEAD = 8;
/** @internal */
export const RUNNING = 16; // inside a slice, its handler on the stack
/** @internal */
export const INJECTED = 32; // holds an InjectedCrash: messages are checked for one as they are taken
/** @internal */
export const TOP_LEVEL = 64; // spawned without a link: shutdown() stops these first, newest first
/** @internal */
export const TRAP_EXIT = 128; // process_flag(trap_exit, true)

/**
 * @internal Put in a mailbox by the testing kit (crashOnNth) in place of a message: the process exits with `reason`,
 * as if its own code had called exit(reason), when it takes this from its mailbox. Never seen by user code.
 */
export class InjectedCrash {
  constructor(readonly reason: ExitReason) {}
}

const inspect = Symbol.for('nodejs.util.inspect.custom');

/**
 * The parts of a process that many processes never use, in one object made on first use: an idle process
 * is then 11 fields (112 bytes on 64-bit V8) instead of 17, which skynet's million processes feel in GC.
 */
class ProcessExtras {
  links: Set<Process> | null = null;
  watchers: Map<Ref, MonitorWatcher> | null = null;
  watching: Map<Ref, Process> | null = null;
  name: string | null = null;
  abort: AbortController | null = null;
  exitHooks: Array<(reason: ExitReason) => void> | null = null;
}

/**
 * @internal The process object: its pid, its mailbox and the context its handler gets. Users hold it only as
 * an opaque Pid or a ProcessContext.
 */
export class Process implements ProcessContext {
  flags = NEEDS_INIT;
  /** Mailbox: a queue in an array from `head`; null until the first message. */
  mq: unknown[] | null = null;
  head = 0;
  waiter: ReceiveWaiter | null = null;
  private extras: ProcessExtras | null = null;
  exitReason: ExitReason = undefined;
  /**
   * Neighbours in the runtime's table of live processes, a list in spawn order. Intrusive, because a Map or
   * Set entry per process costs more memory and hashing than these two fields (skynet spawns a million).
   */
  prev: Process | null = null;
  next: Process | null = null;

  constructor(
    readonly runtime: Runtime,
    readonly id: number,
    readonly code: ReceiveFn | ProcessBehavior,
  ) {}

  get pid(): Pid {
    return this;
  }

  get trapExit(): boolean {
    return this.trap;
  }
  set trapExit(on: boolean) {
    this.trap = on;
  }

  get trap(): boolean {
    return (this.flags & TRAP_EXIT) !== 0;
  }
  set trap(on: boolean) {
    if (on) this.flags |= TRAP_EXIT;
    else this.flags &= ~TRAP_EXIT;
  }

  // Accessors over ProcessExtras: reading never allocates, and neither does clearing what was never set.
  private more(): ProcessExtras {
    return (this.extras ??= new ProcessExtras());
  }

  get links(): Set<Process> | null {
    return this.extras === null ? null : this.extras.links;
  }
  set links(value: Set<Process> | null) {
    if (value !== null || this.extras !== null) this.more().links = value;
  }

  /** Monitors others hold on this process: ref -> watcher. */
  get watchers(): Map<Ref, MonitorWatcher> | null {
    return this.extras === null ? null : this.extras.watchers;
  }
  set watchers(value: Map<Ref, MonitorWatcher> | null) {
    if (value !== null || this.extras !== null) this.more().watchers = value;
  }

  /** Monitors this process holds: ref -> monitored process. */
  get watching(): Map<Ref, Process> | null {
    return this.extras === null ? null : this.extras.watching;
  }
  set watching(value: Map<Ref, Process> | null) {
    if (value !== null || this.extras !== null) this.more().watching = value;
  }

  get name(): string | null {
    return this.extras === null ? null : this.extras.name;
  }
  set name(value: string | null) {
    if (value !== null || this.extras !== null) this.more().name = value;
  }

  get abort(): AbortController | null {
    return this.extras === null ? null : this.extras.abort;
  }
  set abort(value: AbortController | null) {
    if (value !== null || this.extras !== null) this.more().abort = value;
  }

  /** Runtime-internal callbacks run at exit (registry cleanup and the like). */
  get exitHooks(): Array<(reason: ExitReason) => void> | null {
    return this.extras === null ? null : this.extras.exitHooks;
  }
  set exitHooks(value: Array<(reason: ExitReason) => void> | null) {
    if (value !== null || this.extras !== null) this.more().exitHooks = value;
  }

  get alive(): boolean {
    return (this.flags & DEAD) === 0;
  }

  get signal(): AbortSignal {
    let abort = this.abort;
    if (abort === null) {
      abort = this.abort = new AbortController();
      if (!this.alive) abort.abort(this.exitReason);
    }
    return abort.signal;
  }

  get mailboxLength(): number {
    return this.mq === null ? 0 : this.mq.length - this.head;
  }

  toString(): string {
    return `<0.${this.id}.0>`;
  }
  [inspect](): string {
    return this.toString();
  }
  toJSON(): string {
    return this.toString();
  }

  // --- Context API: thin wrappers over the runtime, acting as this process. ---

  send(dest: Dest, message: unknown): boolean {
    if (!this.alive) return false;
    return this.runtime.send(dest, message);
  }

  link(pid: Pid): void {
    if (!this.alive) return;
    this.runtime.link(this, pid);
  }

  unlink(pid: Pid): void {
    this.runtime.unlink(this, pid);
  }

  monitor(dest: Dest): Ref {
    return this.runtime.monitor(this, dest);
  }

  demonitor(ref: Ref, options?: { flush?: boolean; info?: boolean }): boolean {
    const target = this.watching?.get(ref);
    let wasActive = false;
    if (target !== undefined) {
      this.watching!.delete(ref);
      target.watchers?.delete(ref);
      wasActive = true;
    }
    if (options?.flush === true) flushMessages(this, (m) => m instanceof Down && m.ref === ref);
    return options?.info === true ? wasActive : true;
  }

  exit(reason: ExitReason = 'normal'): void {
    if (this.alive) this.runtime.terminate(this, reason, true);
  }

  receive<T = unknown>(match?: (message: unknown) => boolean, timeoutMs?: number): Promise<T | Timeout> {
    if (this.waiter !== null) {
      return Promise.reject(new BadArgumentError(`${this} is already waiting in receive; await one receive at a time.`));
    }
    if (!this.alive) return Promise.reject(new NoProcError(this.toString(), 'receive'));
    const found = this.takeMatching(match);
    // Exited on an injected crash: like any process killed in receive, the pending receive never settles.
    if (found === CRASHED) return new Promise<never>(() => {});
    if (found !== NOT_FOUND) return Promise.resolve(found as T);
    if (timeoutMs === 0) return Promise.resolve(TIMEOUT);
    return new Promise<T | Timeout>((resolve) => {
      const waiter: ReceiveWaiter = { match, resolve: resolve as (m: unknown) => void, timer: undefined };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          if (this.waiter === waiter) this.waiter = null;
          resolve(TIMEOUT);
        }, timeoutMs);
      }
      this.waiter = waiter;
    });
  }

  // --- Mailbox internals ---

  /** Puts a message in the mailbox, or hands it straight to a waiting selective receive. */
  deliver(message: unknown): void {
    const waiter = this.waiter;
    if (waiter !== null && (waiter.match === undefined || waiter.match(message))) {
      this.waiter = null;
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.resolve(message);
      return;
    }
    let mq = this.mq;
    if (mq === null) mq = this.mq = [];
    const length = mq.push(message) - this.head;
    if (length >= this.runtime.mailboxHighWater && (length & (length - 1)) === 0) {
      this.runtime.mailboxHighWaterReached(this, length);
    }
    if ((this.flags & (QUEUED | SUSPENDED | RUNNING | NEEDS_INIT)) === 0) this.runtime.scheduler.enqueue(this);
  }

  /** Takes the next message in FIFO order. The caller checks mailboxLength first. */
  dequeue(): unknown {
    const mq = this.mq!;
    const message = mq[this.head];
    mq[this.head++] = undefined;
    if (this.head === mq.length) {
      // Emptied. Popping keeps a small backing store for the next message; `length = 0` would free it and
      // the next push would allocate again, a cost per message for a process that gets one at a time.
      if (mq.length > 16) mq.length = 0;
      else while (mq.length > 0) mq.pop();
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= mq.length) {
      // Trims in place; splice would allocate an array of the removed slots.
      mq.copyWithin(0, this.head);
      mq.length -= this.head;
      this.head = 0;
    }
    return message;
  }

  private takeMatching(match: ((message: unknown) => boolean) | undefined): unknown {
    const mq = this.mq;
    if (mq === null || this.head === mq.length) return NOT_FOUND;
    if ((this.flags & INJECTED) !== 0) return this.takeMatchingOrCrash(match);
    if (match === undefined) return this.dequeue();
    for (let i = this.head; i < mq.length; i++) {
      const message = mq[i];
      if (match(message)) {
        if (i === this.head) return this.dequeue();
        mq.splice(i, 1);
        return message;
      }
    }
    return NOT_FOUND;
  }

  /** takeMatching for a process with an injected crash queued: reaching it before a match ends the process. */
  private takeMatchingOrCrash(match: ((message: unknown) => boolean) | undefined): unknown {
    const mq = this.mq!;
    for (let i = this.head; i < mq.length; i++) {
      const message = mq[i];
      if (message instanceof InjectedCrash) {
        this.runtime.terminate(this, message.reason, true);
        return CRASHED;
      }
      if (match === undefined || match(message)) {
        if (i === this.head) return this.dequeue();
        mq.splice(i, 1);
        return message;
      }
    }
    return NOT_FOUND;
  }

  /** @internal */
  addExitHook(hook: (reason: ExitReason) => void): void {
    (this.exitHooks ??= []).push(hook);
  }

  /** @internal */
  removeExitHook(hook: (reason: ExitReason) => void): void {
    const hooks = this.exitHooks;
    if (hooks === null) return;
    const at = hooks.indexOf(hook);
    if (at >= 0) hooks.splice(at, 1);
  }

  /** Signals that reach this process by exit: as a message when trapping, otherwise by dying. */
  deliverExitSignal(from: Process, reason: ExitReason, viaLink: boolean): void {
    if (!this.alive) return;
    if (reason === 'kill' && !viaLink) {
      this.runtime.terminate(this, 'killed', false);
    } else if (this.trap) {
      this.deliver(new Exit(from, reason));
    } else if (reason !== 'normal' || (from === this && !viaLink)) {
      this.runtime.terminate(this, reason, false);
    }
  }
}

/**
 * @internal Removes from `process`'s mailbox the messages `match` accepts, which a runtime module knows its
 * owner will never receive (a TaskReply and DOWN of a task already answered, the EXIT of a child already shut
 * down): the one path by which code other than the process's own receive touches its mailbox.
 */
export function flushMessages(process: Process, match: (message: unknown) => boolean): void {
  const mq = process.mq;
  if (mq === null) return;
  process.mq = mq.slice(process.head).filter((m) => !match(m));
  process.head = 0;
}

const NOT_FOUND = Symbol('not-found');
const CRASHED = Symbol('crashed');

/** Whether `value` is a pid of a runtime (dead or alive). */
export function isPid(value: unknown): value is Pid {
  return value instanceof Process;
}
