// A push-to-pull queue of stream chunks: the client's job pushes chunks as the provider sends them, the
// caller's `for await` pulls them. Ends with end() or fail(error), after the chunks already queued.

import type { LMStreamChunk } from '../primitives/lm.js';

export interface ChunkSink {
  push(chunk: LMStreamChunk): void;
}

export class ChunkChannel implements ChunkSink, AsyncIterable<LMStreamChunk> {
  private readonly queue: LMStreamChunk[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private error: unknown;

  push(chunk: LMStreamChunk): void {
    if (this.ended) return;
    this.queue.push(chunk);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error ?? new Error('stream failed');
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LMStreamChunk> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
