// The Node end of a streaming call: an async iterator over the chunks a Python generator yields, with
// credit-based backpressure. Python may run at most `window` chunks ahead of the consumer; the buffer here
// never holds more than that.

import { CallCancelled } from './errors.js';
import type { Job } from './job.js';

/** The result of `pool.stream()`: an async iterator of the command's chunks (credit-based, at most `window` ahead), with `result` for its return value; leaving the loop early cancels the command in Python. */
export class CallStream<T = unknown> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((error: Error) => void) | null = null;
  private done = false;
  private failure: Error | null = null;
  private consumedSinceGrant = 0;
  /** The value the Python command returned after its last chunk. */
  readonly result: Promise<unknown>;

  constructor(
    private readonly job: Job,
    private readonly window: number,
    result: Promise<unknown>,
  ) {
    job.onChunk = (value) => this.push(value as T);
    this.result = result.then(
      (value) => {
        this.done = true;
        this.wake();
        return value;
      },
      (error: Error) => {
        this.failure = error;
        this.wake();
        throw error;
      },
    );
    // The iterator reports the failure; an unobserved `result` must not crash the process.
    this.result.catch(() => undefined);
  }

  /** Chunks received and not yet consumed (at most the window). */
  get buffered(): number {
    return this.buffer.length;
  }

  private push(value: T): void {
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      this.failWaiting = null;
      this.consumed();
      resolve({ value, done: false });
      return;
    }
    this.buffer.push(value);
  }

  private consumed(): void {
    this.consumedSinceGrant++;
    if (this.consumedSinceGrant >= Math.max(1, Math.floor(this.window / 2))) {
      const n = this.consumedSinceGrant;
      this.consumedSinceGrant = 0;
      this.job.grantCredits?.(n);
    }
  }

  private wake(): void {
    if (this.waiting === null) return;
    if (this.failure !== null && this.buffer.length === 0) {
      const fail = this.failWaiting!;
      this.waiting = null;
      this.failWaiting = null;
      fail(this.failure);
    } else if (this.done && this.buffer.length === 0) {
      const resolve = this.waiting;
      this.waiting = null;
      this.failWaiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      this.consumed();
      return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  /** Stopping early (break in for-await) cancels the command in Python. */
  return(): Promise<IteratorResult<T>> {
    if (!this.done && this.failure === null) {
      this.job.cancelInWorker?.();
      this.job.reject(new CallCancelled(this.job.spec.command));
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next(), return: () => this.return() };
  }
}
