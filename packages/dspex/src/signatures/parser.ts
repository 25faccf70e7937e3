// The string-signature scanner: "question: str, context: list[str] -> answer: str" into typed fields, accepting
// what DSPy's ast-based parser accepts. Hand-written, one pass over char codes, no regular expressions on the
// hot path; every failure is a SignatureError that points at the offending character.

import { SignatureError, type SignatureErrorCode } from './errors.js';
import { HISTORY_SHORT_NAME, HISTORY_TYPE_NAME } from './history.js';
import { scanLiteral } from './literal_scan.js';
import type { TypeRegistry } from './registry.js';
import { t, type LiteralValue, type TypeExpr } from './types.js';

export interface ParsedField {
  readonly name: string;
  readonly type: TypeExpr;
  /** False when the field had no annotation (DSPy's IS_TYPE_UNDEFINED): its type is str. */
  readonly typeDeclared: boolean;
}

export interface ParsedSignature {
  readonly inputs: readonly ParsedField[];
  readonly outputs: readonly ParsedField[];
}

const PYTHON_KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);

const NON_ASCII_START = /^[\p{L}\p{Nl}]$/u;
const NON_ASCII_PART = /^[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]$/u;

function isIdentStart(code: number, text: string, i: number): boolean {
  if (code < 0x80) return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
  return NON_ASCII_START.test(String.fromCodePoint(text.codePointAt(i)!));
}

function isIdentPart(code: number, text: string, i: number): boolean {
  if (code < 0x80) return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
  return NON_ASCII_PART.test(String.fromCodePoint(text.codePointAt(i)!));
}

/** 2 for a surrogate pair (an astral character), else 1. */
function codeUnits(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff ? 2 : 1;
}

const BARE_LIST = t.list(t.any, true);
const BARE_DICT = t.dict(t.any, t.any, true);
const BARE_TUPLE = t.tuple([t.any], true, true);
const BARE_SET = t.set(t.any, true);
const BARE_FROZENSET = t.set(t.any, true, true);
const BARE = new Map<string, TypeExpr>([
  ['str', t.str], ['int', t.int], ['float', t.float], ['bool', t.bool], ['Any', t.any], ['None', t.none], ['NoneType', t.none],
  ['list', BARE_LIST], ['List', BARE_LIST], ['dict', BARE_DICT], ['Dict', BARE_DICT], ['tuple', BARE_TUPLE], ['Tuple', BARE_TUPLE],
  ['set', BARE_SET], ['Set', BARE_SET], ['frozenset', BARE_FROZENSET], ['FrozenSet', BARE_FROZENSET],
]);

const ONE_ARGUMENT = new Set(['list', 'List', 'set', 'Set', 'frozenset', 'FrozenSet', 'Optional']);
const TYPE_ARGUMENT_REQUIRED = new Set(['Optional', 'Union', 'Literal']);

/** One scanner per parse; `end` bounds the side being read (the text before or after the arrow). */
class Scanner {
  pos = 0;
  end = 0;
  constructor(
    readonly text: string,
    readonly registry: TypeRegistry,
  ) {}

  fail(code: SignatureErrorCode, problem: string, at = this.pos): never {
    throw new SignatureError(code, problem, this.text, at);
  }

  skipSpace(): void {
    const text = this.text;
    while (this.pos < this.end) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) this.pos++;
      else return;
    }
  }

  peek(): number {
    return this.pos < this.end ? this.text.charCodeAt(this.pos) : -1;
  }

  /** An identifier, or "" when none starts here. */
  identifier(): string {
    const text = this.text;
    const start = this.pos;
    const end = this.end;
    if (start >= end || !isIdentStart(text.charCodeAt(start), text, start)) return '';
    let ascii = text.charCodeAt(start) < 0x80;
    let pos = start + codeUnits(text, start);
    while (pos < end) {
      const c = text.charCodeAt(pos);
      if (c < 0x80) {
        if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f) pos++;
        else break;
      } else if (isIdentPart(c, text, pos)) {
        ascii = false;
        pos += codeUnits(text, pos);
      } else break;
    }
    this.pos = pos;
    // Python reads identifiers in NFKC ("\ufb01eld" is "field").
    return ascii ? text.slice(start, pos) : text.slice(start, pos).normalize('NFKC');
  }

  fields(start: number, end: number, seen: string[]): ParsedField[] {
    this.pos = start;
    this.end = end;
    const fields: ParsedField[] = [];
    this.skipSpace();
    while (this.pos < end) {
      const at = this.pos;
      const name = this.identifier();
      if (name === '') {
        const c = this.peek();
        if (c === 0x2c) this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected a field name before this comma');
        this.fail('DSPEX_SIGNATURE_BAD_IDENTIFIER', `expected a field name (an identifier such as "question"), found "${String.fromCodePoint(this.text.codePointAt(this.pos)!)}"`);
      }
      if (PYTHON_KEYWORDS.has(name)) this.fail('DSPEX_SIGNATURE_BAD_IDENTIFIER', `"${name}" is a Python keyword and cannot name a field; rename it`, at);
      if (name.charCodeAt(0) === 0x5f) this.fail('DSPEX_SIGNATURE_BAD_IDENTIFIER', `field names must not start with an underscore ("${name}"); pydantic reserves them`, at);
      if (seen.includes(name)) this.fail('DSPEX_SIGNATURE_DUPLICATE_FIELD', `field "${name}" appears twice; input and output fields must have distinct names`, at);
      seen.push(name);
      this.skipSpace();
      let type = t.str;
      let typeDeclared = false;
      if (this.peek() === 0x3a) {
        this.pos++;
        this.skipSpace();
        const typeAt = this.pos;
        type = this.type();
        typeDeclared = true;
        // DSPy: a field annotated with the None constant defaults to str.
        if (type.kind === 'none' && this.text.slice(typeAt, this.pos).trim() === 'None') type = t.str;
        this.skipSpace();
      }
      fields.push({ name, type, typeDeclared });
      if (this.pos >= end) break;
      const c = this.peek();
      if (c === 0x3d) this.fail('DSPEX_SIGNATURE_SYNTAX', 'default values are not supported in string signatures; use the builder form for defaults');
      if (c !== 0x2c) this.fail('DSPEX_SIGNATURE_SYNTAX', `expected "," or "->" after field "${name}"`);
      this.pos++;
      this.skipSpace();
    }
    return fields;
  }

  /** type := primary ("|" primary)*, folded as DSPy folds PEP 604 unions. */
  type(): TypeExpr {
    let left = this.primary();
    this.skipSpace();
    while (this.peek() === 0x7c) {
      this.pos++;
      this.skipSpace();
      const right = this.primary();
      this.skipSpace();
      // typing keeps the written order: `None | int` is Union[NoneType, int].
      left = t.union([left, right]);
    }
    return left;
  }

  dottedName(): string {
    let name = this.identifier();
    while (name !== '' && this.peek() === 0x2e) {
      this.pos++;
      const part = this.identifier();
      if (part === '') this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected a name after "."');
      name += `.${part}`;
    }
    return name;
  }

  primary(): TypeExpr {
    const at = this.pos;
    const c = this.peek();
    if (c === 0x27 || c === 0x22 || (c >= 0x30 && c <= 0x39)) this.fail('DSPEX_SIGNATURE_SYNTAX', 'a literal value is only allowed inside Literal[...]');
    const written = this.dottedName();
    if (written === '') this.fail('DSPEX_SIGNATURE_SYNTAX', c < 0 ? 'expected a type after ":"' : 'expected a type name');
    // DSPy reads a bare `History` where the caller did `from dspy import History`; here it is always dspy.History
    // unless the app registered a type of that name.
    const name = written === HISTORY_SHORT_NAME && !this.registry.has(written) ? HISTORY_TYPE_NAME : written;
    this.skipSpace();
    const bare = BARE.get(name);
    const known = bare !== undefined || TYPE_ARGUMENT_REQUIRED.has(name) || this.registry.has(name);
    if (known && this.peek() === 0x5b) return this.subscript(name, at);
    if (bare !== undefined) return bare;
    if (TYPE_ARGUMENT_REQUIRED.has(name)) this.fail('DSPEX_SIGNATURE_TYPE_ARGUMENTS', `${name} needs arguments, e.g. ${name === 'Literal' ? "Literal['a', 'b']" : `${name}[int]`}`, at);
    if (known) return t.custom(name);
    return this.fail('DSPEX_SIGNATURE_UNKNOWN_TYPE', `unknown type "${name}"; use str, int, float, bool, Any, list[T], dict[K, V], tuple[...], set[T], Optional[T], Union[...], Literal[...] or register it with registerType("${name}", schema)`, at);
  }

  subscript(name: string, at: number): TypeExpr {
    this.pos++; // [
    this.skipSpace();
    if (name === 'Literal') return this.literalArguments();
    if (name === 'tuple' || name === 'Tuple') return this.tupleArguments();
    const args = this.typeArguments();
    if (ONE_ARGUMENT.has(name)) this.arity(name, args, 1, at);
    switch (name) {
      case 'list': case 'List': return t.list(args[0]);
      case 'set': case 'Set': return t.set(args[0]);
      case 'frozenset': case 'FrozenSet': return t.set(args[0], false, true);
      case 'Optional': return t.optional(args[0]!);
      case 'dict': case 'Dict': this.arity(name, args, 2, at); return t.dict(args[0], args[1]);
      case 'Union': return t.union(args);
      default:
        return this.fail('DSPEX_SIGNATURE_TYPE_ARGUMENTS', `${name} takes no type arguments`, at);
    }
  }

  arity(name: string, args: readonly TypeExpr[], expected: number, at: number): void {
    if (args.length !== expected) this.fail('DSPEX_SIGNATURE_TYPE_ARGUMENTS', `${name} takes ${expected} type argument${expected === 1 ? '' : 's'}, got ${args.length}`, at);
  }

  /** After an argument: true at "]" (consumed), false at "," (consumed); anything else is an error. */
  argumentEnd(): boolean {
    this.skipSpace();
    const c = this.peek();
    this.pos++;
    if (c === 0x5d) return true;
    if (c === 0x2c) {
      this.skipSpace();
      // A trailing comma (`tuple[int, ...,]`): Python reads the same subscript.
      if (this.peek() !== 0x5d) return false;
      this.pos++;
      return true;
    }
    this.pos--;
    return this.fail('DSPEX_SIGNATURE_SYNTAX', c < 0 ? 'unclosed "["' : 'expected "," or "]"');
  }

  /** Comma-separated types up to "]" (the "[" is already read). */
  typeArguments(): TypeExpr[] {
    const items: TypeExpr[] = [];
    do {
      if (this.peek() === 0x5d) this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected a type argument');
      items.push(this.type());
    } while (!this.argumentEnd());
    return items;
  }

  literalArguments(): TypeExpr {
    const items: LiteralValue[] = [];
    const floats: number[] = [];
    do {
      if (this.peek() === 0x5d) this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected a literal value');
      const scanned = scanLiteral(this);
      items.push(scanned.value);
      // Only where the display differs: a whole float below 2**53 would otherwise print as an int.
      if (scanned.float && typeof scanned.value === 'number' && Number.isInteger(scanned.value) && Math.abs(scanned.value) < 2 ** 53) floats.push(scanned.value);
    } while (!this.argumentEnd());
    return t.literal(items, floats);
  }

  tupleArguments(): TypeExpr {
    if (this.text.charCodeAt(this.pos) === 0x28 && this.pos < this.end) {
      const open = this.pos;
      this.pos++;
      this.skipSpace();
      if (this.peek() !== 0x29) this.fail('DSPEX_SIGNATURE_SYNTAX', 'only tuple[()] (the empty tuple) may use parentheses', open);
      this.pos++;
      this.skipSpace();
      if (this.peek() !== 0x5d) this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected "]" after tuple[()');
      this.pos++;
      return t.tuple([]);
    }
    const items: TypeExpr[] = [];
    let variadic = false;
    do {
      if (this.peek() === 0x5d) this.fail('DSPEX_SIGNATURE_SYNTAX', 'expected a type argument');
      if (this.text.startsWith('...', this.pos) && this.pos + 3 <= this.end) {
        if (items.length !== 1 || variadic) this.fail('DSPEX_SIGNATURE_TYPE_ARGUMENTS', '"..." is only allowed as tuple[T, ...]');
        this.pos += 3;
        variadic = true;
      } else {
        if (variadic) this.fail('DSPEX_SIGNATURE_TYPE_ARGUMENTS', '"..." must be the last tuple argument');
        items.push(this.type());
      }
    } while (!this.argumentEnd());
    return t.tuple(items, variadic);
  }

}

/** Parses a string signature. Throws SignatureError (never anything else) for any text it does not accept. */
export function parseSignatureText(text: string, registry: TypeRegistry): ParsedSignature {
  const arrow = text.indexOf('->');
  if (arrow < 0) throw new SignatureError('DSPEX_SIGNATURE_ARROW', 'a signature needs "->" between its inputs and outputs, e.g. "question -> answer"', text, text.length);
  const second = text.indexOf('->', arrow + 2);
  // DSPy counts arrows in the raw text, even inside a Literal string.
  if (second >= 0) throw new SignatureError('DSPEX_SIGNATURE_ARROW', 'a signature has exactly one "->"; this is a second one', text, second);
  const scanner = new Scanner(text, registry);
  const seen: string[] = [];
  const inputs = scanner.fields(0, arrow, seen);
  const outputs = scanner.fields(arrow + 2, text.length, seen);
  return { inputs, outputs };
}

/** Parses one type annotation ("list[str]", "Optional[Person]") as the builder form accepts it. */
export function parseTypeText(text: string, registry: TypeRegistry): TypeExpr {
  const scanner = new Scanner(text, registry);
  scanner.end = text.length;
  scanner.skipSpace();
  const type = scanner.type();
  scanner.skipSpace();
  if (scanner.pos < text.length) scanner.fail('DSPEX_SIGNATURE_SYNTAX', 'unexpected text after the type');
  return type;
}
