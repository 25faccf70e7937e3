// A small, robust JSON repair: what DSPy gets from the json_repair package when it coerces LM text into typed
// values. Valid JSON takes the fast path; otherwise a tolerant scanner recovers single quotes, trailing commas,
// unquoted keys and values, Python literals (True/False/None), comments, code fences and unclosed containers.
// Like json_repair.loads it returns "" when nothing could be recovered.

import { CLOSING_QUOTE, isWhitespace, NOTHING, ValueScanner, type Parsed } from './json_values.js';

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

class RepairScanner extends ValueScanner {
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
}

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
