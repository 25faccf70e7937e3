// A push-to-pull queue: a producer pushes items as they come (an LM client's stream chunks, a running program's
// stream events), the consumer's `for await` pulls them. Ends with end() or fail(error), after the items already
// queued.

/** A push-to-pull async queue; iterate it once. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failed = false;
  private error: unknown;

  /** Queues an item; ignored once the queue has ended. */
  push(item: T): void {
    if (this.ended) return;
    this.queue.push(item);
    this.wake();
  }

  /** Ends the queue: the consumer gets what is queued, then its loop ends. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Ends the queue with an error: the consumer gets what is queued, then `error` is thrown into its loop. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failed = true;
    this.error = error;
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.queue.length > 0) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.failed) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
