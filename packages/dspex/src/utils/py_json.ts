// Python's rendering of values: json.dumps(ensure_ascii=False) with its separators, repr() and str() of JSON-like
// values, float repr. DSPy's prompts and error messages are made of these, so adapters render through them to
// stay byte-compatible. JS has one number type; a PyFloat marks a number that Python would hold as a float.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A number that renders as a Python float (1 -> "1.0"), placed by type-directed serialization. */
export class PyFloat {
  constructor(readonly value: number) {}
}

const MAX_EXACT_INT = 2 ** 53;

/** Python's repr(float): shortest round-trip digits, scientific below 1e-4 and from 1e16, ".0" when integral. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = Math.abs(value);
  // Both languages print the shortest round-trip digits; in this range both use fixed notation.
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    const fixed = String(value);
    return Number.isInteger(value) ? `${fixed}.0` : fixed;
  }
  const exponential = value.toExponential();
  const ePos = exponential.indexOf('e');
  const mantissa = exponential.slice(0, ePos);
  const exponent = Number(exponential.slice(ePos + 1));
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${rest}e${exponent < 0 ? '-' : '+'}${expDigits}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const intLength = exponent + 1;
  if (digits.length <= intLength) return `${sign}${digits}${'0'.repeat(intLength - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLength)}.${digits.slice(intLength)}`;
}

/** str() of a JS number: an int when it is integral and exact, else a Python float. */
export function pyNumber(value: number): string {
  // -0 exists only as a float in Python ("-0.0"); every other whole number reads as an int.
  if (Number.isInteger(value) && Math.abs(value) < MAX_EXACT_INT) return Object.is(value, -0) ? '-0.0' : String(value);
  return pyFloatRepr(value);
}

function jsonFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return pyFloatRepr(value);
}

function jsonNumber(value: number): string {
  if (Number.isNaN(value) || !Number.isFinite(value)) return jsonFloat(value);
  return pyNumber(value);
}

/**
 * Python's json.dumps(value, ensure_ascii=False[, indent]). Strings escape exactly as Python's do (JSON.stringify
 * and Python agree on every BMP character but lone surrogates); separators are ", " and ": ", or "," + newline.
 */
export function pyJsonDumps(value: unknown, indent?: number): string {
  return dumpValue(value, indent, '');
}

function dumpValue(value: unknown, indent: number | undefined, current: string): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return jsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    default:
      break;
  }
  if (value instanceof PyFloat) return jsonFloat(value.value);
  const inner = indent === undefined ? current : current + ' '.repeat(indent);
  const separator = indent === undefined ? ', ' : `,\n${inner}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = indent === undefined ? '[' : `[\n${inner}`;
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : separator) + dumpValue(value[i], indent, inner);
    return out + (indent === undefined ? ']' : `\n${current}]`);
  }
  let out = '';
  let first = true;
  if (value instanceof Map) {
    // A Map keeps its insertion order, as a Python dict does (a JS object puts integer-like keys first).
    for (const [key, item] of value) {
      out += `${first ? '' : separator}${JSON.stringify(String(key))}: ${dumpValue(item, indent, inner)}`;
      first = false;
    }
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      out += `${first ? '' : separator}${JSON.stringify(key)}: ${dumpValue(record[key], indent, inner)}`;
      first = false;
    }
  }
  if (first) return '{}';
  return indent === undefined ? `{${out}}` : `{\n${inner}${out}\n${current}}`;
}

const HEX = '0123456789abcdef';

function isPrintable(char: string, code: number): boolean {
  if (code < 0x20 || code === 0x7f) return false;
  if (code < 0x7f) return true;
  if (code === 0x20) return true;
  // Python's isprintable: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (except the ASCII space).
  return !/^[\p{C}\p{Z}]$/u.test(char);
}

/** Python's repr(str): single quotes unless the text has ' and no ", backslash escapes for the rest. */
export function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (isPrintable(char, code)) out += char;
    else if (code <= 0xff) out += `\\x${HEX[code >> 4]}${HEX[code & 15]}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/** Python's repr() of a JSON-like value: [1, 'a', True, None], {'k': 2.5}. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'string':
      return pyStringRepr(value);
    case 'number':
      return pyNumber(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'bigint':
      return value.toString();
    default:
      break;
  }
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (value instanceof Set) return value.size === 0 ? 'set()' : `{${[...value].map(pyRepr).join(', ')}}`;
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${pyStringRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
}

/** Python's str(): strings as they are, everything else as repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}
