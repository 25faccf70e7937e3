// The values inside Literal[...] in a string signature: Python string literals (single or double quotes, the
// usual escapes), non-negative numbers, True, False and None, read from the signature scanner's position.

import type { SignatureErrorCode } from './errors.js';
import type { LiteralValue } from './types.js';

/** The part of the signature scanner a literal needs: the text, a position it advances, an end, failure. */
export interface LiteralCursor {
  readonly text: string;
  pos: number;
  readonly end: number;
  fail(code: SignatureErrorCode, problem: string, at?: number): never;
}

const SIMPLE_ESCAPES = new Map([['\\', '\\'], ["'", "'"], ['"', '"'], ['n', '\n'], ['r', '\r'], ['t', '\t'], ['0', '\0']]);
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

function scanNumber(c: LiteralCursor): number {
  const start = c.pos;
  let sawDigit = digits(c);
  if (peek(c) === 0x2e) {
    c.pos++;
    sawDigit = digits(c) || sawDigit;
  }
  const e = peek(c);
  if (sawDigit && (e === 0x65 || e === 0x45)) {
    c.pos++;
    const sign = peek(c);
    if (sign === 0x2b || sign === 0x2d) c.pos++;
    if (!digits(c)) c.fail('DSPEX_SIGNATURE_SYNTAX', 'incomplete exponent');
  }
  const value = Number(c.text.slice(start, c.pos).replaceAll('_', ''));
  if (!sawDigit || Number.isNaN(value)) c.fail('DSPEX_SIGNATURE_SYNTAX', 'malformed number', start);
  return value;
}

function scanString(c: LiteralCursor, quote: number): string {
  const text = c.text;
  const start = c.pos;
  c.pos++;
  let out = '';
  while (c.pos < c.end) {
    const code = text.charCodeAt(c.pos);
    if (code === quote) {
      c.pos++;
      return out;
    }
    if (code === 0x0a) break;
    if (code === 0x5c && c.pos + 1 < c.end) {
      const next = text[c.pos + 1]!;
      const simple = SIMPLE_ESCAPES.get(next);
      if (simple !== undefined) {
        out += simple;
        c.pos += 2;
        continue;
      }
      const width = next === 'x' ? 2 : next === 'u' ? 4 : 0;
      const hex = text.slice(c.pos + 2, c.pos + 2 + width);
      if (width > 0 && hex.length === width && /^[0-9a-fA-F]+$/.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16));
        c.pos += 2 + width;
        continue;
      }
      out += '\\';
      c.pos++;
      continue;
    }
    out += text[c.pos];
    c.pos++;
  }
  return c.fail('DSPEX_SIGNATURE_SYNTAX', 'unterminated string', start);
}

/** One Literal[...] argument at the cursor. */
export function scanLiteral(c: LiteralCursor): LiteralValue {
  const code = peek(c);
  if (code === 0x27 || code === 0x22) return scanString(c, code);
  if ((code >= 0x30 && code <= 0x39) || code === 0x2e) return scanNumber(c);
  for (const [word, value] of WORDS) {
    const after = c.text.charCodeAt(c.pos + word.length);
    if (c.text.startsWith(word, c.pos) && c.pos + word.length <= c.end && !(after >= 0x30 && after <= 0x39) && !(after >= 0x41 && after <= 0x5a) && !(after >= 0x61 && after <= 0x7a) && after !== 0x5f) {
      c.pos += word.length;
      return value;
    }
  }
  if (code === 0x2d) c.fail('DSPEX_SIGNATURE_SYNTAX', 'negative numbers are not allowed in Literal[...] (DSPy rejects them too)');
  return c.fail('DSPEX_SIGNATURE_SYNTAX', 'Literal[...] takes strings, numbers, True, False or None');
}
