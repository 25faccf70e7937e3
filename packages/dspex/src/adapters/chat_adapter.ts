// ChatAdapter: DSPy's default adapter. Fields travel in sections headed `[[ ## name ## ]]`, the reply ends with
// `[[ ## completed ## ]]`; the messages are byte-identical to DSPy 3.4's, and a reply that cannot be parsed is
// retried once through JSONAdapter, as DSPy's ChatAdapter.__call__ does.

import type { LM, LMConfig } from '../primitives/lm.js';
import { compileSignature, type CompiledField, type CompiledSignature } from '../signatures/compiler.js';
import type { Signature } from '../signatures/signature.js';
import { pySplitlines, pyStrip, dedent } from '../utils/py_text.js';
import { Adapter, applyOutputDefaults, has, missingOutputs, type AdapterCallOptions, type Demo, type Inputs, type Outputs } from './base.js';
import { isStructuredOutputs } from './structured_outputs.js';
import { AdapterConfigError, AdapterParseError } from './errors.js';
import type { StructuredOutputsOption } from './json_adapter.js';
import { fieldDescriptions, formatFieldValue, headerNames, neutraliseMarkers } from './format.js';

/** Options of ChatAdapter: whether to retry through JSONAdapter on a parse failure, and what that fallback asks for. */
export interface ChatAdapterOptions {
  /** Retry through JSONAdapter when a reply cannot be parsed (DSPy's use_json_adapter_fallback; default true). */
  useJsonAdapterFallback?: boolean;
  /** What the JSONAdapter fallback asks for (JSONAdapterOptions.structuredOutputs; default 'auto': the LM's capability). */
  structuredOutputs?: StructuredOutputsOption;
}

const TASK_INDENT = `\n${' '.repeat(8)}`;

function isWordCode(code: number, text: string, i: number): boolean {
  if (code < 0x80) return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
  return /^[\p{L}\p{N}_]$/u.test(text[i]!);
}

/**
 * DSPy's field_header_pattern.match(line.strip()): `[[ ## name ## ]]` at the start of the stripped line.
 * Returns the name and the header's length, or null.
 */
export function matchHeader(stripped: string): { name: string; length: number } | null {
  if (!stripped.startsWith('[[ ## ')) return null;
  let i = 6;
  while (i < stripped.length && isWordCode(stripped.charCodeAt(i), stripped, i)) i++;
  if (i === 6 || !stripped.startsWith(' ## ]]', i)) return null;
  return { name: stripped.slice(6, i), length: i + 6 };
}

/** DSPy's ChatAdapter: `[[ ## field ## ]]` sections, byte for byte the prompts DSPy 3.4 sends; falls back to JSONAdapter on a parse failure. */
export class ChatAdapter extends Adapter {
  readonly name: string = 'ChatAdapter';
  readonly useJsonAdapterFallback: boolean;
  readonly structuredOutputs: StructuredOutputsOption;

  constructor(options: ChatAdapterOptions = {}) {
    super();
    this.useJsonAdapterFallback = options.useJsonAdapterFallback ?? true;
    const structured = options.structuredOutputs ?? 'auto';
    if (structured !== 'auto' && !isStructuredOutputs(structured)) {
      throw new AdapterConfigError(`structuredOutputs must be 'auto', 'grammar', 'json_schema', 'json_object' or 'none', not ${JSON.stringify(structured)}.`);
    }
    this.structuredOutputs = structured;
  }

  /** Calls through ChatAdapter; on AdapterParseError, once more through JSONAdapter (a second LM call). */
  override async call(lm: LM, lmConfig: LMConfig, signature: Signature | string, demos: readonly Demo[], inputs: Inputs, options: AdapterCallOptions = {}): Promise<Outputs[]> {
    try {
      return await this.callOnce(lm, lmConfig, signature, demos, inputs, options);
    } catch (error) {
      if (!(error instanceof AdapterParseError) || !this.useJsonAdapterFallback || options.signal?.aborted) throw error;
      // Loaded here: json_adapter.ts extends this module's class, so a static import would be circular.
      const { JSONAdapter } = await import('./json_adapter.js');
      return new JSONAdapter({ structuredOutputs: this.structuredOutputs }).call(lm, lmConfig, signature, demos, inputs, options);
    }
  }

  formatFieldDescription(compiled: CompiledSignature): string {
    return `Your input fields are:\n${fieldDescriptions(compiled.inputs, compiled)}\nYour output fields are:\n${fieldDescriptions(compiled.outputs, compiled)}`;
  }

  formatFieldStructure(compiled: CompiledSignature): string {
    const structure = (fields: readonly CompiledField[]): string => this.formatFieldsWithValues(compiled, fields.map((f) => [f, f.structureHint]), false);
    const parts = [
      'All interactions will be structured in the following way, with the appropriate values filled in.',
      structure(compiled.inputs),
      structure(compiled.outputs),
      '[[ ## completed ## ]]\n',
    ];
    return pyStrip(parts.join('\n\n'));
  }

  formatTaskDescription(compiled: CompiledSignature): string {
    const lines = pySplitlines(dedent(compiled.signature.instructions));
    return `In adhering to this structure, your objective is: ${lines.map((line) => TASK_INDENT + line).join('')}`;
  }

  formatUserMessageContent(compiled: CompiledSignature, inputs: Inputs, prefix = '', suffix = '', mainRequest = false): string {
    const parts = [prefix];
    for (const field of compiled.inputs) {
      if (!has(inputs, field.spec.name)) continue;
      parts.push(`[[ ## ${field.spec.name} ## ]]\n${neutraliseMarkers(formatFieldValue(field, inputs[field.spec.name], compiled.signature.registry), headerNames(compiled))}`);
    }
    if (mainRequest) parts.push(this.outputRequirements(compiled));
    parts.push(suffix);
    return pyStrip(parts.join('\n\n'));
  }

  /** The reminder at the end of the request: which headers, in which order, with which types. */
  outputRequirements(compiled: CompiledSignature): string {
    const memo = this.memoOf(compiled);
    let text = memo.get('requirements');
    if (text === undefined) memo.set('requirements', (text = this.renderOutputRequirements(compiled)));
    return text;
  }

  protected renderOutputRequirements(compiled: CompiledSignature): string {
    const fields = compiled.outputs.map((f) => `\`[[ ## ${f.spec.name} ## ]]\`${typeInfo(f)}`).join(', then ');
    return `Respond with the corresponding output fields, starting with the field ${fields}, and then ending with the marker for \`[[ ## completed ## ]]\`.`;
  }

  formatAssistantMessageContent(compiled: CompiledSignature, outputs: Readonly<Record<string, unknown>>, missingFieldMessage?: string): string {
    const values = compiled.outputs.map((f): [CompiledField, unknown] => [f, has(outputs, f.spec.name) ? outputs[f.spec.name] : (missingFieldMessage ?? null)]);
    return `${this.formatFieldsWithValues(compiled, values, true)}\n\n[[ ## completed ## ]]\n`;
  }

  /** DSPy's format_field_with_value: `[[ ## name ## ]]` and the rendered value, blank-line separated. */
  protected formatFieldsWithValues(compiled: CompiledSignature, values: readonly (readonly [CompiledField, unknown])[], neutralise: boolean): string {
    const registry = compiled.signature.registry;
    const parts = values.map(([field, value]) => {
      const rendered = formatFieldValue(field, value, registry);
      return `[[ ## ${field.spec.name} ## ]]\n${neutralise ? neutraliseMarkers(rendered, headerNames(compiled)) : rendered}`;
    });
    return pyStrip(parts.join('\n\n'));
  }

  /** DSPy's ChatAdapter.parse: sections by header line, the first section of each output wins, values coerced. */
  parse(signature: Signature | string, completion: string): Outputs {
    const compiled = compileSignature(signature);
    const sections: { name: string | null; lines: string[] }[] = [{ name: null, lines: [] }];
    for (const line of pySplitlines(completion)) {
      const header = matchHeader(pyStrip(line));
      if (header === null) {
        sections[sections.length - 1]!.lines.push(line);
        continue;
      }
      // DSPy slices the unstripped line at the header's length in the stripped one; kept for identical results.
      const rest = pyStrip(line.slice(header.length));
      sections.push({ name: header.name, lines: rest ? [rest] : [] });
    }
    const fields: Outputs = {};
    for (const section of sections) {
      if (section.name === null || Object.hasOwn(fields, section.name)) continue;
      const field = compiled.field(section.name);
      if (field === undefined || field.spec.role !== 'output') continue;
      const text = pyStrip(section.lines.join('\n'));
      try {
        fields[section.name] = compiled.parseOutput(section.name, text);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new AdapterParseError('ChatAdapter', compiled.signature, completion, `Failed to parse field ${section.name} with value ${text} from the LM response. Error message: ${reason}`, undefined, { cause: error });
      }
    }
    const completed = applyOutputDefaults(compiled, fields);
    if (missingOutputs(compiled, completed).length > 0) throw new AdapterParseError('ChatAdapter', compiled.signature, completion, undefined, completed);
    return completed;
  }
}

/** " (must be formatted as a valid Python list[str])" for non-str outputs. */
export function typeInfo(field: CompiledField): string {
  return field.spec.type.kind === 'str' ? '' : ` (must be formatted as a valid Python ${field.annotation})`;
}
