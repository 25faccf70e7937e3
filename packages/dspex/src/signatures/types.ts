// The type language of signature fields: DSPy's annotations (str, int, float, bool, Any, list, dict, tuple, set,
// Optional, Union, Literal, custom types) as an immutable discriminated union, with DSPy's display names
// (get_annotation_name) and the signature-syntax printer that the parser reads back.

import { pyFloatRepr, pyNumber } from '../utils/py_json.js';

/** A value allowed inside `Literal[...]`. */
export type LiteralValue = string | number | boolean | null;

/** A field's type as the signature parser reads it (`str`, `list[int]`, `Literal['a', 'b']`, `Optional[T]`, custom types...): a discriminated union on `kind`. */
export type TypeExpr =
  | { readonly kind: 'str' }
  | { readonly kind: 'int' }
  | { readonly kind: 'float' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'any' }
  | { readonly kind: 'none' }
  /** `bare`: written without arguments (`list`), which DSPy names and schemas differently from list[Any]. */
  | { readonly kind: 'list'; readonly item: TypeExpr; readonly bare: boolean }
  | { readonly kind: 'set'; readonly item: TypeExpr; readonly bare: boolean; readonly frozen: boolean }
  | { readonly kind: 'dict'; readonly key: TypeExpr; readonly value: TypeExpr; readonly bare: boolean }
  /** tuple[int, str] (fixed), tuple[int, ...] (variadic: one item type), bare `tuple`, tuple[()] (no items). */
  | { readonly kind: 'tuple'; readonly items: readonly TypeExpr[]; readonly variadic: boolean; readonly bare: boolean }
  /** Flattened, without repeats, at least two members; Optional[T] is a union with `none`. */
  | { readonly kind: 'union'; readonly members: readonly TypeExpr[] }
  /** `wholeFloats`: whole-number values written as floats (`Literal[1.0]`), which Python prints as `1.0`. */
  | { readonly kind: 'literal'; readonly values: readonly LiteralValue[]; readonly wholeFloats?: readonly number[] }
  /** A named type registered with a JSON Schema (a pydantic model on the Python side). */
  | { readonly kind: 'custom'; readonly name: string };

/** The `kind` tag of a TypeExpr. */
export type TypeKind = TypeExpr['kind'];

const freeze = <T extends TypeExpr>(type: T): T => Object.freeze(type);

/** The `t` helpers that build TypeExprs in code (`t.list(t.str)`, `t.literal('a', 'b')`...). */
export interface TypeConstructors {
  readonly str: TypeExpr;
  readonly int: TypeExpr;
  readonly float: TypeExpr;
  readonly bool: TypeExpr;
  readonly any: TypeExpr;
  readonly none: TypeExpr;
  list(item?: TypeExpr, bare?: boolean): TypeExpr;
  set(item?: TypeExpr, bare?: boolean, frozen?: boolean): TypeExpr;
  dict(key?: TypeExpr, value?: TypeExpr, bare?: boolean): TypeExpr;
  tuple(items: readonly TypeExpr[], variadic?: boolean, bare?: boolean): TypeExpr;
  optional(inner: TypeExpr): TypeExpr;
  union(members: readonly TypeExpr[]): TypeExpr;
  literal(values: readonly LiteralValue[], wholeFloats?: readonly number[]): TypeExpr;
  custom(name: string): TypeExpr;
}

/** Constructors; the primitives are shared instances. */
export const t: TypeConstructors = {
  str: freeze({ kind: 'str' }) as TypeExpr,
  int: freeze({ kind: 'int' }) as TypeExpr,
  float: freeze({ kind: 'float' }) as TypeExpr,
  bool: freeze({ kind: 'bool' }) as TypeExpr,
  any: freeze({ kind: 'any' }) as TypeExpr,
  none: freeze({ kind: 'none' }) as TypeExpr,
  list: (item: TypeExpr = t.any, bare = false): TypeExpr => freeze({ kind: 'list', item, bare }),
  set: (item: TypeExpr = t.any, bare = false, frozen = false): TypeExpr => freeze({ kind: 'set', item, bare, frozen }),
  dict: (key: TypeExpr = t.any, value: TypeExpr = t.any, bare = false): TypeExpr => freeze({ kind: 'dict', key, value, bare }),
  tuple: (items: readonly TypeExpr[], variadic = false, bare = false): TypeExpr =>
    freeze({ kind: 'tuple', items: Object.freeze([...items]), variadic, bare }),
  optional: (inner: TypeExpr): TypeExpr => t.union([inner, t.none]),
  /** typing.Union: nested unions flatten, repeats go, a single member is itself. */
  union(members: readonly TypeExpr[]): TypeExpr {
    const flat: TypeExpr[] = [];
    const add = (member: TypeExpr): void => {
      if (member.kind === 'union') member.members.forEach(add);
      else if (!flat.some((seen) => typeEquals(seen, member))) flat.push(member);
    };
    members.forEach(add);
    if (flat.length === 1) return flat[0]!;
    return freeze({ kind: 'union', members: Object.freeze(flat) });
  },
  /** typing.Literal: repeats (same type and value) go. */
  literal(values: readonly LiteralValue[], wholeFloats: readonly number[] = []): TypeExpr {
    const unique: LiteralValue[] = [];
    for (const value of values) if (!unique.some((seen) => seen === value)) unique.push(value);
    if (wholeFloats.length === 0) return freeze({ kind: 'literal', values: Object.freeze(unique) });
    return freeze({ kind: 'literal', values: Object.freeze(unique), wholeFloats: Object.freeze([...wholeFloats]) });
  },
  custom: (name: string): TypeExpr => freeze({ kind: 'custom', name }),
};

/** Whether two type expressions are the same type (structural comparison). */
export function typeEquals(a: TypeExpr, b: TypeExpr): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case 'list':
      return b.kind === 'list' && a.bare === b.bare && typeEquals(a.item, b.item);
    case 'set':
      return b.kind === 'set' && a.bare === b.bare && a.frozen === b.frozen && typeEquals(a.item, b.item);
    case 'dict':
      return b.kind === 'dict' && a.bare === b.bare && typeEquals(a.key, b.key) && typeEquals(a.value, b.value);
    case 'tuple':
      return b.kind === 'tuple' && a.bare === b.bare && a.variadic === b.variadic && sameList(a.items, b.items);
    case 'union':
      return b.kind === 'union' && sameList(a.members, b.members);
    case 'literal':
      return b.kind === 'literal' && a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]) && String(a.wholeFloats ?? []) === String(b.wholeFloats ?? []);
    case 'custom':
      return b.kind === 'custom' && a.name === b.name;
    default:
      return a.kind === b.kind;
  }
}

function sameList(a: readonly TypeExpr[], b: readonly TypeExpr[]): boolean {
  return a.length === b.length && a.every((item, i) => typeEquals(item, b[i]!));
}

/** Whether None is a valid value (DSPy's annotation_allows_none). */
export function allowsNone(type: TypeExpr): boolean {
  if (type.kind === 'none') return true;
  if (type.kind === 'union') return type.members.some(allowsNone);
  return false;
}

/**
 * True for dict[K, V] fields (open-ended mappings that OpenAI structured outputs cannot express). DSPy tests
 * get_origin(annotation) is dict, which a bare `dict` (no origin) does not pass: it gets a strict schema.
 */
export function isOpenMapping(type: TypeExpr): boolean {
  return type.kind === 'dict' && !type.bare;
}

/** A literal value as Python prints it: whole numbers written as floats keep their ".0". */
export function literalDisplay(value: LiteralValue, wholeFloats: readonly number[] | undefined): string {
  return typeof value === 'number' && wholeFloats?.includes(value) ? pyFloatRepr(value) : typeof value === 'string' ? value : literalSyntax(value);
}

function literalAnnotation(value: LiteralValue, wholeFloats: readonly number[] | undefined): string {
  if (typeof value === 'string') {
    // DSPy's _quoted_string_for_literal_type_annotation: no other escaping.
    const single = value.includes("'");
    const double = value.includes('"');
    if (single && !double) return `"${value}"`;
    if (single && double) return `'${value.replaceAll("'", "\\'")}'`;
    return `'${value}'`;
  }
  return literalDisplay(value, wholeFloats);
}

function literalSyntax(value: Exclude<LiteralValue, string>): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return pyNumber(value);
}

const BASE_NAMES: Partial<Record<TypeKind, string>> = { str: 'str', int: 'int', float: 'float', bool: 'bool', any: 'Any', none: 'NoneType' };

/** DSPy's get_annotation_name: "list[str]", "Union[int, NoneType]", "Literal['a', 'b']", "tuple[int, Ellipsis]". */
export function annotationName(type: TypeExpr): string {
  switch (type.kind) {
    case 'list':
      return type.bare ? 'list' : `list[${annotationName(type.item)}]`;
    case 'set': {
      const name = type.frozen ? 'frozenset' : 'set';
      return type.bare ? name : `${name}[${annotationName(type.item)}]`;
    }
    case 'dict':
      return type.bare ? 'dict' : `dict[${annotationName(type.key)}, ${annotationName(type.value)}]`;
    case 'tuple':
      if (type.bare) return 'tuple';
      if (type.variadic) return `tuple[${annotationName(type.items[0]!)}, Ellipsis]`;
      return `tuple[${type.items.map(annotationName).join(', ')}]`;
    case 'union':
      return `Union[${type.members.map(annotationName).join(', ')}]`;
    case 'literal':
      return `Literal[${type.values.map((v) => literalAnnotation(v, type.wholeFloats)).join(', ')}]`;
    case 'custom':
      return type.name.slice(type.name.lastIndexOf('.') + 1);
    default:
      return BASE_NAMES[type.kind]!;
  }
}

/** A Python string literal the signature scanner reads back to the same text. */
function quoteForSyntax(value: string): string {
  let out = "'";
  for (const char of value) {
    if (char === "'" || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char.charCodeAt(0) < 0x20) out += `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}'`;
}

/** The type in signature syntax: what `Signature.toString()` prints and `parseSignature` reads. */
export function typeSyntax(type: TypeExpr): string {
  switch (type.kind) {
    case 'none':
      return 'None';
    case 'list':
      return type.bare ? 'list' : `list[${typeSyntax(type.item)}]`;
    case 'set': {
      const name = type.frozen ? 'frozenset' : 'set';
      return type.bare ? name : `${name}[${typeSyntax(type.item)}]`;
    }
    case 'dict':
      return type.bare ? 'dict' : `dict[${typeSyntax(type.key)}, ${typeSyntax(type.value)}]`;
    case 'tuple':
      if (type.bare) return 'tuple';
      if (type.items.length === 0) return 'tuple[()]';
      return `tuple[${type.items.map(typeSyntax).join(', ')}${type.variadic ? ', ...' : ''}]`;
    case 'union': {
      const [first, second] = type.members;
      if (type.members.length === 2 && second!.kind === 'none') return `Optional[${typeSyntax(first!)}]`;
      return `Union[${type.members.map(typeSyntax).join(', ')}]`;
    }
    case 'literal':
      return `Literal[${type.values.map((v) => (typeof v === 'string' ? quoteForSyntax(v) : literalDisplay(v, type.wholeFloats))).join(', ')}]`;
    case 'custom':
      return type.name;
    default:
      return BASE_NAMES[type.kind]!;
  }
}
