// JSON Schema from signature types, as pydantic generates it (custom types under $defs), plus the forms built
// on it: the sorted schema DSPy prints in prompts, the outputs model DSPy sends as structured output
// (DSPyProgramOutputs, closed and all-required), OpenAI response_format / function and Anthropic tool schemas.

import type { JsonValue } from '../utils/py_json.js';
import { pyTitle } from '../utils/py_text.js';
import type { FieldSpec } from './field.js';
import type { JsonSchema, TypeRegistry } from './registry.js';
import type { LiteralValue, TypeExpr } from './types.js';

/** A JSON Schema object built from a signature (for `response_format`, tools and prompts). */
export type SchemaObject = { [key: string]: JsonValue };

function literalSchema(values: readonly LiteralValue[], wholeFloats: readonly number[] | undefined): SchemaObject {
  const kinds = new Set(values.map((v) => (v === null ? 'null' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : Number.isInteger(v) && !wholeFloats?.includes(v) ? 'integer' : 'number')));
  const schema: SchemaObject = values.length === 1 ? { const: values[0]! } : { enum: [...values] };
  if (kinds.size === 1) schema.type = [...kinds][0]!;
  return schema;
}

/** Adds a custom type's schema to `defs` (its own $defs hoisted beside it) and returns its definition. */
function hoist(name: string, schema: JsonSchema, defs: SchemaObject): SchemaObject {
  const { $defs, ...body } = schema as SchemaObject;
  if ($defs !== null && typeof $defs === 'object' && !Array.isArray($defs)) Object.assign(defs, structuredClone($defs));
  const key = name.slice(name.lastIndexOf('.') + 1);
  defs[key] = structuredClone(body);
  return { $ref: `#/$defs/${key}` };
}

/** pydantic's schema for a type nested in another: custom types become $refs into `defs`. */
function nestedSchema(type: TypeExpr, registry: TypeRegistry, defs: SchemaObject): SchemaObject {
  const nested = (inner: TypeExpr): SchemaObject => nestedSchema(inner, registry, defs);
  switch (type.kind) {
    case 'str': return { type: 'string' };
    case 'int': return { type: 'integer' };
    case 'float': return { type: 'number' };
    case 'bool': return { type: 'boolean' };
    case 'none': return { type: 'null' };
    case 'any': return {};
    case 'list': return { items: nested(type.item), type: 'array' };
    case 'set': return { items: nested(type.item), type: 'array', uniqueItems: true };
    case 'dict': {
      const value = type.value.kind === 'any' ? true : nested(type.value);
      return { additionalProperties: value, type: 'object' };
    }
    case 'tuple':
      if (type.variadic || type.bare) return { items: nested(type.items[0]!), type: 'array' };
      return { maxItems: type.items.length, minItems: type.items.length, ...(type.items.length > 0 ? { prefixItems: type.items.map(nested) } : {}), type: 'array' };
    // pydantic makes a union with None nullable: the null schema comes last, whatever the written order.
    case 'union': return { anyOf: [...type.members.filter((m) => m.kind !== 'none'), ...type.members.filter((m) => m.kind === 'none')].map(nested) };
    case 'literal': return literalSchema(type.values, type.wholeFloats);
    case 'custom': {
      const custom = registry.get(type.name);
      return custom === undefined ? {} : hoist(type.name, custom.schema, defs);
    }
  }
}

/** pydantic's TypeAdapter(type).json_schema(): a custom type at the top is its own schema; others carry $defs. */
export function typeSchema(type: TypeExpr, registry: TypeRegistry): SchemaObject {
  if (type.kind === 'custom') {
    const custom = registry.get(type.name);
    if (custom !== undefined) return structuredClone(custom.schema) as SchemaObject;
  }
  const defs: SchemaObject = {};
  const schema = nestedSchema(type, registry, defs);
  return Object.keys(defs).length > 0 ? { $defs: defs, ...schema } : schema;
}

/** DSPy's move_type_to_front: keys sorted with "type" first, recursively (for LM readability). */
export function sortSchema(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortSchema);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort((a, b) => (a === 'type' ? -1 : b === 'type' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const out: SchemaObject = {};
  for (const key of keys) out[key] = sortSchema(value[key]!);
  return out;
}

/** The schema DSPy prints after "must adhere to the JSON schema: " (_get_json_schema). */
export function promptSchema(type: TypeExpr, registry: TypeRegistry): JsonValue {
  return sortSchema(typeSchema(type, registry));
}

/** pydantic's default field title: name.title() with underscores as spaces. */
export function fieldTitle(name: string): string {
  return pyTitle(name).replaceAll('_', ' ');
}

/** pydantic sets no field title on a model reference, nor on an Optional one (a nullable wrapper around it). */
function isModelReference(type: TypeExpr): boolean {
  if (type.kind === 'custom') return true;
  return type.kind === 'union' && type.members.length === 2 && type.members.some((m) => m.kind === 'none') && type.members.some((m) => m.kind === 'custom');
}

/** model_json_schema() of DSPy's DSPyProgramOutputs model (extra="forbid") built from the output fields. */
export function outputsModelSchema(outputs: readonly FieldSpec[], registry: TypeRegistry, title = 'DSPyProgramOutputs'): SchemaObject {
  const defs: SchemaObject = {};
  const properties: SchemaObject = {};
  const required: string[] = [];
  for (const field of outputs) {
    const schema = nestedSchema(field.type, registry, defs);
    const property: SchemaObject = isModelReference(field.type) ? schema : { ...schema, title: fieldTitle(field.name) };
    if (field.default !== undefined) property.default = field.default;
    else required.push(field.name);
    properties[field.name] = property;
  }
  const model: SchemaObject = { additionalProperties: false, properties, required, title, type: 'object' };
  return Object.keys(defs).length > 0 ? { $defs: defs, ...model } : model;
}

/** DSPy's enforce_required: closed objects listing every property, through properties, items and $defs. */
export function enforceRequired(schema: SchemaObject): SchemaObject {
  if (schema.type === 'object') {
    const properties = schema.properties;
    if (properties !== null && typeof properties === 'object' && !Array.isArray(properties)) {
      schema.required = Object.keys(properties);
      schema.additionalProperties = false;
      for (const sub of Object.values(properties)) if (isObject(sub)) enforceRequired(sub);
    } else {
      schema.properties = {};
      schema.required = [];
      schema.additionalProperties = false;
    }
  }
  if (schema.type === 'array' && isObject(schema.items)) enforceRequired(schema.items);
  for (const key of ['$defs', 'definitions']) {
    const defs = schema[key];
    if (isObject(defs)) for (const sub of Object.values(defs)) if (isObject(sub)) enforceRequired(sub);
  }
  return schema;
}

function isObject(value: JsonValue | undefined): value is SchemaObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}

function resolveRef(root: SchemaObject, ref: string): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const part of ref.slice(2).split('/')) node = isObject(node) ? node[part] : undefined;
  return node;
}

/** The OpenAI SDK's to_strict_json_schema rules, as DSPy applies them before sending a generated schema. */
export function strictJsonSchema(schema: JsonValue, root?: SchemaObject): JsonValue {
  if (!isObject(schema)) return schema;
  const top = root ?? schema;
  let out: SchemaObject = { ...schema };
  for (const key of ['$defs', 'definitions']) {
    const defs = out[key];
    if (isObject(defs)) out[key] = Object.fromEntries(Object.entries(defs).map(([name, sub]) => [name, strictJsonSchema(sub, top)]));
  }
  if (out.type === 'object' && !('additionalProperties' in out)) out.additionalProperties = false;
  const properties = out.properties;
  if (isObject(properties)) {
    out.required = Object.keys(properties);
    out.properties = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, strictJsonSchema(sub, top)]));
  }
  if (isObject(out.items)) out.items = strictJsonSchema(out.items, top);
  if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((item) => strictJsonSchema(item, top));
  if (Array.isArray(out.allOf)) {
    if (out.allOf.length === 1) {
      const [only] = out.allOf;
      delete out.allOf;
      Object.assign(out, strictJsonSchema(only!, top));
    } else out.allOf = out.allOf.map((item) => strictJsonSchema(item, top));
  }
  if ('default' in out && out.default === null) delete out.default;
  const ref = out.$ref;
  if (typeof ref === 'string' && Object.keys(out).length > 1) {
    const resolved = resolveRef(top, ref);
    if (isObject(resolved)) {
      const { $ref: _dropped, ...siblings } = out;
      out = { ...(strictJsonSchema(resolved, top) as SchemaObject), ...siblings };
    }
  }
  return out;
}
