// Server-sent events, as the WHATWG spec parses them: the streaming wire of OpenAI, Anthropic and Gemini.
// Bytes may arrive split anywhere (inside a UTF-8 sequence, between \r and \n); the parser keeps the tail.

/** One server-sent event as the WHATWG parser reads it (the streaming wire of OpenAI, Anthropic and Gemini). */
export interface SseEvent {
  /** The `event:` field, 'message' when absent. */
  event: string;
  /** The `data:` lines joined with \n. */
  data: string;
  id?: string;
}

/** Incremental parser: push text, get the events completed by it; end() flushes nothing (an unterminated event is dropped, per spec). */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private sawData = false;
  private first = true;
  /** A chunk ended in \r: a \n at the start of the next chunk belongs to the same line end. */
  private pendingCr = false;

  push(text: string): SseEvent[] {
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), events);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.sawData) events.push({ event: this.event || 'message', data: this.data.join('\n'), ...(this.id === undefined ? {} : { id: this.id }) });
      this.data = [];
      this.event = '';
      this.sawData = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.sawData = true;
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
    }
  }
}

/** Parses a body's bytes, as they arrive, into SSE events. */
export async function* sseEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const chunk of chunks) yield* parser.push(decoder.decode(chunk, { stream: true }));
  // A final event without its blank line still counts when the stream ends cleanly (servers often omit it).
  yield* parser.push(decoder.decode() + '\n\n');
}

/** Reads a fetch body as SSE events; an aborted `signal` stops it before the next read. */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  try {
    yield* sseEvents(chunks());
  } finally {
    reader.releaseLock();
    void body.cancel().catch(() => undefined);
  }
}
