// Rendering of field values and field lists, shared by ChatAdapter and JSONAdapter: DSPy's format_field_value
// (numbered blobs for lists in str fields, JSON for containers, str() otherwise), the field description list,
// and the marker neutralisation that keeps an input value from posing as a `[[ ## field ## ]]` header.

import type { CompiledField, CompiledSignature } from '../signatures/compiler.js';
import type { JsonSchema, TypeRegistry } from '../signatures/registry.js';
import type { TypeExpr } from '../signatures/types.js';
import { PyFloat, pyJsonDumps, pyStr } from '../utils/py_json.js';
import { pyStrip } from '../utils/py_text.js';

/**
 * serialize_for_json, type-directed: JS has one number type, so a number in a float position becomes a PyFloat
 * (rendered "1.0" as Python renders the float DSPy holds there). Sets become arrays, Maps objects, Dates ISO text.
 */
export function toPyJson(value: unknown, type: TypeExpr | undefined, registry: TypeRegistry): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return type !== undefined && isFloatPosition(type, registry) && Number.isInteger(value) ? new PyFloat(value) : value;
  if (typeof value !== 'object') return value;
  if (value instanceof PyFloat) return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) || value instanceof Set) {
    const item = type === undefined ? undefined : itemType(type);
    return [...value].map((v) => toPyJson(v, item, registry));
  }
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) out[String(key)] = toPyJson(v, type === undefined ? undefined : memberType(type, String(key), registry), registry);
  return out;
}

function isFloatPosition(type: TypeExpr, registry: TypeRegistry): boolean {
  if (type.kind === 'float') return true;
  if (type.kind === 'union') return type.members.some((m) => m.kind === 'float') && !type.members.some((m) => m.kind === 'int');
  if (type.kind === 'custom') return registry.get(type.name)?.schema.type === 'number';
  return false;
}

function itemType(type: TypeExpr): TypeExpr | undefined {
  if (type.kind === 'list' || type.kind === 'set') return type.item;
  if (type.kind === 'tuple' && (type.variadic || type.bare)) return type.items[0];
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
