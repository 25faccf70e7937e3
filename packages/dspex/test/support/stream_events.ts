// Reading a program's stream in tests: every event in order, and the text each output field streamed.

import type { StreamEvent } from '../../src/index.js';

/** Every event of `stream`, in order. */
export async function collect<O extends Record<string, unknown>>(stream: AsyncIterable<StreamEvent<O>>): Promise<StreamEvent<O>[]> {
  const events: StreamEvent<O>[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The text each output field streamed: its `field` events' deltas joined. */
export function fieldText(events: readonly StreamEvent[]): Record<string, string> {
  const text: Record<string, string> = {};
  for (const e of events) if (e.type === 'field') text[e.field] = (text[e.field] ?? '') + e.delta;
  return text;
}
