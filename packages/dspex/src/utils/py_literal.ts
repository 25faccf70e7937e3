// Python's ast.literal_eval for the literals an LM writes: numbers, strings, True/False/None, tuples, lists,
// dicts and sets. DSPy's parse_value falls back to it when json_repair finds nothing ("True", "'text'", "1_000").
// Strict: anything else is a LiteralEvalError, never a guess.

export class LiteralEvalError extends Error {
  readonly code = 'DSPEX_LITERAL_EVAL';
  constructor(message: string) {
    super(message);
    this.name = 'LiteralEvalError';
  }
}

const NAMES = new Map<string, unknown>([
  ['True', true],
  ['False', false],
  ['None', null],
]);

const STRING_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07', '0': '\0', '\\': '\\', "'": "'", '"': '"', '\n': '' };

class LiteralScanner {
  private i = 0;
  constructor(private readonly text: string) {}

  parseAll(): unknown {
    const value = this.parseExpression(true);
    this.skip();
    if (this.i < this.text.length) this.fail('unexpected text after the literal');
    return value;
  }

  private fail(why: string): never {
    throw new LiteralEvalError(`malformed literal at ${this.i}: ${why}`);
  }

  /** Whitespace (newlines only inside brackets, which Python's tokenizer allows) and comments. */
  private skip(): void {
    const text = this.text;
    while (this.i < text.length) {
      const char = text[this.i]!;
      if (char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f') this.i++;
      else if (char === '#') {
        while (this.i < text.length && text[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  /** A bare comma-separated sequence at top level is a tuple ("1, 2"). */
  private parseExpression(top: boolean): unknown {
    const first = this.parseAtom();
    this.skip();
    if (!top || this.text[this.i] !== ',') return first;
    const items = [first];
    while (this.text[this.i] === ',') {
      this.i++;
      this.skip();
      if (this.i >= this.text.length) break;
      items.push(this.parseAtom());
      this.skip();
    }
    return items;
  }

  private parseAtom(): unknown {
    this.skip();
    const char = this.text[this.i];
    if (char === undefined) this.fail('unexpected end');
    if (char === '(' || char === '[') return this.parseSequence(char === '(' ? ')' : ']');
    if (char === '{') return this.parseBraces();
    if (char === "'" || char === '"') return this.parseStrings();
    if (char === '-' || char === '+') {
      this.i++;
      this.skip();
      const operand = this.parseAtom();
      if (typeof operand !== 'number') this.fail('a sign applies to numbers only');
      return char === '-' ? -operand : operand;
    }
    if (/[0-9.]/.test(char)) return this.parseNumber();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.i))?.[0];
    if (word !== undefined && NAMES.has(word)) {
      this.i += word.length;
      return NAMES.get(word);
    }
    if (word === 'set' && /^set\s*\(\s*\)/.test(this.text.slice(this.i))) {
      this.i = this.text.indexOf(')', this.i) + 1;
      return [];
    }
    return this.fail(`${word ?? char} is not a literal`);
  }

  private parseSequence(closer: string): unknown[] {
    this.i++;
    const items: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.text[this.i] === closer) {
        this.i++;
        return items;
      }
      items.push(this.parseAtom());
      this.skip();
      const next = this.text[this.i];
      if (next === ',') this.i++;
      else if (next !== closer) this.fail(`expected , or ${closer}`);
    }
  }

  private parseBraces(): unknown {
    this.i++;
    this.skip();
    if (this.text[this.i] === '}') {
      this.i++;
      return {};
    }
    const first = this.parseAtom();
    this.skip();
    if (this.text[this.i] !== ':') {
      // A set: its items, in order, without repeats.
      const items = [first];
      while (this.text[this.i] === ',') {
        this.i++;
        this.skip();
        if (this.text[this.i] === '}') break;
        items.push(this.parseAtom());
        this.skip();
      }
      if (this.text[this.i] !== '}') this.fail('expected }');
      this.i++;
      return [...new Set(items)];
    }
    const object: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      if (key !== null && typeof key === 'object') this.fail('unhashable dict key');
      this.i++; // ':'
      object[String(key)] = this.parseAtom();
      this.skip();
      const next = this.text[this.i];
      if (next === ',') {
        this.i++;
        this.skip();
        if (this.text[this.i] === '}') break;
        key = this.parseAtom();
        this.skip();
        if (this.text[this.i] !== ':') this.fail('expected :');
        continue;
      }
      if (next !== '}') this.fail('expected , or }');
      break;
    }
    this.i++;
    return object;
  }

  private parseNumber(): number {
    const match = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?[\d_]*(?:[eE][+-]?\d[\d_]*)?)/.exec(this.text.slice(this.i));
    const token = match?.[0] ?? '';
    if (token === '' || token === '.') this.fail('bad number');
    this.i += token.length;
    if (/[jJ]/.test(this.text[this.i] ?? '')) this.fail('complex numbers are not supported');
    const clean = token.replaceAll('_', '');
    const value = /^0[oO]/.test(clean) ? parseInt(clean.slice(2), 8) : /^0[bB]/.test(clean) ? parseInt(clean.slice(2), 2) : Number(clean);
    if (Number.isNaN(value)) this.fail('bad number');
    return value;
  }

  /** One or more adjacent string literals, concatenated as Python does. */
  private parseStrings(): string {
    let out = this.parseString();
    for (;;) {
      const save = this.i;
      this.skip();
      const next = this.text[this.i];
      if (next !== "'" && next !== '"') {
        this.i = save;
        return out;
      }
      out += this.parseString();
    }
  }

  private parseString(): string {
    const text = this.text;
    const quote = text[this.i]!;
    const triple = text.startsWith(quote.repeat(3), this.i);
    const closer = triple ? quote.repeat(3) : quote;
    this.i += closer.length;
    let out = '';
    while (this.i < text.length) {
      if (text.startsWith(closer, this.i)) {
        this.i += closer.length;
        return out;
      }
      const char = text[this.i]!;
      if (char === '\n' && !triple) this.fail('newline in a string');
      if (char === '\\') {
        const escaped = text[this.i + 1] ?? '';
        const unicode = escaped === 'x' ? 2 : escaped === 'u' ? 4 : escaped === 'U' ? 8 : 0;
        if (unicode > 0) {
          const hex = text.slice(this.i + 2, this.i + 2 + unicode);
          if (!new RegExp(`^[0-9a-fA-F]{${unicode}}$`).test(hex)) this.fail('bad escape');
          out += String.fromCodePoint(parseInt(hex, 16));
          this.i += 2 + unicode;
          continue;
        }
        out += STRING_ESCAPES[escaped] ?? `\\${escaped}`;
        this.i += 2;
        continue;
      }
      out += char;
      this.i++;
    }
    return this.fail('unterminated string');
  }
}

/** ast.literal_eval(text): tuples and sets come back as arrays, dict keys as strings. */
export function literalEval(text: string): unknown {
  let start = 0;
  while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
  return new LiteralScanner(text.slice(start)).parseAll();
}
