// Custom types: names a signature may use (`person: Person`) bound to a JSON Schema, the role pydantic models
// play in DSPy. The schema is what DSPy prints in prompts and what outputs validate against. Registrations are
// permanent: a name cannot be rebound to another schema, so cached signatures never go stale.

import type { JsonValue } from '../utils/py_json.js';
import { SignatureError } from './errors.js';
import { HISTORY_SCHEMA, HISTORY_TYPE_NAME } from './history.js';

/** A JSON Schema as a plain JSON object. */
export type JsonSchema = { readonly [key: string]: JsonValue };

/** A custom field type: its name, JSON Schema and the description shown in prompts. */
export interface CustomType {
  readonly name: string;
  /** JSON Schema of the type, e.g. pydantic's Model.model_json_schema() (nested models under $defs). */
  readonly schema: JsonSchema;
  /** Shown in the field list as "Type description of X: ..." (DSPy does this for dspy.Type subclasses). */
  readonly description?: string;
}

export const BUILTIN_TYPE_NAMES: ReadonlySet<string> = new Set([
  'str', 'int', 'float', 'bool', 'Any', 'list', 'dict', 'tuple', 'set', 'frozenset', 'Optional', 'Union', 'Literal',
  'None', 'NoneType', 'List', 'Dict', 'Tuple', 'Set', 'FrozenSet',
]);

/**
 * DSPy's own types, known to every registry without registering them. A registration of the same name takes
 * precedence (an app that registered `dspy.History` itself before dspex knew it keeps working); the adapters
 * recognise a History field by its name either way.
 */
const DSPY_TYPES: ReadonlyMap<string, CustomType> = new Map([[HISTORY_TYPE_NAME, Object.freeze({ name: HISTORY_TYPE_NAME, schema: HISTORY_SCHEMA })]]);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function stableJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${stableJson(value[key]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The custom types a signature may name, each with its JSON Schema; `defaultTypeRegistry` holds the app's; DSPy's own (`dspy.History`) are known to every registry. */
export class TypeRegistry {
  private readonly types = new Map<string, CustomType>();
  private readonly fingerprints = new Map<string, string>();

  constructor(types: Iterable<CustomType> = []) {
    for (const type of types) this.register(type.name, type.schema, type.description);
  }

  /** Binds `name` to `schema`. Registering the same schema again is a no-op; another schema is an error. */
  register(name: string, schema: JsonSchema, description?: string): CustomType {
    if (!NAME.test(name)) throw new SignatureError('DSPEX_SIGNATURE_BAD_IDENTIFIER', `custom type name "${name}" is not an identifier (dotted names like Outer.Inner are allowed)`);
    if (BUILTIN_TYPE_NAMES.has(name)) throw new SignatureError('DSPEX_SIGNATURE_TYPE_CONFLICT', `"${name}" is a built-in type name; pick another name for the custom type`);
    const fingerprint = stableJson(schema as JsonValue) + (description ?? '');
    const existing = this.fingerprints.get(name);
    if (existing !== undefined) {
      if (existing === fingerprint) return this.types.get(name)!;
      throw new SignatureError('DSPEX_SIGNATURE_TYPE_CONFLICT', `custom type "${name}" is already registered with another schema; register the new schema under a new name`);
    }
    const type: CustomType = Object.freeze({ name, schema: structuredClone(schema), ...(description === undefined ? {} : { description }) });
    this.types.set(name, type);
    this.fingerprints.set(name, fingerprint);
    return type;
  }

  /** The type registered under `name`, else DSPy's own type of that name (`dspy.History`), else undefined. */
  get(name: string): CustomType | undefined {
    return this.types.get(name) ?? DSPY_TYPES.get(name);
  }

  has(name: string): boolean {
    return this.types.has(name) || DSPY_TYPES.has(name);
  }

  /** The types registered here (DSPy's own, always available, are not listed). */
  list(): CustomType[] {
    return [...this.types.values()];
  }
}

/** The registry string signatures resolve against unless given another one. */
export const defaultTypeRegistry = new TypeRegistry();

/** Registers a custom type in the default registry. */
export function registerType(name: string, schema: JsonSchema, description?: string): CustomType {
  return defaultTypeRegistry.register(name, schema, description);
}
