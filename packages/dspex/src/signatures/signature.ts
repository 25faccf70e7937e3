// Signature: an immutable value holding instructions and ordered input/output fields, with DSPy's operations
// (with_instructions, append/prepend/insert/delete, with_updated_fields, dump_state/load_state). Parsing a
// string goes through a cache, so a hot path that names its signature by string pays a Map lookup.

import { cleandoc } from '../utils/py_text.js';
import { SignatureError } from './errors.js';
import { defaultInstructions, makeField, type FieldDefinition, type FieldOptions, type FieldRole, type FieldSpec } from './field.js';
import { parseSignatureText, parseTypeText } from './parser.js';
import { defaultTypeRegistry, TypeRegistry, type CustomType } from './registry.js';
import { t, typeEquals, typeSyntax, type TypeExpr } from './types.js';
import type { Fields, InputsOf, OutputsOf } from './infer.js';
import type { JsonValue } from '../utils/py_json.js';

/** Options of a Signature: its instructions and the type registry its annotations are read with. */
export interface SignatureOptions {
  /** Instructions; DSPy's default ("Given the fields ...") when absent. */
  instructions?: string;
  /** Where custom type names resolve (default: the global registry). */
  registry?: TypeRegistry;
}

/** DSPy's dump_state(): what optimizers save. */
export interface SignatureState {
  instructions: string;
  fields: { prefix: string; description: string }[];
}

/** A plain-data form that crosses threads and processes (custom types travel with it). */
export interface SignatureJSON {
  instructions: string;
  fields: { name: string; role: FieldRole; type: string; typeDeclared: boolean; desc: string; prefix: string; constraints?: string; default?: JsonValue }[];
  customTypes: CustomType[];
}

/** Changes to one field in `signature.withUpdatedFields(name, update)`: its description, prefix, type or constraints. */
export interface FieldUpdate {
  desc?: string;
  prefix?: string;
  type?: TypeExpr | string;
  constraints?: string;
}

const CACHE_LIMIT = 4096;
const defaultCache = new Map<string, Signature>();
const registryCaches = new WeakMap<TypeRegistry, Map<string, Signature>>();

function remember(cache: Map<string, Signature>, key: string, signature: Signature): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, signature);
}

/** `I` and `O` type the input and output fields (loose records unless parsed from a literal or built by the builder). */
export class Signature<I extends Fields = Fields, O extends Fields = Fields> {
  /** Type-level only (never set): the field types that Predict and the other modules read. */
  declare readonly fieldTypes?: { readonly inputs: I; readonly outputs: O };
  readonly instructions: string;
  readonly inputFields: readonly FieldSpec[];
  readonly outputFields: readonly FieldSpec[];
  readonly registry: TypeRegistry;

  /**
   * `doc` is the text DSPy would set as the class docstring: instructions are inspect.cleandoc(doc), and an
   * empty doc (pydantic drops it) or none at all means the default instructions for these fields. Every field
   * operation re-creates the signature from the current instructions, so cleandoc applies again, as in DSPy.
   */
  private constructor(doc: string | undefined, inputs: readonly FieldSpec[], outputs: readonly FieldSpec[], registry: TypeRegistry, verbatim = false) {
    this.instructions = verbatim ? doc! : doc === undefined || doc === '' ? defaultInstructions(inputs, outputs) : cleandoc(doc);
    this.inputFields = Object.freeze(inputs);
    this.outputFields = Object.freeze(outputs);
    this.registry = registry;
    Object.freeze(this);
  }

  /** Parses "question: str, context: list[str] -> answer". Cached by text (and instructions, registry). */
  static parse<T extends string>(text: T, options?: SignatureOptions): Signature<InputsOf<T>, OutputsOf<T>> {
    const registry = options?.registry ?? defaultTypeRegistry;
    let cache = registry === defaultTypeRegistry ? defaultCache : registryCaches.get(registry);
    if (cache === undefined) registryCaches.set(registry, (cache = new Map()));
    const key = options?.instructions === undefined ? text : `${text}\u0000${options.instructions}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit as Signature<InputsOf<T>, OutputsOf<T>>;
    const signature = Signature.parseUncached(text, options);
    remember(cache, key, signature);
    return signature as Signature<InputsOf<T>, OutputsOf<T>>;
  }

  /** Parses without the cache (what the cache stores; also what a benchmark of the parser measures). */
  static parseUncached(text: string, options?: SignatureOptions): Signature {
    const registry = options?.registry ?? defaultTypeRegistry;
    const parsed = parseSignatureText(text, registry);
    const inputs: FieldSpec[] = [];
    const outputs: FieldSpec[] = [];
    for (const f of parsed.inputs) inputs.push(makeField(f.name, 'input', f.type, f.typeDeclared));
    for (const f of parsed.outputs) outputs.push(makeField(f.name, 'output', f.type, f.typeDeclared));
    return new Signature(options?.instructions, inputs, outputs, registry);
  }

  /** DSPy's make_signature with a dict: named InputField/OutputField definitions, in order. */
  static fromFields(fields: Record<string, FieldDefinition> | readonly (readonly [string, FieldDefinition])[], options?: SignatureOptions): Signature {
    const registry = options?.registry ?? defaultTypeRegistry;
    const entries: readonly (readonly [string, FieldDefinition])[] = Array.isArray(fields) ? fields : Object.entries(fields);
    const specs = entries.map(([name, definition]) => resolveField(name, definition, registry));
    return Signature.assemble(specs, options?.instructions, registry);
  }

  /** Orders fields inputs-first, checks names, applies default instructions. */
  private static assemble(fields: readonly FieldSpec[], instructions: string | undefined, registry: TypeRegistry): Signature {
    const seen = new Set<string>();
    for (const field of fields) {
      if (seen.has(field.name)) throw new SignatureError('DSPEX_SIGNATURE_DUPLICATE_FIELD', `field "${field.name}" appears twice; input and output fields must have distinct names`);
      seen.add(field.name);
    }
    const inputs = fields.filter((f) => f.role === 'input');
    const outputs = fields.filter((f) => f.role === 'output');
    return new Signature(instructions, inputs, outputs, registry);
  }

  /** Inputs first, then outputs (DSPy's `fields`). */
  get fields(): readonly FieldSpec[] {
    return [...this.inputFields, ...this.outputFields];
  }

  field(name: string): FieldSpec | undefined {
    return this.inputFields.find((f) => f.name === name) ?? this.outputFields.find((f) => f.name === name);
  }

  /** DSPy's `signature` property: names only, "question, context -> answer". */
  get signature(): string {
    return `${this.inputFields.map((f) => f.name).join(', ')} -> ${this.outputFields.map((f) => f.name).join(', ')}`;
  }

  /** The typed string form; Signature.parse reads it back to an equal signature (instructions aside). */
  toString(): string {
    const side = (fields: readonly FieldSpec[]): string => fields.map((f) => (f.typeDeclared ? `${f.name}: ${typeSyntax(f.type)}` : f.name)).join(', ');
    return `${side(this.inputFields)} -> ${side(this.outputFields)}`;
  }

  withInstructions(instructions: string): Signature {
    return new Signature(instructions, this.inputFields, this.outputFields, this.registry);
  }

  appendInstructions(instructions: string): Signature {
    return this.withInstructions(`${this.instructions}\n\n${instructions}`);
  }

  /** A copy with one field's desc, prefix, type or constraints changed. */
  withUpdatedFields(name: string, update: FieldUpdate): Signature {
    const field = this.requireField(name);
    const type = update.type === undefined ? field.type : resolveType(update.type, this.registry);
    const options: FieldOptions = {
      desc: update.desc ?? field.desc,
      prefix: update.prefix ?? field.prefix,
      ...(update.constraints ?? field.constraints) === undefined ? {} : { constraints: update.constraints ?? field.constraints },
      ...(field.default === undefined ? {} : { default: field.default }),
    };
    const updated = makeField(name, field.role, type, field.typeDeclared || update.type !== undefined, options);
    const swap = (fields: readonly FieldSpec[]): FieldSpec[] => fields.map((f) => (f.name === name ? updated : f));
    return new Signature(this.instructions, swap(this.inputFields), swap(this.outputFields), this.registry);
  }

  /** Inserts at the start of the inputs or outputs (by the definition's role). ChainOfThought prepends `reasoning`. */
  prepend(name: string, definition: FieldDefinition, type?: TypeExpr | string): Signature {
    return this.insert(0, name, definition, type);
  }

  append(name: string, definition: FieldDefinition, type?: TypeExpr | string): Signature {
    return this.insert(-1, name, definition, type);
  }

  /** DSPy's insert: negative indexes count from the end (-1 appends). */
  insert(index: number, name: string, definition: FieldDefinition, type?: TypeExpr | string): Signature {
    if (this.field(name) !== undefined) throw new SignatureError('DSPEX_SIGNATURE_DUPLICATE_FIELD', `field "${name}" already exists; delete it first or use withUpdatedFields`);
    const field = resolveField(name, type === undefined ? definition : { ...definition, type }, this.registry);
    const list = [...(definition.role === 'input' ? this.inputFields : this.outputFields)];
    const at = index < 0 ? index + list.length + 1 : index;
    if (at < 0 || at > list.length) {
      throw new SignatureError('DSPEX_SIGNATURE_FIELD', `Invalid index to insert: ${index}, index must be in the range of [${list.length - 1}, ${list.length}] for ${definition.role} fields, but received: ${index}.`);
    }
    list.splice(at, 0, field);
    return definition.role === 'input'
      ? new Signature(this.instructions, list, this.outputFields, this.registry)
      : new Signature(this.instructions, this.inputFields, list, this.registry);
  }

  /** A copy without the field; unchanged fields when there is no such field (as DSPy). */
  delete(name: string): Signature {
    const keep = (fields: readonly FieldSpec[]): FieldSpec[] => fields.filter((f) => f.name !== name);
    return new Signature(this.instructions, keep(this.inputFields), keep(this.outputFields), this.registry);
  }

  /** Same instructions and the same fields (names, roles, order, types, descs, prefixes). */
  equals(other: Signature): boolean {
    if (this === other) return true;
    const same = (a: readonly FieldSpec[], b: readonly FieldSpec[]): boolean =>
      a.length === b.length && a.every((f, i) => fieldEquals(f, b[i]!));
    return this.instructions === other.instructions && same(this.inputFields, other.inputFields) && same(this.outputFields, other.outputFields);
  }

  dumpState(): SignatureState {
    return { instructions: this.instructions, fields: this.fields.map((f) => ({ prefix: f.prefix, description: f.desc })) };
  }

  /** DSPy's load_state: instructions, then prefix/description zipped onto the fields in order. */
  loadState(state: SignatureState): Signature {
    const all = this.fields;
    const updated = all.map((f, i) => {
      const saved = state.fields[i];
      return saved === undefined ? f : makeField(f.name, f.role, f.type, f.typeDeclared, { ...optionsOf(f), prefix: saved.prefix, desc: saved.description });
    });
    return new Signature(state.instructions, updated.filter((f) => f.role === 'input'), updated.filter((f) => f.role === 'output'), this.registry);
  }

  toJSON(): SignatureJSON {
    const names = new Set<string>();
    const collect = (type: TypeExpr): void => {
      if (type.kind === 'custom') names.add(type.name);
      else if (type.kind === 'list' || type.kind === 'set') collect(type.item);
      else if (type.kind === 'dict') (collect(type.key), collect(type.value));
      else if (type.kind === 'tuple') type.items.forEach(collect);
      else if (type.kind === 'union') type.members.forEach(collect);
    };
    const fields = this.fields.map((f) => {
      collect(f.type);
      return { name: f.name, role: f.role, type: typeSyntax(f.type), typeDeclared: f.typeDeclared, desc: f.desc, prefix: f.prefix, ...optionalParts(f) };
    });
    return { instructions: this.instructions, fields, customTypes: [...names].map((name) => this.registry.get(name)!) };
  }

  /** Rebuilds a signature from toJSON(); its custom types are registered in `registry` (a fresh one by default). */
  static fromJSON(json: SignatureJSON, registry: TypeRegistry = new TypeRegistry()): Signature {
    for (const type of json.customTypes) registry.register(type.name, type.schema, type.description);
    const fields = json.fields.map((f) =>
      makeField(f.name, f.role, parseTypeText(f.type, registry), f.typeDeclared, { desc: f.desc, prefix: f.prefix, ...optionalParts(f) }),
    );
    return new Signature(json.instructions, fields.filter((f) => f.role === 'input'), fields.filter((f) => f.role === 'output'), registry, true);
  }

  private requireField(name: string): FieldSpec {
    const field = this.field(name);
    if (field === undefined) throw new SignatureError('DSPEX_SIGNATURE_FIELD', `no field "${name}" in signature "${this.signature}"`);
    return field;
  }
}

function optionalParts(f: { constraints?: string; default?: JsonValue }): { constraints?: string; default?: JsonValue } {
  return { ...(f.constraints === undefined ? {} : { constraints: f.constraints }), ...(f.default === undefined ? {} : { default: f.default }) };
}

function optionsOf(f: FieldSpec): FieldOptions {
  return { desc: f.desc, prefix: f.prefix, ...optionalParts(f) };
}

function fieldEquals(a: FieldSpec, b: FieldSpec): boolean {
  return a.name === b.name && a.role === b.role && a.typeDeclared === b.typeDeclared && a.desc === b.desc && a.prefix === b.prefix &&
    a.constraints === b.constraints && JSON.stringify(a.default) === JSON.stringify(b.default) && typeEquals(a.type, b.type);
}

export function resolveType(type: TypeExpr | string, registry: TypeRegistry): TypeExpr {
  return typeof type === 'string' ? parseTypeText(type, registry) : type;
}

function resolveField(name: string, definition: FieldDefinition, registry: TypeRegistry): FieldSpec {
  const probe = parseSignatureText(`${name} ->`, registry).inputs;
  if (probe.length !== 1 || probe[0]!.typeDeclared) throw new SignatureError('DSPEX_SIGNATURE_BAD_IDENTIFIER', `"${name}" is not a valid field name`);
  const type = definition.type === undefined ? t.str : resolveType(definition.type, registry);
  return makeField(name, definition.role, type, definition.type !== undefined, definition);
}

/** DSPy's ensure_signature: a Signature passes through, a string is parsed (cached). */
export function ensureSignature(signature: Signature | string, instructions?: string): Signature {
  if (typeof signature === 'string') return Signature.parse(signature, instructions === undefined ? undefined : { instructions });
  if (instructions !== undefined) throw new SignatureError('DSPEX_SIGNATURE_FIELD', "Don't specify instructions when initializing with a Signature");
  return signature;
}
