// The run queue. Processes with messages wait here; each gets a slice of at most `reductionsPerSlice`
// messages, and a tick runs slices until its time budget is spent, then yields to the event loop with
// setImmediate so timers and I/O run between ticks. Nothing runs a mailbox in the sender's call stack.
//
// Ticks run in the async context of the module's loading (the root context), never in the context of whoever
// happened to schedule the tick: otherwise a process would see one caller's AsyncLocalStorage values (a
// settings scope, the active trace span) while handling another caller's message.

import { AsyncLocalStorage } from 'node:async_hooks';
import { DEAD, NEEDS_INIT, QUEUED, RUNNING, SUSPENDED, type Process } from './process.js';

/** How the run queue schedules processes (`new Runtime({ scheduler })`); the defaults suit services. */
export interface SchedulerOptions {
  /** Messages one process may handle before the next process gets its turn (default 64). */
  reductionsPerSlice?: number;
  /** Milliseconds a tick may run before yielding to the event loop (default 2). */
  tickBudgetMs?: number;
  /**
   * Picks which runnable process goes next, for deterministic interleaving tests. Receives the number of
   * runnable processes and returns an index among them; the default is FIFO (index 0).
   */
  pick?: (runnable: number) => number;
  /** When true, ticks run only when `drain()` is called (manual scheduling for tests). */
  manual?: boolean;
}

type RunSlice = (process: Process, reductions: number) => number;

/** Runs a function in the root async context (taken when this module loads): no caller's context leaks in. */
const inRootContext: <R>(fn: () => R) => R = AsyncLocalStorage.snapshot();

/** @internal The run queue of one Runtime. */
export class Scheduler {
  private queue: Process[] = [];
  private qhead = 0;
  /** A tick is running or will run: enqueue() need not schedule one. */
  private scheduled = false;
  /** A setImmediate for a tick is outstanding; never more than one, or ticks would pile up between yields. */
  private immediatePending = false;
  private readonly reductionsPerSlice: number;
  private readonly tickBudgetMs: number;
  private readonly pick: ((runnable: number) => number) | undefined;
  private readonly manual: boolean;
  private idleWaiters: Array<() => void> = [];
  /** Longest tick so far, in ms: how long the event loop was blocked by message passing. */
  maxTickMs = 0;

  constructor(
    private readonly runSlice: RunSlice,
    options: SchedulerOptions = {},
  ) {
    this.reductionsPerSlice = options.reductionsPerSlice ?? 64;
    this.tickBudgetMs = options.tickBudgetMs ?? 2;
    this.pick = options.pick;
    this.manual = options.manual ?? false;
  }

  get runnable(): number {
    return this.queue.length - this.qhead;
  }

  enqueue(process: Process): void {
    process.flags |= QUEUED;
    this.queue.push(process);
    if (!this.scheduled && !this.manual) this.scheduleTick();
  }

  private scheduleTick(): void {
    this.scheduled = true;
    if (!this.immediatePending) {
      this.immediatePending = true;
      setImmediate(this.onImmediate);
    }
  }

  private readonly onImmediate = (): void => {
    this.immediatePending = false;
    inRootContext(this.tick);
  };

  private readonly tick = (): void => {
    // Processes enqueued while this tick runs are this tick's (or the next one's) to run: the flag stays set
    // so they schedule nothing, and the tick schedules at most one successor at its end.
    this.scheduled = true;
    const started = performance.now();
    const deadline = started + this.tickBudgetMs;
    // Reductions are messages handled (a slice counts at least one). The clock is read at checkpoints spaced
    // by the pace so far, about an eighth of the budget apart (at most 256 reductions), so slow handlers
    // cannot carry a tick far past its budget and fast ones do not pay for reading the clock.
    const lookAheadMs = this.tickBudgetMs / 8;
    let reductions = 0;
    let checkpoint = 16;
    try {
      while (this.qhead < this.queue.length) {
        reductions += this.runNext();
        if (reductions >= checkpoint) {
          const now = performance.now();
          if (now >= deadline) break;
          const step = Math.floor((lookAheadMs * reductions) / (now - started));
          checkpoint = reductions + (step > 256 ? 256 : step < 1 ? 1 : step);
        }
      }
    } finally {
      const elapsed = performance.now() - started;
      if (elapsed > this.maxTickMs) this.maxTickMs = elapsed;
      if (this.qhead < this.queue.length) {
        if (this.manual) this.scheduled = false;
        else this.scheduleTick();
      } else {
        this.scheduled = false;
        this.queue.length = 0;
        this.qhead = 0;
        this.notifyIdle();
      }
    }
  };

  /** Runs the next process's slice; returns the reductions it used. */
  private runNext(): number {
    let process: Process;
    if (this.pick === undefined) {
      process = this.queue[this.qhead]!;
      this.queue[this.qhead++] = undefined as unknown as Process;
      if (this.qhead > 4096 && this.qhead * 2 > this.queue.length) {
        // copyWithin and a shorter length trim in place; splice would allocate an array of what it removes.
        this.queue.copyWithin(0, this.qhead);
        this.queue.length -= this.qhead;
        this.qhead = 0;
      }
    } else {
      const at = this.qhead + (this.pick(this.queue.length - this.qhead) % (this.queue.length - this.qhead));
      process = this.queue[at]!;
      this.queue.splice(at, 1);
    }
    process.flags &= ~QUEUED;
    if ((process.flags & DEAD) !== 0) return 1;
    process.flags |= RUNNING;
    const used = this.runSlice(process, this.reductionsPerSlice);
    process.flags &= ~RUNNING;
    if ((process.flags & (DEAD | SUSPENDED | QUEUED)) === 0 && ((process.flags & NEEDS_INIT) !== 0 || process.mailboxLength > 0)) {
      this.enqueue(process);
    }
    return used > 0 ? used : 1;
  }

  /**
   * Runs ticks until no process is runnable and the microtasks they started have settled. For manual
   * scheduling and for tests that need "everything sent so far has been handled".
   */
  async drain(maxTicks = 1_000_000): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      if (this.qhead < this.queue.length) {
        inRootContext(this.tick);
      }
      // Let promise continuations (async handlers) settle and timers of zero delay fire.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.qhead >= this.queue.length) return;
    }
  }

  /** True when ticks run only on drain() (manual scheduling). */
  get isManual(): boolean {
    return this.manual;
  }

  /** Resolves the next time the run queue empties. */
  whenIdle(): Promise<void> {
    if (this.qhead >= this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

