// JSONAdapter's reply read as it streams: the top-level object's keys are followed, a string value is
// unescaped as it arrives (an escape split across chunks waits for its end), and any other value streams as
// its raw JSON text. Text before the first `{` (a code fence) is skipped; the first value of a key wins.

import { isPySpace } from '../utils/py_text.js';
import { DeltaBatch } from './deltas.js';
import type { FieldDelta, FieldStreamParser } from './events.js';

type State = 'before' | 'key_or_end' | 'key' | 'colon' | 'value' | 'string' | 'raw' | 'comma_or_end' | 'done';

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Splits a streamed JSONAdapter completion (a JSON object) into per-field text deltas as the string values arrive. */
export class JSONFieldParser implements FieldStreamParser {
  private readonly seen = new Set<string>();
  private readonly batch = new DeltaBatch();
  private state: State = 'before';
  private key = '';
  /** The field whose value is being read, when it is streamed. */
  private field: string | null = null;
  /** Inside a string: '' or the escape read so far ('\\', '\\u00'). */
  private escape = '';
  /** A high surrogate from a \uXXXX escape, held until its pair arrives. */
  private highSurrogate = '';
  /** A raw (non-string) value: bracket depth, and whether the scan is inside one of its strings. */
  private depth = 0;
  private rawInString = false;
  private rawEscaped = false;

  constructor(private readonly outputs: ReadonlySet<string>) {}

  feed(chunk: string): FieldDelta[] {
    for (let i = 0; i < chunk.length; i++) this.read(chunk[i]!);
    return this.batch.take();
  }

  finish(): FieldDelta[] {
    this.emit(this.highSurrogate);
    this.highSurrogate = '';
    return this.batch.take();
  }

  private read(char: string): void {
    switch (this.state) {
      case 'before':
        if (char === '{') this.state = 'key_or_end';
        return;
      case 'key_or_end':
        if (char === '"') {
          this.key = '';
          this.state = 'key';
        } else if (char === '}') this.state = 'done';
        return;
      case 'key':
        this.readString(char, (text) => (this.key += text), () => (this.state = 'colon'));
        return;
      case 'colon':
        if (char === ':') this.state = 'value';
        return;
      case 'value':
        if (isPySpace(char.charCodeAt(0))) return;
        this.field = this.outputs.has(this.key) && !this.seen.has(this.key) ? this.key : null;
        this.seen.add(this.key);
        if (char === '"') this.state = 'string';
        else {
          this.state = 'raw';
          this.depth = 0;
          this.rawInString = false;
          this.rawEscaped = false;
          this.readRaw(char);
        }
        return;
      case 'string':
        this.readString(char, (text) => this.emit(text), () => (this.state = 'comma_or_end'));
        return;
      case 'raw':
        this.readRaw(char);
        return;
      case 'comma_or_end':
        if (char === ',') this.state = 'key_or_end';
        else if (char === '}') this.state = 'done';
        return;
      case 'done':
        return;
    }
  }

  /** One character of a JSON string: decoded text goes to `write`, the closing quote calls `end`. */
  private readString(char: string, write: (text: string) => void, end: () => void): void {
    if (this.escape === '') {
      if (char === '\\') this.escape = '\\';
      else if (char === '"') end();
      else write(char);
      return;
    }
    this.escape += char;
    if (this.escape.length === 2 && char !== 'u') {
      write(SIMPLE_ESCAPES[char] ?? char);
      this.escape = '';
    } else if (this.escape.length === 6) {
      const unit = Number.parseInt(this.escape.slice(2), 16);
      this.escape = '';
      write(Number.isNaN(unit) ? '' : String.fromCharCode(unit));
    }
  }

  private readRaw(char: string): void {
    if (this.rawInString) {
      if (this.rawEscaped) this.rawEscaped = false;
      else if (char === '\\') this.rawEscaped = true;
      else if (char === '"') this.rawInString = false;
      this.emit(char);
      return;
    }
    if (this.depth === 0 && (char === ',' || char === '}' || isPySpace(char.charCodeAt(0)))) {
      this.state = 'comma_or_end';
      this.read(char);
      return;
    }
    if (char === '"') this.rawInString = true;
    else if (char === '{' || char === '[') this.depth++;
    else if (char === '}' || char === ']') this.depth--;
    this.emit(char);
    if (this.depth === 0 && (char === '}' || char === ']')) this.state = 'comma_or_end';
  }

  private emit(text: string): void {
    if (this.field === null || text === '') return;
    // A lone high surrogate waits for its low half, so every delta is well-formed text.
    let out = this.highSurrogate + text;
    this.highSurrogate = '';
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.highSurrogate = out.slice(-1);
      out = out.slice(0, -1);
    }
    this.batch.add(this.field, out);
  }
}
