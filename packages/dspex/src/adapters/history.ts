// The conversation-history input (dspy.History): which field holds it, the signature the turns and the request
// are rendered with (the same signature without that field: DSPy's signature.delete(history_field_name)), and
// the messages read from the value. Adapter.formatConversationHistory (base.ts) turns them into chat turns.

import { compileSignature, type CompiledSignature } from '../signatures/compiler.js';
import { isHistoryType } from '../signatures/history.js';
import { isPlainRecord } from '../utils/plain_record.js';
import { AdapterInputError } from './errors.js';

/** DSPy's _get_history_field_name: the first input field typed exactly dspy.History (Optional[History] is not one). */
export function historyFieldName(compiled: CompiledSignature): string | undefined {
  return compiled.inputs.find((field) => isHistoryType(field.spec.type))?.spec.name;
}

const withoutHistoryCache = new WeakMap<CompiledSignature, CompiledSignature>();

/** `compiled` without its history field, built once per signature (it keeps its own rendering memo). */
export function withoutHistory(compiled: CompiledSignature, historyField: string): CompiledSignature {
  let reduced = withoutHistoryCache.get(compiled);
  if (reduced === undefined) withoutHistoryCache.set(compiled, (reduced = compileSignature(compiled.signature.delete(historyField))));
  return reduced;
}

/** A value DSPy would read as dspy.ToolCalls (a dict with a "tool_calls" key), which dspex does not model. */
function looksLikeToolCalls(value: unknown): boolean {
  if (value instanceof Map) return value.has('tool_calls');
  return isPlainRecord(value) && Object.hasOwn(value, 'tool_calls');
}

/**
 * The messages of a History value (`{ messages: [{...}, ...] }`). Throws AdapterInputError for any other shape,
 * and for a message holding a tool-call record, which DSPy renders through dspy.ToolCalls (native tool-call
 * turns and tool results) and dspex cannot render the same way.
 */
export function historyMessages(value: unknown, field: string): readonly Readonly<Record<string, unknown>>[] {
  const messages = isPlainRecord(value) ? value['messages'] : undefined;
  if (!Array.isArray(messages)) {
    throw new AdapterInputError(`Input "${field}" is a dspy.History: pass { messages: [{ ...inputs, ...outputs }, ...] } (one record per earlier turn), not ${describe(value)}.`);
  }
  messages.forEach((message, index) => {
    if (!isPlainRecord(message)) throw new AdapterInputError(`Input "${field}": messages[${index}] must be a plain object of field values (DSPy's dict), not ${describe(message)}.`);
    for (const [key, item] of Object.entries(message)) {
      if (looksLikeToolCalls(item)) {
        throw new AdapterInputError(`Input "${field}": messages[${index}].${key} holds "tool_calls", which DSPy renders as dspy.ToolCalls turns; dspex has no ToolCalls type. Leave tool calls out of the history, or rename the key.`);
      }
    }
  });
  return messages as Readonly<Record<string, unknown>>[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'a Map';
  return typeof value === 'object' ? 'an object without a messages array' : typeof value;
}
