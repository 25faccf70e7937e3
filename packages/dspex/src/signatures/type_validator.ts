// Compiles a signature field's type into a validator, once per type object. Custom types resolve in the
// signature's registry and validate through their JSON Schema.

import type { TypeRegistry } from './registry.js';
import { compileSchema } from './schema_validator.js';
import { annotationName, type TypeExpr } from './types.js';
import {
  dictValidator, fail, fixedTupleValidator, itemsValidator, literalValidator, unionValidator, validateAny, validateBool,
  validateFloat, validateInt, validateNone, validateStr, type Validator,
} from './validators.js';

const compiled = new WeakMap<TypeRegistry, WeakMap<TypeExpr, Validator>>();

/** The validator of a type, compiled once per (registry, type object). */
export function typeValidator(type: TypeExpr, registry: TypeRegistry): Validator {
  let cache = compiled.get(registry);
  if (cache === undefined) compiled.set(registry, (cache = new WeakMap()));
  const hit = cache.get(type);
  if (hit !== undefined) return hit;
  const made = buildValidator(type, registry);
  cache.set(type, made);
  return made;
}

function buildValidator(type: TypeExpr, registry: TypeRegistry): Validator {
  switch (type.kind) {
    case 'str': return validateStr;
    case 'int': return validateInt;
    case 'float': return validateFloat;
    case 'bool': return validateBool;
    case 'none': return validateNone;
    case 'any': return validateAny;
    case 'list': return itemsValidator(typeValidator(type.item, registry), 'list');
    case 'set': return itemsValidator(typeValidator(type.item, registry), 'set');
    case 'dict': return dictValidator(typeValidator(type.key, registry), typeValidator(type.value, registry));
    case 'tuple':
      if (type.variadic || type.bare) return itemsValidator(typeValidator(type.items[0]!, registry), 'tuple');
      return fixedTupleValidator(type.items.map((item) => typeValidator(item, registry)));
    case 'union': return unionValidator(type.members.map((member) => typeValidator(member, registry)));
    case 'literal': return literalValidator(type.values);
    case 'custom': {
      const custom = registry.get(type.name);
      if (custom === undefined) return (value, _s, sink) => fail(sink, 'unknown_type', `Type ${type.name} is not registered`, value);
      return compileSchema(custom.schema, annotationName(type));
    }
  }
}
