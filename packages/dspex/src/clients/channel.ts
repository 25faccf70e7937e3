// The channel of a streamed LM call: the client's job pushes chunks as the provider sends them, the caller's
// `for await` pulls them (an AsyncQueue of chunks).

import type { LMStreamChunk } from '../primitives/lm.js';
import { AsyncQueue } from '../utils/async_queue.js';

/** Where a streaming job writes its chunks. */
export interface ChunkSink {
  push(chunk: LMStreamChunk): void;
}

/** The queue between a streaming LM job and its caller. `fail()` without an error ends it with "stream failed". */
export class ChunkChannel extends AsyncQueue<LMStreamChunk> implements ChunkSink {
  override fail(error: unknown): void {
    super.fail(error ?? new Error('stream failed'));
  }
}
