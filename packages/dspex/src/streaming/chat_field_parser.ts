// ChatAdapter's reply read as it streams: `[[ ## name ## ]]` lines open sections, and a section's text is
// what ChatAdapter.parse would give it (lines joined by "\n", stripped; the first section of a field wins).
// A line is held back while it could still become a header, so marker text never reaches a delta.

import { matchHeader } from '../adapters/chat_adapter.js';
import { isPySpace, pyLstrip } from '../utils/py_text.js';
import { DeltaBatch } from './deltas.js';
import type { FieldDelta, FieldStreamParser } from './events.js';

const HEADER_OPEN = '[[ ## ';
const HEADER_CLOSE = ' ## ]]';
const WORD = /^[\p{L}\p{N}_]$/u;

/** str.splitlines() boundaries (\r\n counts once: the parser skips the \n after a \r). */
function isLineBreak(code: number): boolean {
  return (code >= 0x0a && code <= 0x0d) || (code >= 0x1c && code <= 0x1e) || code === 0x85 || code === 0x2028 || code === 0x2029;
}

/** Whether a line read so far may still turn out to be a header (`[[ ## word` and part of ` ## ]]`). */
export function mayBecomeHeader(line: string): boolean {
  const text = pyLstrip(line);
  if (text.length <= HEADER_OPEN.length) return HEADER_OPEN.startsWith(text);
  if (!text.startsWith(HEADER_OPEN)) return false;
  let i = HEADER_OPEN.length;
  while (i < text.length && WORD.test(text[i]!)) i++;
  if (i === text.length) return true;
  return i > HEADER_OPEN.length && HEADER_CLOSE.startsWith(text.slice(i));
}

/** Splits a streamed ChatAdapter completion (`[[ ## field ## ]]` sections) into per-field text deltas. */
export class ChatFieldParser implements FieldStreamParser {
  private readonly seen = new Set<string>();
  private readonly batch = new DeltaBatch();
  /** The section being read; null before the first header or in a section that is not streamed. */
  private field: string | null = null;
  /** The current line, while it may still be a header; null once the line is known to be text. */
  private line: string | null = '';
  /** Whether the current line is the one that opened the section (its end is stripped, as DSPy strips it). */
  private headerLine = false;
  private wroteText = false;
  /** Whitespace after the last text: written only when more text follows (the value is stripped). */
  private pendingSpace = '';
  private afterCarriageReturn = false;

  /** `outputs`: the output field names; other sections end the previous one but are not streamed. */
  constructor(private readonly outputs: ReadonlySet<string>) {}

  feed(chunk: string): FieldDelta[] {
    for (let i = 0; i < chunk.length; i++) this.read(chunk[i]!);
    return this.batch.take();
  }

  finish(): FieldDelta[] {
    if (this.line !== null) this.text(this.line);
    this.line = '';
    return this.batch.take();
  }

  private read(char: string): void {
    const code = char.charCodeAt(0);
    if (this.afterCarriageReturn) {
      this.afterCarriageReturn = false;
      if (code === 0x0a) return;
    }
    if (isLineBreak(code)) {
      if (this.line !== null) this.text(this.line);
      this.endLine();
      this.afterCarriageReturn = code === 0x0d;
      return;
    }
    if (this.line === null) return this.text(char);
    this.line += char;
    const header = matchHeader(pyLstrip(this.line));
    if (header !== null) {
      // DSPy slices the unstripped line at the header's length in the stripped one; so do we.
      const rest = this.line.slice(header.length);
      this.openSection(header.name);
      this.line = null;
      this.text(rest);
    } else if (!mayBecomeHeader(this.line)) {
      const line = this.line;
      this.line = null;
      this.text(line);
    }
  }

  private openSection(name: string): void {
    this.field = this.outputs.has(name) && !this.seen.has(name) ? name : null;
    this.seen.add(name);
    this.headerLine = true;
    this.wroteText = false;
    this.pendingSpace = '';
  }

  private endLine(): void {
    if (this.headerLine) {
      // The header line's rest is stripped on its own before the lines are joined.
      this.pendingSpace = '';
      this.headerLine = false;
    }
    if (this.wroteText) this.pendingSpace += '\n';
    this.line = '';
  }

  private text(text: string): void {
    if (this.field === null) return;
    let out = '';
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (isPySpace(char.charCodeAt(0))) {
        if (this.wroteText) this.pendingSpace += char;
        continue;
      }
      out += this.pendingSpace + char;
      this.pendingSpace = '';
      this.wroteText = true;
    }
    this.batch.add(this.field, out);
  }
}
