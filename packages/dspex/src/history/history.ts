// DSPy's LM history (dspy/clients/base_lm.py): every LM call leaves an entry (messages, settings, response,
// outputs, usage, cost, timestamp) in the global history and in its LM's own, both bounded, oldest dropped
// first. inspect_history.ts prints them as dspy.inspect_history does.

import { randomUUID } from 'node:crypto';
import type { LMConfig, LMMessage, LMOutput, LMResponse, LMUsage } from '../primitives/lm.js';

/** One LM call, with DSPy's history keys in camelCase (response_model -> responseModel, model_type -> modelType). */
export interface HistoryEntry {
  /** DSPy's prompt: null, as every call here is made with messages. */
  prompt: string | null;
  messages: LMMessage[];
  /** The call's settings (config, and response_format / tools when set), without any api_* key. */
  kwargs: LMConfig;
  response: LMResponse;
  outputs: LMOutput[];
  /** The call's usage; zeros for a cache hit (nothing was billed). */
  usage: LMUsage;
  /** USD from the price table (prices.ts); null when the model has no price. */
  cost: number | null;
  /** Local time as Python's datetime.now().isoformat() writes it: "2025-06-01T12:34:56.789000". */
  timestamp: string;
  uuid: string;
  /** The LM's model name ("openai/gpt-4o-mini"). */
  model: string;
  /** The model the provider says answered. */
  responseModel: string;
  modelType: 'chat';
}

/** DSPy's MAX_HISTORY_SIZE: the global history keeps at most this many entries, whatever the settings say. */
export const MAX_GLOBAL_HISTORY_SIZE = 10_000;

/**
 * A call as recorded on the hot path: the raw pieces, with the timestamp kept as epoch milliseconds. Its entry
 * (formatted timestamp, uuid) is built the first time history is read, then kept, so every read of the global
 * and the LM's history gives the same object, as when entries were built eagerly.
 */
export class RecordedCall {
  private entry: HistoryEntry | undefined;
  constructor(
    private readonly messages: LMMessage[],
    private readonly kwargs: LMConfig,
    private readonly response: LMResponse,
    private readonly model: string,
    private readonly cost: number | null,
    private readonly at: number,
  ) {}

  toEntry(): HistoryEntry {
    this.entry ??= {
      prompt: null,
      messages: this.messages,
      kwargs: this.kwargs,
      response: this.response,
      outputs: this.response.outputs,
      usage: this.response.usage,
      cost: this.cost,
      timestamp: pyIsoTimestamp(new Date(this.at)),
      uuid: randomUUID(),
      model: this.model,
      responseModel: this.response.model,
      modelType: 'chat',
    };
    return this.entry;
  }
}

const toEntry = (item: HistoryEntry | RecordedCall): HistoryEntry => (item instanceof RecordedCall ? item.toEntry() : item);

/**
 * A bounded list of entries, oldest first. Dropping the oldest is O(1) amortised (an offset, compacted now and
 * then), so recording costs the same with 10 entries as with 10,000.
 */
export class HistoryBuffer {
  private items: Array<HistoryEntry | RecordedCall> = [];
  private head = 0;

  /** Number of entries held. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends `entry` (or a call whose entry is built when read), first dropping the oldest so that at most `capacity` remain. */
  push(entry: HistoryEntry | RecordedCall, capacity: number): void {
    if (capacity <= 0) return;
    while (this.length >= capacity) this.head++;
    this.items.push(entry);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** The entries, oldest first, as a new array. */
  entries(): HistoryEntry[] {
    const entries: HistoryEntry[] = new Array(this.length);
    for (let i = this.head; i < this.items.length; i++) entries[i - this.head] = toEntry(this.items[i]!);
    return entries;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** DSPy's GLOBAL_HISTORY: the calls of every LM in this process. */
export const globalHistoryBuffer = new HistoryBuffer();

/** The global history (every LM's calls, oldest first), as DSPy's dspy.clients.base_lm.GLOBAL_HISTORY. */
export function globalHistory(): HistoryEntry[] {
  return globalHistoryBuffer.entries();
}

/** Empties the global history. For tests, and for a service that wants a fresh window. */
export function clearGlobalHistory(): void {
  globalHistoryBuffer.clear();
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** Python's datetime.now().isoformat(): local time, microseconds (omitted when zero), no zone. */
export function pyIsoTimestamp(date: Date = new Date()): string {
  const base = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const ms = date.getMilliseconds();
  return ms === 0 ? base : `${base}.${pad(ms, 3)}000`;
}
