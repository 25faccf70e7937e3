// JSONAdapter: inputs as ChatAdapter sections, outputs as one JSON object, byte-identical to DSPy 3.4's. The
// request asks for structured output (DSPyProgramOutputs, strict) and falls back to JSON mode where a strict
// schema cannot express the outputs (dict fields) or the LM refuses the schema.

import type { LM, LMConfig, LMMessage, LMRequest, LMResponse } from '../clients/base_lm.js';
import { compileSignature, type CompiledField, type CompiledSignature } from '../signatures/compiler.js';
import type { Signature } from '../signatures/signature.js';
import { repairJson } from '../utils/json_repair.js';
import { pyJsonDumps } from '../utils/py_json.js';
import { pyStrip } from '../utils/py_text.js';
import { applyOutputDefaults, has, missingOutputs, type AdapterCallOptions, type Demo, type Inputs, type Outputs } from './base.js';
import { ChatAdapter, typeInfo } from './chat_adapter.js';
import { AdapterParseError } from './errors.js';
import { toPyJson } from './format.js';

export interface JSONAdapterOptions {
  /**
   * 'auto' (default): a strict json_schema where the outputs allow it, else JSON mode (config.response_format
   * { type: 'json_object' }); when the LM rejects the schema request, one retry in JSON mode. 'json_object': JSON
   * mode only. 'off': no response format at all (prompt-only JSON).
   */
  structuredOutputs?: 'auto' | 'json_object' | 'off';
}

const JSON_MODE = { type: 'json_object' } as const;

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

export class JSONAdapter extends ChatAdapter {
  override readonly name: string = 'JSONAdapter';
  readonly structuredOutputs: 'auto' | 'json_object' | 'off';

  constructor(options: JSONAdapterOptions = {}) {
    super({ useJsonAdapterFallback: false });
    this.structuredOutputs = options.structuredOutputs ?? 'auto';
  }

  /** One call with JSON formatting; no adapter fallback (DSPy's ChatAdapter.__call__ re-raises for JSONAdapter). */
  override call(lm: LM, lmConfig: LMConfig, signature: Signature | string, demos: readonly Demo[], inputs: Inputs, options: AdapterCallOptions = {}): Promise<Outputs[]> {
    return this.callOnce(lm, lmConfig, signature, demos, inputs, options);
  }

  protected override buildRequest(compiled: CompiledSignature, messages: LMMessage[], config: LMConfig, options: AdapterCallOptions): LMRequest {
    const request = super.buildRequest(compiled, messages, config, options);
    if (this.structuredOutputs === 'off') return request;
    if (this.structuredOutputs === 'json_object' || compiled.hasOpenMapping) return { ...request, config: { ...request.config, response_format: JSON_MODE } };
    return { ...request, responseFormat: compiled.responseFormat() };
  }

  protected override async send(lm: LM, request: LMRequest): Promise<LMResponse> {
    try {
      return await lm.call(request);
    } catch (error) {
      if (request.responseFormat === undefined || request.signal?.aborted || (error instanceof Error && error.name === 'AbortError')) throw error;
      // The schema was refused (a provider without structured outputs, or a schema it cannot take): JSON mode.
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
