// The signature compiler: per-field validators, DSPy's display strings (annotation names, structure notes) and
// the output schemas, computed once per signature and cached by identity. Adapters format and parse through a
// CompiledSignature; `memo` lets them keep per-signature renderings (the system message) beside it.

import { pyJsonDumps, pyStr } from '../utils/py_json.js';
import { ValueParseError, type ValidationIssue } from './errors.js';
import type { FieldSpec } from './field.js';
import { enforceRequired, outputsModelSchema, promptSchema, strictJsonSchema, type SchemaObject } from './json_schema.js';
import { parseValue, validationMessage } from './parse_value.js';
import { ensureSignature, type Signature } from './signature.js';
import { typeValidator } from './type_validator.js';
import { allowsNone, annotationName, isOpenMapping, literalDisplay } from './types.js';
import { INVALID, type IssueSink, type Validator } from './validators.js';

/** One field of a CompiledSignature: its type, validator and JSON Schema. */
export interface CompiledField {
  readonly spec: FieldSpec;
  /** DSPy's get_annotation_name: "list[str]", "Union[int, NoneType]". */
  readonly annotation: string;
  readonly validate: Validator;
  /** DSPy's translate_field_type: "{answer}" plus the "# note: the value you produce ..." hint. */
  readonly structureHint: string;
}

/** The outcome of validating outputs: `{ ok: true, value }` or `{ ok: false, issues, message }`. */
export type ValidationResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[]; readonly message: string };

/** A request for JSON matching the outputs, as LMRequest.responseFormat takes it. */
export interface ResponseFormat {
  name: string;
  schema: SchemaObject;
  strict: boolean;
}

/** A signature with cached validators and output schemas (`compileSignature(sig)`): validates and coerces LM text as DSPy does. */
export class CompiledSignature {
  readonly inputs: readonly CompiledField[];
  readonly outputs: readonly CompiledField[];
  /** True when an output is a dict type: OpenAI strict structured outputs cannot express it. */
  readonly hasOpenMapping: boolean;
  /** Per-signature renderings kept by adapters (keyed by the adapter's class, so subclasses never share). */
  readonly memo = new Map<unknown, Map<string, string>>();
  private readonly byName = new Map<string, CompiledField>();
  private modelSchema: SchemaObject | undefined;

  constructor(readonly signature: Signature) {
    const compile = (spec: FieldSpec): CompiledField => {
      const field: CompiledField = {
        spec,
        annotation: annotationName(spec.type),
        validate: typeValidator(spec.type, signature.registry),
        structureHint: structureHint(spec, signature),
      };
      this.byName.set(spec.name, field);
      return field;
    };
    this.inputs = signature.inputFields.map(compile);
    this.outputs = signature.outputFields.map(compile);
    this.hasOpenMapping = signature.outputFields.some((f) => isOpenMapping(f.type));
  }

  field(name: string): CompiledField | undefined {
    return this.byName.get(name);
  }

  validateInputs(values: Readonly<Record<string, unknown>>): ValidationResult {
    return validateFields(this.inputs, values, 'inputs');
  }

  /** Checks typed output values (e.g. a demo's or a Prediction's); missing optional outputs become null. */
  validateOutputs(values: Readonly<Record<string, unknown>>): ValidationResult {
    return validateFields(this.outputs, values, 'outputs');
  }

  /** DSPy's parse_value for output `name`: LM text (or an already-parsed JSON value) to a typed value. */
  parseOutput(name: string, value: unknown): unknown {
    const field = this.byName.get(name);
    if (field === undefined || field.spec.role !== 'output') throw new ValueParseError(`no output field "${name}" in signature "${this.signature.signature}"`);
    return parseValue(value, field.spec.type, field.validate);
  }

  /** DSPy's DSPyProgramOutputs schema after enforce_required (all properties required, objects closed). */
  outputsJsonSchema(): SchemaObject {
    this.modelSchema ??= enforceRequired(outputsModelSchema(this.signature.outputFields, this.signature.registry));
    return structuredClone(this.modelSchema);
  }

  /** What DSPy's JSONAdapter sends for structured outputs: the strict-shaped schema named DSPyProgramOutputs. */
  responseFormat(): ResponseFormat {
    return { name: 'DSPyProgramOutputs', schema: strictJsonSchema(this.outputsJsonSchema()) as SchemaObject, strict: true };
  }

  /** OpenAI chat completions `response_format`. */
  openAIResponseFormat(): { type: 'json_schema'; json_schema: ResponseFormat } {
    return { type: 'json_schema', json_schema: this.responseFormat() };
  }

  /** An OpenAI function (tool) whose arguments are the outputs, strict. */
  openAIFunction(name = 'DSPyProgramOutputs', description = this.signature.instructions): {
    type: 'function';
    function: { name: string; description: string; parameters: SchemaObject; strict: true };
  } {
    return { type: 'function', function: { name, description, parameters: this.responseFormat().schema, strict: true } };
  }

  /** An Anthropic tool whose input_schema is the outputs schema. */
  anthropicTool(name = 'DSPyProgramOutputs', description = this.signature.instructions): { name: string; description: string; input_schema: SchemaObject } {
    return { name, description, input_schema: this.outputsJsonSchema() };
  }
}

function validateFields(fields: readonly CompiledField[], values: Readonly<Record<string, unknown>>, what: string): ValidationResult {
  const out: Record<string, unknown> = {};
  let sink: IssueSink | null = null;
  for (const field of fields) {
    const name = field.spec.name;
    const value = values[name];
    if (value === undefined) {
      if (field.spec.default !== undefined) out[name] = structuredClone(field.spec.default);
      else if (allowsNone(field.spec.type)) out[name] = null;
      else (sink ??= { issues: [], path: [] }).issues.push({ path: [name], type: 'missing', message: 'Field required' });
      continue;
    }
    const result = field.validate(value, false, null);
    if (result !== INVALID) {
      out[name] = result;
      continue;
    }
    sink ??= { issues: [], path: [] };
    sink.path.push(name);
    field.validate(value, false, sink);
    sink.path.pop();
  }
  if (sink === null) return { ok: true, value: out };
  return { ok: false, issues: sink.issues, message: validationMessage(what, sink.issues) };
}

function literalNote(values: readonly (string | number | boolean | null)[], wholeFloats: readonly number[] | undefined): string {
  return values.map((value) => literalDisplay(value, wholeFloats)).join('; ');
}

/** DSPy's translate_field_type. */
function structureHint(spec: FieldSpec, signature: Signature): string {
  const type = spec.type;
  let desc = '';
  if (spec.role === 'input' || type.kind === 'str') desc = '';
  else if (type.kind === 'bool') desc = 'must be True or False';
  else if (type.kind === 'int' || type.kind === 'float') desc = `must be a single ${type.kind} value`;
  else if (type.kind === 'literal') desc = `must exactly match (no extra characters) one of: ${literalNote(type.values, type.wholeFloats)}`;
  else desc = `must adhere to the JSON schema: ${pyJsonDumps(promptSchema(type, signature.registry))}`;
  return `{${spec.name}}${desc === '' ? '' : `        # note: the value you produce ${desc}`}`;
}

const compiledCache = new WeakMap<Signature, CompiledSignature>();

/** The compiled form of a signature (or a string signature), built once and cached by identity. */
export function compileSignature(signature: Signature | string): CompiledSignature {
  const resolved = typeof signature === 'string' ? ensureSignature(signature) : signature;
  let compiled = compiledCache.get(resolved);
  if (compiled === undefined) compiledCache.set(resolved, (compiled = new CompiledSignature(resolved)));
  return compiled;
}
