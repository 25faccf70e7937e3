// Validates values against a custom type's JSON Schema the way pydantic validates its model: lax coercion per
// "type", properties in declaration order, defaults filled in, unknown keys dropped (pydantic's extra="ignore"),
// $ref into $defs, anyOf as a smart union. Compiled once per schema object.

import type { JsonValue } from '../utils/py_json.js';
import type { JsonSchema } from './registry.js';
import type { LiteralValue } from './types.js';
import {
  dictValidator, fail, fixedTupleValidator, INVALID, itemsValidator, literalValidator, unionValidator, validateAny,
  validateBool, validateFloat, validateInt, validateNone, validateStr, type Validator,
} from './validators.js';

type SchemaNode = { readonly [key: string]: JsonValue };

const compiled = new WeakMap<object, Validator>();

function isNode(value: JsonValue | undefined): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The validator for a whole schema (the root holds the $defs its $refs point into). */
export function compileSchema(schema: JsonSchema, title: string): Validator {
  const hit = compiled.get(schema);
  if (hit !== undefined) return hit;
  const defs = new Map<string, Validator>();
  const root = schema as SchemaNode;
  const compileRef = (ref: string): Validator => {
    const hitRef = defs.get(ref);
    if (hitRef !== undefined) return hitRef;
    // Recursive models: the slot is filled before the body compiles, and calls through it later.
    let body: Validator = validateAny;
    const forward: Validator = (value, strict, sink) => body(value, strict, sink);
    defs.set(ref, forward);
    const target = resolveRef(root, ref);
    body = target === undefined ? (value, _s, sink) => fail(sink, 'ref_error', `Unresolvable $ref ${ref}`, value) : compileNode(target, title, compileRef);
    return forward;
  };
  const validator = compileNode(root, title, compileRef);
  compiled.set(schema, validator);
  return validator;
}

function resolveRef(root: SchemaNode, ref: string): SchemaNode | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: JsonValue | undefined = root;
  for (const part of ref.slice(2).split('/')) {
    if (!isNode(node)) return undefined;
    node = node[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return isNode(node) ? node : undefined;
}

const BY_TYPE: Record<string, Validator> = {
  string: validateStr,
  integer: validateInt,
  number: validateFloat,
  boolean: validateBool,
  null: validateNone,
};

function compileNode(node: SchemaNode, title: string, compileRef: (ref: string) => Validator): Validator {
  const sub = (child: JsonValue | undefined): Validator => (isNode(child) ? compileNode(child, title, compileRef) : child === false ? never : validateAny);
  if (typeof node.$ref === 'string') return compileRef(node.$ref);
  if (Array.isArray(node.allOf) && node.allOf.length === 1) return sub(node.allOf[0]);
  if (Array.isArray(node.anyOf)) return unionValidator(node.anyOf.map(sub));
  if (Array.isArray(node.oneOf)) return unionValidator(node.oneOf.map(sub));
  if (node.const !== undefined) return literalValidator([node.const as LiteralValue]);
  if (Array.isArray(node.enum)) return literalValidator(node.enum as LiteralValue[]);
  const type = node.type;
  if (Array.isArray(type)) return unionValidator(type.map((member) => sub({ ...node, type: member })));
  switch (type) {
    case 'object':
      return isNode(node.properties) ? modelValidator(node, node.properties, title, sub) : dictValidator(validateStr, sub(node.additionalProperties));
    case 'array':
      if (Array.isArray(node.prefixItems)) return fixedTupleValidator(node.prefixItems.map(sub));
      return itemsValidator(sub(node.items), node.uniqueItems === true ? 'set' : 'list');
    case undefined:
      return validateAny;
    default:
      return Object.hasOwn(BY_TYPE, String(type)) ? BY_TYPE[String(type)]! : validateAny;
  }
}

const never: Validator = (value, _strict, sink) => fail(sink, 'extra_forbidden', 'Extra inputs are not permitted', value);

function modelValidator(node: SchemaNode, properties: SchemaNode, title: string, sub: (child: JsonValue | undefined) => Validator): Validator {
  const names = Object.keys(properties);
  const validators = names.map((name) => sub(properties[name]));
  const required = new Set(Array.isArray(node.required) ? node.required.map(String) : []);
  const defaults = names.map((name) => {
    const property = properties[name];
    return isNode(property) && 'default' in property ? { value: property.default } : undefined;
  });
  const extra = node.additionalProperties;
  const extraValidator = isNode(extra) ? sub(extra) : undefined;
  const modelName = typeof node.title === 'string' ? node.title : title;
  return (value, strict, sink) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return fail(sink, 'model_type', `Input should be a valid dictionary or instance of ${modelName}`, value);
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let ok = true;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      sink?.path.push(name);
      if (Object.hasOwn(input, name)) {
        const result = validators[i]!(input[name], strict, sink);
        if (result === INVALID) ok = false;
        else out[name] = result;
      } else if (defaults[i] !== undefined) {
        out[name] = structuredClone(defaults[i]!.value);
      } else if (required.has(name)) {
        ok = false;
        fail(sink, 'missing', 'Field required', input);
      }
      sink?.path.pop();
    }
    for (const key of Object.keys(input)) {
      if (Object.hasOwn(properties, key)) continue;
      sink?.path.push(key);
      if (extra === false) ok = never(input[key], strict, sink) !== INVALID && ok;
      else if (extra === true) out[key] = input[key];
      else if (extraValidator !== undefined) {
        const result = extraValidator(input[key], strict, sink);
        if (result === INVALID) ok = false;
        else out[key] = result;
      }
      sink?.path.pop();
    }
    return ok ? out : INVALID;
  };
}
