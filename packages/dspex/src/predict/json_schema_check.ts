// A small JSON Schema validator for tool arguments: the keywords function-calling schemas use (type, enum,
// const, properties, required, additionalProperties, items, anyOf/oneOf/allOf, bounds, pattern). Messages follow
// Python's jsonschema, which DSPy's Tool quotes in its "Arg x is invalid: ..." errors.

import { pyRepr } from '../utils/py_json.js';

/** A JSON Schema as a tool's argument schema. */
export type JsonSchemaObject = { readonly [keyword: string]: unknown };

function typeMatches(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    default:
      return true;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The first violation of `schema` by `value`, as jsonschema words it, or null when the value fits. */
export function schemaViolation(value: unknown, schema: JsonSchemaObject): string | null {
  const type = schema['type'];
  if (typeof type === 'string' && !typeMatches(value, type)) return `${pyRepr(value)} is not of type '${type}'`;
  if (Array.isArray(type) && !type.some((t) => typeof t === 'string' && typeMatches(value, t))) {
    return `${pyRepr(value)} is not of type ${type.map((t) => pyRepr(t)).join(', ')}`;
  }
  const allowed = schema['enum'];
  if (Array.isArray(allowed) && !allowed.some((option) => sameJson(option, value))) return `${pyRepr(value)} is not one of ${pyRepr(allowed)}`;
  if ('const' in schema && !sameJson(schema['const'], value)) return `${pyRepr(schema['const'])} was expected`;

  if (typeof value === 'number') {
    const minimum = schema['minimum'];
    const maximum = schema['maximum'];
    if (typeof minimum === 'number' && value < minimum) return `${pyRepr(value)} is less than the minimum of ${pyRepr(minimum)}`;
    if (typeof maximum === 'number' && value > maximum) return `${pyRepr(value)} is greater than the maximum of ${pyRepr(maximum)}`;
  }
  if (typeof value === 'string') {
    const minLength = schema['minLength'];
    const maxLength = schema['maxLength'];
    const pattern = schema['pattern'];
    if (typeof minLength === 'number' && [...value].length < minLength) return `${pyRepr(value)} is too short`;
    if (typeof maxLength === 'number' && [...value].length > maxLength) return `${pyRepr(value)} is too long`;
    if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) return `${pyRepr(value)} does not match ${pyRepr(pattern)}`;
  }
  if (Array.isArray(value) && schema['items'] && typeof schema['items'] === 'object') {
    for (const item of value) {
      const problem = schemaViolation(item, schema['items'] as JsonSchemaObject);
      if (problem) return problem;
    }
  }
  if (typeMatches(value, 'object') && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const required = schema['required'];
    if (Array.isArray(required)) {
      for (const key of required) if (typeof key === 'string' && !(key in record)) return `${pyRepr(key)} is a required property`;
    }
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchemaObject>;
    for (const [key, item] of Object.entries(record)) {
      const propertySchema = properties[key];
      if (propertySchema) {
        const problem = schemaViolation(item, propertySchema);
        if (problem) return problem;
      } else if (schema['additionalProperties'] === false) {
        return `Additional properties are not allowed (${pyRepr(key)} was unexpected)`;
      } else if (schema['additionalProperties'] && typeof schema['additionalProperties'] === 'object') {
        const problem = schemaViolation(item, schema['additionalProperties'] as JsonSchemaObject);
        if (problem) return problem;
      }
    }
  }
  const anyOf = schema['anyOf'] ?? schema['oneOf'];
  if (Array.isArray(anyOf) && !anyOf.some((option) => schemaViolation(value, option as JsonSchemaObject) === null)) {
    return `${pyRepr(value)} is not valid under any of the given schemas`;
  }
  const allOf = schema['allOf'];
  if (Array.isArray(allOf)) {
    for (const part of allOf) {
      const problem = schemaViolation(value, part as JsonSchemaObject);
      if (problem) return problem;
    }
  }
  return null;
}
