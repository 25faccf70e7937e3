// JSONAdapter: inputs as ChatAdapter sections, outputs as one JSON object, byte-identical to DSPy 3.4's. What the
// request asks for follows DSPy's _prepare_response_format, decided from the LM's declared (or default) capability:
// a strict DSPyProgramOutputs schema, JSON mode for outputs a strict schema cannot express, or nothing at all.

import type { LM, LMConfig, LMMessage, LMRequest, LMResponse, StructuredOutputs } from '../primitives/lm.js';
import { structuredOutputsOf } from './structured_outputs.js';
import { compileSignature, type CompiledField, type CompiledSignature, type ResponseFormat } from '../signatures/compiler.js';
import { outputsModelSchema } from '../signatures/json_schema.js';
import type { Signature } from '../signatures/signature.js';
import { repairJson } from '../utils/json_repair.js';
import { pyJsonDumps } from '../utils/py_json.js';
import { pyStrip } from '../utils/py_text.js';
import { applyOutputDefaults, has, missingOutputs, type AdapterCallOptions, type Demo, type Inputs, type Outputs } from './base.js';
import { ChatAdapter, typeInfo } from './chat_adapter.js';
import { AdapterParseError } from './errors.js';
import { toPyJson } from './format.js';

/** 'auto': what the LM declares (LM.structuredOutputs), else DSPy's default for its model name. */
export type StructuredOutputsOption = 'auto' | StructuredOutputs;

/** Options of JSONAdapter: `structuredOutputs` ('auto' reads the LM's capability, or force 'grammar', 'json_schema', 'json_object', 'none'). */
export interface JSONAdapterOptions {
  /**
   * What the request asks for (default 'auto': the LM's capability). 'grammar': a schema for every signature,
   * open mappings as open objects (not strict); 'json_schema': the strict schema, JSON mode for open mappings;
   * 'json_object': JSON mode; 'none': no response format (the prompt alone asks for JSON).
   */
  structuredOutputs?: StructuredOutputsOption;
}

/** What one request carries: a schema (LMRequest.responseFormat), JSON mode (config.response_format), or neither. */
export type ResponseFormatChoice = { kind: 'schema'; format: ResponseFormat } | { kind: 'json_object' } | { kind: 'none' };

const JSON_MODE = { type: 'json_object' } as const;

/**
 * DSPy's JSONAdapter._prepare_response_format: no "response_format" in lm.supported_params -> nothing; an
 * open-ended mapping output or not lm.supports_response_schema -> {"type": "json_object"}; else the strict
 * DSPyProgramOutputs schema. 'grammar' (no DSPy counterpart: a local grammar takes any schema) also sends the
 * open mappings as a schema, pydantic's own (additionalProperties: true), so a small model's tool-call fields parse.
 */
export function chooseResponseFormat(compiled: CompiledSignature, capability: StructuredOutputs): ResponseFormatChoice {
  if (capability === 'none') return { kind: 'none' };
  if (capability === 'json_object') return { kind: 'json_object' };
  if (!compiled.hasOpenMapping) return { kind: 'schema', format: compiled.responseFormat() };
  if (capability === 'json_schema') return { kind: 'json_object' };
  return { kind: 'schema', format: { name: 'DSPyProgramOutputs', schema: outputsModelSchema(compiled.signature.outputFields, compiled.signature.registry), strict: false } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The leftmost balanced {...} span (DSPy's regex \{(?:[^{}]|(?R))*\}); braces inside strings count, as there. */
export function findBalancedObject(text: string): string | null {
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const char = text[i];
      if (char === '{') depth++;
      else if (char === '}' && --depth === 0) return text.slice(start, i + 1);
    }
  }
  return null;
}

/** DSPy's JSONAdapter: asks for a JSON object of the output fields, with the response format the LM can take (`structuredOutputs`). */
export class JSONAdapter extends ChatAdapter {
  override readonly name: string = 'JSONAdapter';

  constructor(options: JSONAdapterOptions = {}) {
    super({ useJsonAdapterFallback: false, ...(options.structuredOutputs === undefined ? {} : { structuredOutputs: options.structuredOutputs }) });
  }

  /** One call with JSON formatting; no adapter fallback (DSPy's ChatAdapter.__call__ re-raises for JSONAdapter). */
  override call(lm: LM, lmConfig: LMConfig, signature: Signature | string, demos: readonly Demo[], inputs: Inputs, options: AdapterCallOptions = {}): Promise<Outputs[]> {
    return this.callOnce(lm, lmConfig, signature, demos, inputs, options);
  }

  protected override buildRequest(compiled: CompiledSignature, messages: LMMessage[], config: LMConfig, options: AdapterCallOptions, lm?: LM): LMRequest {
    const request = super.buildRequest(compiled, messages, config, options, lm);
    const capability = this.structuredOutputs !== 'auto' ? this.structuredOutputs : lm === undefined ? 'none' : structuredOutputsOf(lm);
    const choice = chooseResponseFormat(compiled, capability);
    if (choice.kind === 'json_object') return { ...request, config: { ...request.config, response_format: JSON_MODE } };
    if (choice.kind === 'schema') return { ...request, responseFormat: choice.format };
    return request;
  }

  protected override async send(lm: LM, request: LMRequest): Promise<LMResponse> {
    try {
      return await lm.call(request);
    } catch (error) {
      // The server refused the schema (HTTP 400/422: a capability declared wrongly, or a schema it cannot take):
      // once more in JSON mode. DSPy decides before the call and never retries; timeouts and 5xx are not refusals.
      if (request.responseFormat === undefined || !isRequestRefused(error)) throw error;
      const { responseFormat: _refused, ...plain } = request;
      return lm.call({ ...plain, config: { ...plain.config, response_format: JSON_MODE } });
    }
  }

  override formatFieldStructure(compiled: CompiledSignature): string {
    const parts = [
      'All interactions will be structured in the following way, with the appropriate values filled in.',
      'Inputs will have the following structure:',
      this.formatFieldsWithValues(compiled, compiled.inputs.map((f) => [f, f.structureHint]), false),
      'Outputs will be a JSON object with the following fields.',
      this.formatJsonObject(compiled, compiled.outputs.map((f) => [f, f.structureHint])),
    ];
    return pyStrip(parts.join('\n\n'));
  }

  protected override renderOutputRequirements(compiled: CompiledSignature): string {
    return `Respond with a JSON object in the following order of fields: ${compiled.outputs.map((f) => `\`${f.spec.name}\`${typeInfo(f)}`).join(', then ')}.`;
  }

  override formatAssistantMessageContent(compiled: CompiledSignature, outputs: Readonly<Record<string, unknown>>, missingFieldMessage?: string): string {
    return this.formatJsonObject(compiled, compiled.outputs.map((f) => [f, has(outputs, f.spec.name) ? outputs[f.spec.name] : (missingFieldMessage ?? null)]));
  }

  /** json.dumps({name: value}, indent=2, ensure_ascii=False) with type-directed float rendering. */
  private formatJsonObject(compiled: CompiledSignature, values: readonly (readonly [CompiledField, unknown])[]): string {
    const object: Record<string, unknown> = {};
    for (const [field, value] of values) object[field.spec.name] = toPyJson(value, field.spec.type, compiled.signature.registry, true);
    return pyJsonDumps(object, 2);
  }

  /** DSPy's JSONAdapter.parse: repaired JSON (or the first balanced {...} in the text), output keys coerced. */
  override parse(signature: Signature | string, completion: string): Outputs {
    const compiled = compileSignature(signature);
    let response = completion;
    let parsed = repairJson(completion);
    if (!isPlainObject(parsed)) {
      const span = findBalancedObject(completion);
      if (span !== null) {
        response = span;
        parsed = repairJson(span);
      }
    }
    if (!isPlainObject(parsed)) throw new AdapterParseError('JSONAdapter', compiled.signature, response, 'LM response cannot be serialized to a JSON object.');
    const fields: Outputs = {};
    for (const key of Object.keys(parsed)) {
      const field = compiled.field(key);
      if (field !== undefined && field.spec.role === 'output') fields[key] = parsed[key];
    }
    for (const key of Object.keys(fields)) {
      try {
        fields[key] = compiled.parseOutput(key, fields[key]);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new AdapterParseError(this.name, compiled.signature, response, `Failed to parse field ${key}: ${reason}`, fields, { cause: error });
      }
    }
    const completed = applyOutputDefaults(compiled, fields);
    if (missingOutputs(compiled, completed).length > 0) throw new AdapterParseError('JSONAdapter', compiled.signature, response, undefined, completed);
    return completed;
  }
}

/**
 * Whether the LM refused the request outright: the clients' `DSPEX_LM_HTTP` error with status 400 or 422, not a
 * timeout or a 5xx. Read by its stable code, not its class, so adapters do not import the HTTP clients.
 */
function isRequestRefused(error: unknown): boolean {
  const shaped = error as { code?: unknown; status?: unknown } | null;
  return typeof shaped === 'object' && shaped !== null && shaped.code === 'DSPEX_LM_HTTP' && (shaped.status === 400 || shaped.status === 422);
}
