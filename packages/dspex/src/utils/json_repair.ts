// A small, robust JSON repair: what DSPy gets from the json_repair package when it coerces LM text into typed
// values. Valid JSON takes the fast path; otherwise a tolerant scanner recovers single quotes, trailing commas,
// unquoted keys and values, Python literals (True/False/None), comments, code fences and unclosed containers.
// Like json_repair.loads it returns "" when nothing could be recovered.

const NOTHING: unique symbol = Symbol('nothing');
type Parsed = unknown;
type Context = 'key' | 'object' | 'array' | 'tuple' | 'set';

const CLOSING_QUOTE: Record<string, string> = { '"': '"', "'": "'", '\u201c': '\u201d', '\u201d': '\u201d' };

function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x85 || (code >= 0x2000 && code <= 0x200a) || code === 0x3000;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isWordChar(char: string): boolean {
  return /^[\p{L}\p{N}_]$/u.test(char);
}

/** Python truthiness of a parsed value: empty containers, "", 0, false and null are false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** json_repair's ObjectComparer.is_same_object: same kinds and the same keys, recursively. */
function sameShape(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameShape(item, b[i]));
  }
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object') return false;
    const keysA = Object.keys(a);
    if (keysA.length !== Object.keys(b).length) return false;
    return keysA.every((key) => key in b && sameShape((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return typeof a === typeof b && (a === null) === (b === null);
}

class RepairScanner {
  private i = 0;
  constructor(private readonly text: string) {}

  parseTop(): Parsed {
    const first = this.topElement();
    if (first === NOTHING) return '';
    if (this.i >= this.text.length) return first;
    const values: Parsed[] = [first];
    while (this.i < this.text.length) {
      const commaSeparated = this.nextIsComma();
      const next = this.topElement();
      if (next === NOTHING || !truthy(next)) {
        this.i++;
        continue;
      }
      // Repeated objects of one shape are updates (an LM that writes its answer twice): keep the newest.
      if (!commaSeparated && sameShape(values[values.length - 1], next)) values.pop();
      else if (!truthy(values[values.length - 1])) values.pop();
      values.push(next);
    }
    return values.length === 1 ? values[0] : values;
  }

  private nextIsComma(): boolean {
    let j = this.i;
    while (j < this.text.length && isWhitespace(this.text.charCodeAt(j))) j++;
    if (this.text[j] === ',') return true;
    j = this.i - 1;
    while (j >= 0 && isWhitespace(this.text.charCodeAt(j))) j--;
    return j >= 0 && this.text[j] === ',';
  }

  /** Outside any container, prose is skipped until a container starts. */
  private topElement(): Parsed | typeof NOTHING {
    const text = this.text;
    const firstContent = this.i === 0 ? this.skipWhitespaceFrom(0) : -1;
    while (this.i < text.length) {
      const char = text[this.i]!;
      if (char === '{' || char === '[') {
        this.i++;
        return char === '{' ? this.parseObject() : this.parseArray(']');
      }
      if (char === '(' && this.i === firstContent) {
        this.i++;
        return this.parseArray(')');
      }
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (this.i === firstContent && char in CLOSING_QUOTE) {
        const braced = this.missingOpeningBrace();
        if (braced !== NOTHING) return braced;
      }
      this.i++;
    }
    return NOTHING;
  }

  /** `"a": 1}`: an object that lost its opening brace, recovered only when one insertion explains all of it. */
  private missingOpeningBrace(): Parsed | typeof NOTHING {
    const trimmed = this.text.trim();
    if (!trimmed.endsWith('}')) return NOTHING;
    try {
      const value: unknown = JSON.parse(`{${trimmed}`);
      this.i = this.text.length;
      return value;
    } catch {
      return NOTHING;
    }
  }

  private skipWhitespaceFrom(start: number): number {
    let j = start;
    while (j < this.text.length && isWhitespace(this.text.charCodeAt(j))) j++;
    return j;
  }

  private atComment(): boolean {
    const char = this.text[this.i];
    if (char === '#') return true;
    if (char !== '/') return false;
    const next = this.text[this.i + 1];
    return next === '/' || next === '*';
  }

  private skipComment(): void {
    const text = this.text;
    if (text[this.i] === '/' && text[this.i + 1] === '*') {
      const end = text.indexOf('*/', this.i + 2);
      this.i = end < 0 ? text.length : end + 2;
      return;
    }
    const end = text.indexOf('\n', this.i);
    this.i = end < 0 ? text.length : end + 1;
  }

  private skipBlanks(): void {
    for (;;) {
      this.i = this.skipWhitespaceFrom(this.i);
      if (!this.atComment()) return;
      this.skipComment();
    }
  }

  private parseObject(): Parsed {
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

  private parseArray(closer: string): Parsed[] {
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

  private parseValue(context: Context): Parsed {
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

  private isDelimiter(char: string | undefined, context: Context): boolean {
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

  private parseNumber(context: Context): Parsed | typeof NOTHING {
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
  private parseBare(context: Context): Parsed {
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

  private parseString(closer: string, context: Context): string {
    const text = this.text;
    let out = '';
    let j = this.i + 1;
    while (j < text.length) {
      const char = text[j]!;
      if (char === '\\' && j + 1 < text.length) {
        const escaped = text[j + 1]!;
        if (escaped === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
          out += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
          j += 6;
          continue;
        }
        out += ESCAPES[escaped] ?? escaped;
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

const PYTHON_JSON_CONSTANTS = new Map<string, number>([
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);

/** Parses `text` as JSON, repairing it where needed; "" when nothing could be recovered (json_repair.loads). */
export function repairJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Python's json.loads also takes its non-standard constants before any repair happens.
    const constant = PYTHON_JSON_CONSTANTS.get(text.trim());
    if (constant !== undefined) return constant;
  }
  return new RepairScanner(text).parseTop();
}
