// The example workers of an evaluation: at most `concurrency` tasks of the TaskSupervisor, each running
// examples one after another until none is left. A task per example cost more client CPU than the rest of an
// example (spawn, supervisor call, exit, monitor); a worker is replaced only when it dies under an example:
// killed when the example ran past its timeout, or crashed. Every example taken ends as exactly one outcome.

import { Task, TaskSupervisor, type Caller, type Dest, type TaskOutcome } from '@dspex/runtime';
import type { ExampleOutcome } from './run_example.js';

export interface WorkerPlan {
  caller: Caller;
  supervisor: Dest;
  total: number;
  concurrency: number;
  timeoutMs: number;
  /** Runs example `index`; never rejects. `signal` aborts when the worker running it is stopped. */
  run: (index: number, signal: AbortSignal) => Promise<ExampleOutcome>;
  /** The outcome of an example whose worker died under it: reason 'timeout', or the worker's exit reason. */
  lost: (index: number, reason: unknown) => ExampleOutcome & { ok: false };
}

interface Worker {
  task: Task<void> | undefined;
  /** Aborted with the reason the worker was stopped; the example it runs sees it. */
  readonly controller: AbortController;
  /** The example it runs, if any. */
  current: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  dead: boolean;
}

export class ExampleWorkers {
  private next = 0;
  /** Outcomes the consumer has taken: no worker starts an example while `concurrency` are outstanding. */
  private consumed = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private readonly ready: ExampleOutcome[] = [];
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  private readonly live = new Set<Worker>();
  private stopping = false;

  constructor(private readonly plan: WorkerPlan) {}

  /** The outcomes in finishing order, one per example. Ending the iteration early stops the workers. */
  async *outcomes(): AsyncGenerator<ExampleOutcome, void, undefined> {
    try {
      for (let i = Math.min(this.plan.concurrency, this.plan.total); i > 0; i--) await this.spawn();
      for (let delivered = 0; delivered < this.plan.total; ) {
        if (this.failure !== undefined) throw this.failure.error;
        const outcome = this.ready.shift();
        if (outcome !== undefined) {
          delivered++;
          yield outcome;
          // As Task's async stream: the next example starts once the consumer took this one's outcome.
          this.consumed++;
          this.roomWaiters.shift()?.();
        } else if (this.stopping && this.live.size === 0) {
          return; // stopped with no example running: no other outcome will come
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      this.stop(undefined);
      // Killed and gone before the evaluation returns, so the supervisor lists none of them afterwards.
      await Promise.all([...this.live].map((worker) => this.kill(worker)));
    }
  }

  /** No example starts any more; the running ones are aborted with `reason`. */
  stop(reason: unknown): void {
    this.stopping = true;
    for (const resume of this.roomWaiters.splice(0)) resume();
    for (const worker of this.live) if (!worker.controller.signal.aborted) worker.controller.abort(reason);
  }

  private take(): number | undefined {
    return this.stopping || this.next >= this.plan.total ? undefined : this.next++;
  }

  private deliver(outcome: ExampleOutcome): void {
    this.ready.push(outcome);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async spawn(): Promise<void> {
    const worker: Worker = { task: undefined, controller: new AbortController(), current: undefined, timer: undefined, dead: false };
    this.live.add(worker);
    try {
      worker.task = await TaskSupervisor.asyncNolink(this.plan.caller, this.plan.supervisor, (self) => this.work(worker, self.signal), { shutdown: 'brutal_kill' });
    } catch (error) {
      this.live.delete(worker);
      throw error;
    }
    void Task.yield(worker.task, Infinity).then((outcome) => this.ended(worker, outcome ?? { exit: 'killed' }));
  }

  private async work(worker: Worker, processSignal: AbortSignal): Promise<void> {
    const { timeoutMs } = this.plan;
    for (;;) {
      while (!this.stopping && this.next - this.consumed >= this.plan.concurrency) await new Promise<void>((resume) => this.roomWaiters.push(resume));
      const index = this.take();
      if (index === undefined || worker.dead || processSignal.aborted) return;
      worker.current = index;
      if (timeoutMs !== Infinity) worker.timer = setTimeout(() => this.timedOut(worker), timeoutMs);
      const outcome = await this.plan.run(index, worker.controller.signal);
      if (worker.dead || processSignal.aborted) return;
      clearTimeout(worker.timer);
      worker.current = undefined;
      this.deliver(outcome);
    }
  }

  /** The example ran past its timeout: its worker is killed (its work aborted) and another takes its place. */
  private timedOut(worker: Worker): void {
    if (worker.dead || worker.current === undefined) return;
    this.lose(worker, 'timeout');
    void this.kill(worker);
  }

  /** The worker's task ended: normally when no example was left; otherwise it died, maybe under an example. */
  private ended(worker: Worker, outcome: TaskOutcome<void>): void {
    if (worker.dead) return;
    if (worker.current !== undefined) this.lose(worker, 'exit' in outcome ? outcome.exit : 'normal');
    else this.retire(worker);
  }

  /** The example `worker` runs ends as lost; the worker is retired and replaced while work is left. */
  private lose(worker: Worker, reason: unknown): void {
    const outcome = this.plan.lost(worker.current!, reason);
    this.retire(worker);
    if (!worker.controller.signal.aborted) worker.controller.abort(outcome.error);
    this.deliver(outcome);
    if (!this.stopping && this.next < this.plan.total) {
      this.spawn().catch((error: unknown) => {
        this.failure = { error };
        this.wake?.();
      });
    }
  }

  private retire(worker: Worker): void {
    worker.dead = true;
    clearTimeout(worker.timer);
    this.live.delete(worker);
    if (this.stopping && this.live.size === 0) this.deliverNothing();
  }

  /** Wakes the consumer to see that the workers are stopped and gone. */
  private deliverNothing(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async kill(worker: Worker): Promise<void> {
    this.retire(worker);
    if (worker.task !== undefined) await Task.shutdown(worker.task, 'brutal_kill');
  }
}
