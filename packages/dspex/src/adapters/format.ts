// Rendering of field values and field lists, shared by ChatAdapter and JSONAdapter: DSPy's format_field_value
// (numbered blobs for lists in str fields, JSON for containers, str() otherwise), the field description list,
// and the marker neutralisation that keeps an input value from posing as a `[[ ## field ## ]]` header.

import type { CompiledField, CompiledSignature } from '../signatures/compiler.js';
import type { JsonSchema, TypeRegistry } from '../signatures/registry.js';
import type { TypeExpr } from '../signatures/types.js';
import { PyFloat, pyJsonDumps, pyNumber, pyStr } from '../utils/py_json.js';
import { pyStrip } from '../utils/py_text.js';

/**
 * serialize_for_json, type-directed: JS has one number type, so a number in a float position becomes a PyFloat
 * (rendered "1.0" as Python renders the float DSPy holds there), through lists, tuple positions, unions and dict
 * values. Sets become arrays, Maps keep their order (keys as pydantic writes them), Dates ISO text; NaN and the
 * infinities inside a container become null, as pydantic's JSON mode writes them (a bare one stays "nan").
 */
export function toPyJson(value: unknown, type: TypeExpr | undefined, registry: TypeRegistry, nested = false): unknown {
  if (value === null || value === undefined) return null;
  const position = type === undefined ? undefined : resolvePosition(type, value);
  if (typeof value === 'number') {
    if (nested && !Number.isFinite(value)) return null;
    const literals = position?.kind === 'union' ? position.members : position === undefined ? [] : [position];
    if (literals.some((m) => m.kind === 'literal' && m.wholeFloats?.includes(value))) return new PyFloat(value);
    return position !== undefined && isFloatPosition(position, registry) && Number.isInteger(value) ? new PyFloat(value) : value;
  }
  if (typeof value !== 'object') return value;
  if (value instanceof PyFloat) return nested && !Number.isFinite(value.value) ? null : value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) || value instanceof Set) {
    return [...value].map((v, i) => toPyJson(v, position === undefined ? undefined : itemType(position, i), registry, true));
  }
  if (value instanceof Map) {
    const out = new Map<string, unknown>();
    for (const [key, v] of value) out.set(pyKey(key), toPyJson(v, position === undefined ? undefined : memberType(position, String(key), registry), registry, true));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = toPyJson(v, position === undefined ? undefined : memberType(position, key, registry), registry, true);
  return out;
}

/** A dict key as pydantic's JSON mode writes it: str() of the key. */
function pyKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key === null || key === undefined) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (typeof key === 'number') return pyNumber(key);
  return String(key);
}

/** The member of a union a value belongs to (by its shape), or the type itself. */
function resolvePosition(type: TypeExpr, value: unknown): TypeExpr {
  if (type.kind !== 'union') return type;
  if (typeof value === 'number' || value instanceof PyFloat) return type;
  const container = Array.isArray(value) || value instanceof Set;
  const preferred = value instanceof Set ? 'set' : null;
  const match =
    (preferred === null ? undefined : type.members.find((m) => m.kind === preferred)) ??
    type.members.find((m) => (container ? m.kind === 'list' || m.kind === 'set' || m.kind === 'tuple' : typeof value === 'object' ? m.kind === 'dict' || m.kind === 'custom' : false));
  return match ?? type;
}

function isFloatPosition(type: TypeExpr, registry: TypeRegistry): boolean {
  if (type.kind === 'float') return true;
  if (type.kind === 'union') return type.members.some((m) => m.kind === 'float') && !type.members.some((m) => m.kind === 'int' || m.kind === 'any');
  if (type.kind === 'custom') return registry.get(type.name)?.schema.type === 'number';
  return false;
}

function itemType(type: TypeExpr, index: number): TypeExpr | undefined {
  if (type.kind === 'list' || type.kind === 'set') return type.item;
  if (type.kind === 'tuple') return type.variadic || type.bare ? type.items[0] : type.items[index];
  return undefined;
}

function memberType(type: TypeExpr, key: string, registry: TypeRegistry): TypeExpr | undefined {
  if (type.kind === 'dict') return type.value;
  if (type.kind === 'custom') {
    const custom = registry.get(type.name);
    const properties = custom?.schema.properties as JsonSchema | undefined;
    const property = properties?.[key] as JsonSchema | undefined;
    if (property?.type === 'number') return { kind: 'float' };
  }
  return undefined;
}

/** DSPy's _format_blob: one line in guillemets, or an indented block. */
function formatBlob(blob: string): string {
  if (!blob.includes('\n') && !blob.includes('\u00ab') && !blob.includes('\u00bb')) return `\u00ab${blob}\u00bb`;
  return `\u00ab\u00ab\u00ab\n    ${blob.replaceAll('\n', '\n    ')}\n\u00bb\u00bb\u00bb`;
}

function formatListForStrField(values: readonly unknown[]): string {
  if (values.length === 0) return 'N/A';
  if (values.length === 1) return formatBlob(pyStr(values[0]));
  return values.map((v, i) => `[${i + 1}] ${formatBlob(pyStr(v))}`).join('\n');
}

/** DSPy's format_field_value for one field. */
export function formatFieldValue(field: CompiledField, value: unknown, registry: TypeRegistry): string {
  if (Array.isArray(value) && field.spec.type.kind === 'str') return formatListForStrField(value);
  const jsonable = toPyJson(value, field.spec.type, registry);
  if (jsonable !== null && typeof jsonable === 'object' && !(jsonable instanceof PyFloat)) return pyJsonDumps(jsonable);
  return pyStr(jsonable);
}

/**
 * Neutralises the `[[ ## name ## ]]` markers inside a rendered value that could pass for a header of this
 * signature (a field of it, or `completed`) by escaping their brackets (`\[\[ ## name ## \]\]`): the text still
 * reads the same to the LM, but neither the LM's echo of it nor our parser (nor DSPy's) can take it for a field
 * header. Other markers (a ReAct trajectory's `thought_0`, say) and values without markers are left as they
 * are, so prompts stay byte-identical to DSPy's unless a value tries to forge one of our headers.
 */
export function neutraliseMarkers(text: string, headers: ReadonlySet<string>): string {
  if (!text.includes('[[ ## ')) return text;
  return text.replace(/\[\[ ## ([\p{L}\p{N}_]+) ## \]\]/gu, (marker, name: string) => (headers.has(name) ? `\\[\\[ ## ${name} ## \\]\\]` : marker));
}

const headerSets = new WeakMap<CompiledSignature, ReadonlySet<string>>();

/** The names a marker could forge a header of in `compiled`'s prompts: its fields and `completed`. */
export function headerNames(compiled: CompiledSignature): ReadonlySet<string> {
  let names = headerSets.get(compiled);
  if (names === undefined) {
    names = new Set([...compiled.inputs, ...compiled.outputs].map((f) => f.spec.name).concat('completed'));
    headerSets.set(compiled, names);
  }
  return names;
}

/** DSPy's get_field_description_string: "1. `question` (str): desc", one line per field. */
export function fieldDescriptions(fields: readonly CompiledField[], compiled: CompiledSignature): string {
  const lines = fields.map((field, index) => {
    const spec = field.spec;
    let desc = spec.desc === `\${${spec.name}}` ? '' : spec.desc;
    if (spec.type.kind === 'custom') {
      const custom = compiled.signature.registry.get(spec.type.name);
      if (custom?.description) desc += `\n    Type description of ${field.annotation}: ${custom.description}`;
    }
    const constraints = spec.constraints ? `\nConstraints: ${spec.constraints}` : '';
    return `${index + 1}. \`${spec.name}\` (${field.annotation}): ${desc}${constraints}`;
  });
  return pyStrip(lines.join('\n'));
}
