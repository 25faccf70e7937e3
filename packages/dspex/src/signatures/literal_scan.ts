// The values inside Literal[...] in a string signature: Python string literals (quotes, triple quotes, r/u
// prefixes, every escape but \N{...}, implicit concatenation), non-negative numbers, True, False and None.

import type { SignatureErrorCode } from './errors.js';
import type { LiteralValue } from './types.js';

/** The part of the signature scanner a literal needs: the text, a position it advances, an end, failure. */
export interface LiteralCursor {
  readonly text: string;
  pos: number;
  readonly end: number;
  fail(code: SignatureErrorCode, problem: string, at?: number): never;
}

/** One scanned Literal argument; `float` marks a number Python reads as a float (`1.0`, `2e3`). */
export interface ScannedLiteral {
  readonly value: LiteralValue;
  readonly float: boolean;
}

const SIMPLE_ESCAPES = new Map([
  ['\\', '\\'], ["'", "'"], ['"', '"'], ['n', '\n'], ['r', '\r'], ['t', '\t'], ['a', '\x07'], ['b', '\b'], ['f', '\f'], ['v', '\v'], ['\n', ''],
]);
const WORDS = new Map<string, LiteralValue>([['True', true], ['False', false], ['None', null]]);

function peek(c: LiteralCursor): number {
  return c.pos < c.end ? c.text.charCodeAt(c.pos) : -1;
}

/** Digits and underscores; true when at least one digit was read. */
function digits(c: LiteralCursor): boolean {
  let saw = false;
  while (c.pos < c.end) {
    const code = c.text.charCodeAt(c.pos);
    if (code >= 0x30 && code <= 0x39) saw = true;
    else if (code !== 0x5f) break;
    c.pos++;
  }
  return saw;
}

function scanNumber(c: LiteralCursor): ScannedLiteral {
  const start = c.pos;
  const radix = c.text.charCodeAt(start) === 0x30 ? ({ x: 16, X: 16, o: 8, O: 8, b: 2, B: 2 } as Record<string, number>)[c.text[start + 1] ?? ''] : undefined;
  if (radix !== undefined) {
    c.pos += 2;
    while (c.pos < c.end && /[0-9a-fA-F_]/.test(c.text[c.pos]!)) c.pos++;
    const body = c.text.slice(start + 2, c.pos).replaceAll('_', '');
    const value = parseInt(body, radix);
    if (body === '' || Number.isNaN(value) || value.toString(radix) !== body.toLowerCase().replace(/^0+(?=.)/, '')) c.fail('DSPEX_SIGNATURE_SYNTAX', 'malformed number', start);
    return { value, float: false };
  }
  let sawDigit = digits(c);
  let float = false;
  if (peek(c) === 0x2e) {
    c.pos++;
    float = true;
    sawDigit = digits(c) || sawDigit;
  }
  const e = peek(c);
  if (sawDigit && (e === 0x65 || e === 0x45)) {
    c.pos++;
    float = true;
    const sign = peek(c);
    if (sign === 0x2b || sign === 0x2d) c.pos++;
    if (!digits(c)) c.fail('DSPEX_SIGNATURE_SYNTAX', 'incomplete exponent');
  }
  const value = Number(c.text.slice(start, c.pos).replaceAll('_', ''));
  if (!sawDigit || Number.isNaN(value)) c.fail('DSPEX_SIGNATURE_SYNTAX', 'malformed number', start);
  return { value, float };
}

/** A backslash escape of a non-raw Python string at `at` (the backslash): the text and its length. */
function escape(c: LiteralCursor, at: number): [string, number] {
  const text = c.text;
  const next = text[at + 1]!;
  const simple = SIMPLE_ESCAPES.get(next);
  if (simple !== undefined) return [simple, 2];
  if (next >= '0' && next <= '7') {
    let end = at + 2;
    while (end < at + 4 && end < c.end && text[end]! >= '0' && text[end]! <= '7') end++;
    return [String.fromCodePoint(parseInt(text.slice(at + 1, end), 8)), end - at];
  }
  const width = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
  if (width > 0) {
    const hex = text.slice(at + 2, at + 2 + width);
    const code = parseInt(hex, 16);
    if (hex.length !== width || !/^[0-9a-fA-F]+$/.test(hex) || code > 0x10ffff) c.fail('DSPEX_SIGNATURE_SYNTAX', `truncated or invalid \\${next} escape`, at);
    return [String.fromCodePoint(code), 2 + width];
  }
  if (next === 'N') {
    c.fail('DSPEX_SIGNATURE_SYNTAX', 'named escapes (\\N{...}) are not supported in Literal strings; write the character itself or use \\u/\\U', at);
  }
  // Python keeps an unknown escape as it is (with a DeprecationWarning).
  return ['\\', 1];
}

/** One string token (with an r/u prefix, single or triple quoted) at the cursor. */
function scanString(c: LiteralCursor): string {
  const text = c.text;
  const start = c.pos;
  let raw = false;
  while (/[rRuU]/.test(text[c.pos] ?? '')) raw = raw || /[rR]/.test(text[c.pos++]!);
  const quote = text.charCodeAt(c.pos);
  const triple = text.startsWith(String.fromCharCode(quote).repeat(3), c.pos);
  c.pos += triple ? 3 : 1;
  let out = '';
  while (c.pos < c.end) {
    const code = text.charCodeAt(c.pos);
    if (code === quote && (!triple || text.startsWith(String.fromCharCode(quote).repeat(3), c.pos))) {
      c.pos += triple ? 3 : 1;
      return out;
    }
    if (code === 0x0a && !triple) break;
    if (code === 0x5c && c.pos + 1 < c.end) {
      if (raw) {
        out += text.slice(c.pos, c.pos + 2);
        c.pos += 2;
        continue;
      }
      const [decoded, length] = escape(c, c.pos);
      out += decoded;
      c.pos += length;
      continue;
    }
    out += text[c.pos];
    c.pos++;
  }
  return c.fail('DSPEX_SIGNATURE_SYNTAX', 'unterminated string', start);
}

/** Whether a string token starts at `pos` (a quote, or r/u prefixes then a quote). */
function stringStart(c: LiteralCursor, pos: number): boolean {
  let i = pos;
  while (i < c.end && i - pos < 2 && /[rRuU]/.test(c.text[i]!)) i++;
  const code = i < c.end ? c.text.charCodeAt(i) : -1;
  return code === 0x27 || code === 0x22;
}

/** One Literal[...] argument at the cursor; adjacent strings concatenate, as in Python. */
export function scanLiteral(c: LiteralCursor): ScannedLiteral {
  const code = peek(c);
  if (stringStart(c, c.pos)) {
    let value = scanString(c);
    for (;;) {
      let next = c.pos;
      while (next < c.end && /[ \t\n\r\f]/.test(c.text[next]!)) next++;
      if (!stringStart(c, next)) return { value, float: false };
      c.pos = next;
      value += scanString(c);
    }
  }
  if ((code >= 0x30 && code <= 0x39) || code === 0x2e) return scanNumber(c);
  for (const [word, value] of WORDS) {
    const after = c.text.charCodeAt(c.pos + word.length);
    if (c.text.startsWith(word, c.pos) && c.pos + word.length <= c.end && !(after >= 0x30 && after <= 0x39) && !(after >= 0x41 && after <= 0x5a) && !(after >= 0x61 && after <= 0x7a) && after !== 0x5f) {
      c.pos += word.length;
      return { value, float: false };
    }
  }
  if (code === 0x2d) c.fail('DSPEX_SIGNATURE_SYNTAX', 'negative numbers are not allowed in Literal[...] (DSPy rejects them too)');
  return c.fail('DSPEX_SIGNATURE_SYNTAX', 'Literal[...] takes strings, numbers, True, False or None');
}
