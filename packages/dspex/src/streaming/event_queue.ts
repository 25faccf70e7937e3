// A push-to-pull queue of stream events: the running program pushes, the caller's `for await` pulls. Ends with
// end() or fail(error), after the events already queued.

export class EventQueue<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private failed = false;
  private error: unknown;

  push(event: T): void {
    if (this.ended) return;
    this.queue.push(event);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

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
