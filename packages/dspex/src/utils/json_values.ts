// The value scanner under repairJson: objects, arrays, tuples and sets, strings in any quotes, numbers and bare
// words (Python and JSON literals, else unquoted text), comments, all tolerant of what LMs get wrong (missing
// commas and closers, stray quotes). repairJson adds the top-level rules on top of it.

export const NOTHING: unique symbol = Symbol('nothing');
export type Parsed = unknown;
type Context = 'key' | 'object' | 'array' | 'tuple' | 'set';

export const CLOSING_QUOTE: Record<string, string> = { '"': '"', "'": "'", '\u201c': '\u201d', '\u201d': '\u201d' };

export function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x85 || (code >= 0x2000 && code <= 0x200a) || code === 0x3000;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isWordChar(char: string): boolean {
  return /^[\p{L}\p{N}_]$/u.test(char);
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '/': '/', '\\': '\\', '"': '"', "'": "'" };

const LITERALS = new Map<string, { value: unknown }>([
  ['true', { value: true }],
  ['True', { value: true }],
  ['false', { value: false }],
  ['False', { value: false }],
  ['null', { value: null }],
  ['None', { value: null }],
  ['NaN', { value: Number.NaN }],
  ['Infinity', { value: Number.POSITIVE_INFINITY }],
]);

/** Reads one JSON-ish value at a time from `text`, advancing `i`. */
export class ValueScanner {
  protected i = 0;
  constructor(protected readonly text: string) {}

  protected skipWhitespaceFrom(start: number): number {
    let j = start;
    while (j < this.text.length && isWhitespace(this.text.charCodeAt(j))) j++;
    return j;
  }

  protected atComment(): boolean {
    const char = this.text[this.i];
    if (char === '#') return true;
    if (char !== '/') return false;
    const next = this.text[this.i + 1];
    return next === '/' || next === '*';
  }

  protected skipComment(): void {
    const text = this.text;
    if (text[this.i] === '/' && text[this.i + 1] === '*') {
      const end = text.indexOf('*/', this.i + 2);
      this.i = end < 0 ? text.length : end + 2;
      return;
    }
    const end = text.indexOf('\n', this.i);
    this.i = end < 0 ? text.length : end + 1;
  }

  protected skipBlanks(): void {
    for (;;) {
      this.i = this.skipWhitespaceFrom(this.i);
      if (!this.atComment()) return;
      this.skipComment();
    }
  }

  protected parseObject(): Parsed {
    const object: Record<string, unknown> = {};
    let first = true;
    for (;;) {
      this.skipBlanks();
      const char = this.text[this.i];
      if (char === undefined) return object;
      if (char === '}' || char === ']') {
        this.i++;
        return object;
      }
      if (char === ',') {
        this.i++;
        continue;
      }
      const start = this.i;
      const key = this.parseValue('key');
      this.skipBlanks();
      const after = this.text[this.i];
      if (first && (after === ',' || after === '}')) {
        // {1, 2}: a Python set literal, read as an array.
        return [key, ...this.parseArray('}')];
      }
      if (after === ':') this.i++;
      if (this.i === start) this.i++; // nothing consumed: step over the stray character
      this.skipBlanks();
      const next = this.text[this.i];
      const value = next === ',' || next === '}' || next === undefined ? '' : this.parseValue('object');
      object[typeof key === 'string' ? key : String(key)] = value;
      first = false;
    }
  }

  protected parseArray(closer: string): Parsed[] {
    const array: Parsed[] = [];
    for (;;) {
      this.skipBlanks();
      const char = this.text[this.i];
      if (char === undefined) return array;
      if (char === closer || char === ']' || char === '}' || char === ')') {
        this.i++;
        return array;
      }
      if (char === ',') {
        this.i++;
        continue;
      }
      const start = this.i;
      array.push(this.parseValue(closer === ')' ? 'tuple' : closer === '}' ? 'set' : 'array'));
      if (this.i === start) this.i++;
    }
  }

  protected parseValue(context: Context): Parsed {
    const char = this.text[this.i]!;
    if (char === '{') {
      this.i++;
      return this.parseObject();
    }
    if (char === '[') {
      this.i++;
      return this.parseArray(']');
    }
    if (char === '(') {
      this.i++;
      return this.parseArray(')');
    }
    if (char in CLOSING_QUOTE) return this.parseString(CLOSING_QUOTE[char]!, context);
    const code = char.charCodeAt(0);
    if (isDigit(code) || char === '-' || char === '.') {
      const number = this.parseNumber(context);
      if (number !== NOTHING) return number;
    }
    return this.parseBare(context);
  }

  protected isDelimiter(char: string | undefined, context: Context): boolean {
    if (char === undefined) return true;
    switch (context) {
      case 'key':
        return char === ':' || char === ',' || char === '}' || char === '\n';
      case 'object':
        return char === ',' || char === '}' || char === '\n';
      case 'array':
        return char === ',' || char === ']' || char === '\n';
      case 'set':
        return char === ',' || char === '}' || char === '\n';
      default:
        return char === ',' || char === ')' || char === '\n';
    }
  }

  protected parseNumber(context: Context): Parsed | typeof NOTHING {
    const start = this.i;
    let j = start;
    while (j < this.text.length && /[0-9eE.+\-_]/.test(this.text[j]!)) j++;
    const token = this.text.slice(start, j).replaceAll('_', '');
    let k = j;
    while (k < this.text.length && (this.text[k] === ' ' || this.text[k] === '\t' || this.text[k] === '\r')) k++;
    const value = Number(token);
    if (token === '' || token === '-' || Number.isNaN(value)) return NOTHING;
    const next = this.text[k];
    // A quote or a comment right after a number is a missing comma, not part of the token.
    if (!this.isDelimiter(next, context) && !(next! in CLOSING_QUOTE) && next !== '/' && next !== '#') return NOTHING;
    this.i = j;
    return value;
  }

  /** Unquoted text: a Python/JSON literal when the whole token is one, else a string up to the delimiter. */
  protected parseBare(context: Context): Parsed {
    const start = this.i;
    let j = start;
    while (j < this.text.length && isWordChar(this.text[j]!)) j++;
    const word = this.text.slice(start, j);
    let k = j;
    while (k < this.text.length && (this.text[k] === ' ' || this.text[k] === '\t')) k++;
    if (word !== '' && this.isDelimiter(this.text[k], context)) {
      const literal = LITERALS.get(word);
      if (literal !== undefined) {
        this.i = j;
        return literal.value;
      }
    }
    while (j < this.text.length && !this.isDelimiter(this.text[j], context)) j++;
    this.i = j;
    return this.text.slice(start, j).trim();
  }

  protected parseString(closer: string, context: Context): string {
    const text = this.text;
    let out = '';
    let j = this.i + 1;
    while (j < text.length) {
      const char = text[j]!;
      if (char === '\\' && j + 1 < text.length) {
        const escaped = text[j + 1]!;
        const width = escaped === 'u' ? 4 : escaped === 'x' ? 2 : 0;
        if (width > 0 && new RegExp(`^[0-9a-fA-F]{${width}}$`).test(text.slice(j + 2, j + 2 + width))) {
          // \x41 as json_repair reads it (a Python escape an LM copies from a repr).
          out += String.fromCharCode(parseInt(text.slice(j + 2, j + 2 + width), 16));
          j += 2 + width;
          continue;
        }
        // An escape JSON does not have (\q, \v, \a) keeps its backslash, as json_repair and Python keep it.
        out += ESCAPES[escaped] ?? `\\${escaped}`;
        j += 2;
        continue;
      }
      if (char === closer) {
        // A quote closes the string only where a delimiter follows; otherwise it is part of the text
        // (an apostrophe in a single-quoted string, unescaped quotes in prose).
        let k = j + 1;
        while (k < text.length && (text[k] === ' ' || text[k] === '\t' || text[k] === '\r')) k++;
        const next = text[k];
        if (next === undefined || this.isDelimiter(next, context) || (context !== 'key' && next === ':') || next === ']' || next === '}') {
          this.i = j + 1;
          return out;
        }
      }
      out += char;
      j++;
    }
    this.i = text.length;
    return out;
  }
}
