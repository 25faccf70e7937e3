// Adapter: the layer between a signature and an LM (DSPy's adapters/base.py). format() builds the messages
// (system message, demos and dspy.History turns as user/assistant pairs, the request), call() sends them through the LM contract and
// parses every output; subclasses say how fields are laid out and read back.

import type { LM, LMConfig, LMMessage, LMOutput, LMRequest } from '../primitives/lm.js';
import type { UsageTracker } from '../usage/tracker.js';
import { compileSignature, type CompiledSignature } from '../signatures/compiler.js';
import type { Signature } from '../signatures/signature.js';
import { allowsNone } from '../signatures/types.js';
import { splitCustomTypes } from './custom_types.js';
import { AdapterParseError } from './errors.js';
import { historyFieldName, historyMessages, withoutHistory } from './history.js';

/** A few-shot demo: field values by name. */
export type Demo = Readonly<Record<string, unknown>>;
/** A call's input values by field name. */
export type Inputs = Readonly<Record<string, unknown>>;
/** One parsed completion: a value per output field (DSPy's dict that becomes a Prediction). */
export type Outputs = Record<string, unknown>;

/** Per-call options an adapter passes to the LM (config, signal). */
export interface AdapterCallOptions {
  signal?: AbortSignal;
  /** Put on every LM request of the call, so its usage counts even after an await (program/lm_record.ts). */
  usageTracker?: UsageTracker;
}

const INCOMPLETE_DEMO_PREFIX = 'This is an example of the task, though some input or output fields are not supplied.';

/** `k in demo` for a plain record: present and not undefined (null is a present None). */
export function has(record: Readonly<Record<string, unknown>>, key: string): boolean {
  return Object.hasOwn(record, key) && record[key] !== undefined;
}

/** DSPy's complete demo: every field present and not None (true for no fields, like Python's all()). */
function allPresent(fields: readonly { readonly name: string }[], demo: Demo): boolean {
  for (const field of fields) if (!has(demo, field.name) || demo[field.name] === null) return false;
  return true;
}

/** At least one of the fields is present (false for no fields, like Python's any()). */
function anyPresent(fields: readonly { readonly name: string }[], demo: Demo): boolean {
  for (const field of fields) if (has(demo, field.name)) return true;
  return false;
}

/** Base class of adapters: turns a signature, demos and inputs into LM messages (`format`), and the LM's text back into outputs (`parse`), as DSPy's adapters do. */
export abstract class Adapter {
  /** The adapter's name as it appears in AdapterParseError ("ChatAdapter", "JSONAdapter"). */
  abstract readonly name: string;

  /**
   * The messages DSPy's adapter.format(signature, demos, inputs) produces, byte for byte: the system message,
   * the demos, then (with a dspy.History input) the earlier turns, then the request. The system message and the
   * demos keep the history field; the turns and the request are rendered without it. Throws AdapterInputError
   * when the history input is not `{ messages: [...] }`.
   */
  format(signature: Signature | string, demos: readonly Demo[], inputs: Inputs): LMMessage[] {
    const compiled = compileSignature(signature);
    const messages: LMMessage[] = [{ role: 'system', content: this.formatSystemMessage(compiled) }];
    this.formatDemos(compiled, demos, messages);
    const historyField = historyFieldName(compiled);
    let request = compiled;
    if (historyField !== undefined) {
      request = withoutHistory(compiled, historyField);
      if (has(inputs, historyField)) this.formatConversationHistory(request, historyMessages(inputs[historyField], historyField), messages);
    }
    const content = this.formatUserMessageContent(request, inputs, '', '', true);
    if (content) messages.push({ role: 'user', content });
    return splitCustomTypes(messages);
  }

  /**
   * DSPy's format_conversation_history: per earlier turn, a user message with the inputs it holds (and the
   * output reminder, as in the request) unless it holds none, then an assistant message with every output
   * (None for those it lacks). `compiled` is the signature without the history field.
   */
  formatConversationHistory(compiled: CompiledSignature, conversation: readonly Readonly<Record<string, unknown>>[], messages: LMMessage[] = []): LMMessage[] {
    for (const turn of conversation) {
      // DSPy passes main_request only when the turn has an input, so an output-only turn gets no user message.
      const hasInput = anyPresent(compiled.signature.inputFields, turn);
      const user = this.formatUserMessageContent(compiled, turn, '', '', hasInput);
      if (user) messages.push({ role: 'user', content: user });
      const assistant = this.formatAssistantMessageContent(compiled, turn);
      if (assistant) messages.push({ role: 'assistant', content: assistant });
    }
    return messages;
  }

  /** Field descriptions, structure and task; depends on the signature only, so it is kept beside it. */
  formatSystemMessage(compiled: CompiledSignature): string {
    const memo = this.memoOf(compiled);
    let system = memo.get('system');
    if (system === undefined) {
      system = `${this.formatFieldDescription(compiled)}\n${this.formatFieldStructure(compiled)}\n${this.formatTaskDescription(compiled)}`;
      memo.set('system', system);
    }
    return system;
  }

  /** Renderings that depend on the signature alone, kept per (adapter class, signature). */
  protected memoOf(compiled: CompiledSignature): Map<string, string> {
    let memo = compiled.memo.get(this.constructor);
    if (memo === undefined) compiled.memo.set(this.constructor, (memo = new Map()));
    return memo;
  }

  /** DSPy's format_demos: incomplete demos (with at least one input and one output) first, then complete ones. */
  formatDemos(compiled: CompiledSignature, demos: readonly Demo[], messages: LMMessage[] = []): LMMessage[] {
    const complete: Demo[] = [];
    const incomplete: Demo[] = [];
    const { inputFields, outputFields } = compiled.signature;
    for (const demo of demos) {
      if (allPresent(inputFields, demo) && allPresent(outputFields, demo)) complete.push(demo);
      else if (anyPresent(inputFields, demo) && anyPresent(outputFields, demo)) incomplete.push(demo);
    }
    for (const demo of incomplete) {
      messages.push({ role: 'user', content: this.formatUserMessageContent(compiled, demo, INCOMPLETE_DEMO_PREFIX) });
      messages.push({ role: 'assistant', content: this.formatAssistantMessageContent(compiled, demo, 'Not supplied for this particular example. ') });
    }
    for (const demo of complete) {
      messages.push({ role: 'user', content: this.formatUserMessageContent(compiled, demo) });
      messages.push({ role: 'assistant', content: this.formatAssistantMessageContent(compiled, demo, 'Not supplied for this conversation history message. ') });
    }
    return messages;
  }

  abstract formatFieldDescription(compiled: CompiledSignature): string;
  abstract formatFieldStructure(compiled: CompiledSignature): string;
  abstract formatTaskDescription(compiled: CompiledSignature): string;
  abstract formatUserMessageContent(compiled: CompiledSignature, inputs: Inputs, prefix?: string, suffix?: string, mainRequest?: boolean): string;
  abstract formatAssistantMessageContent(compiled: CompiledSignature, outputs: Readonly<Record<string, unknown>>, missingFieldMessage?: string): string;

  /** Reads one completion into the output fields; AdapterParseError when it cannot. */
  abstract parse(signature: Signature | string, completion: string): Outputs;

  /**
   * Formats, calls the LM once (n outputs when lmConfig.n > 1) and parses every output. Rejects with
   * AdapterParseError when an output cannot be parsed, or with whatever the LM rejected with.
   */
  call(lm: LM, lmConfig: LMConfig, signature: Signature | string, demos: readonly Demo[], inputs: Inputs, options: AdapterCallOptions = {}): Promise<Outputs[]> {
    return this.callOnce(lm, lmConfig, signature, demos, inputs, options);
  }

  /** One round trip with this adapter's format, without any fallback. */
  protected async callOnce(lm: LM, lmConfig: LMConfig, signature: Signature | string, demos: readonly Demo[], inputs: Inputs, options: AdapterCallOptions = {}): Promise<Outputs[]> {
    const compiled = compileSignature(signature);
    const messages = this.format(compiled.signature, demos, inputs);
    const response = await this.send(lm, this.buildRequest(compiled, messages, lmConfig, options, lm));
    return this.postprocess(compiled, response.outputs);
  }

  /** The LM request for these messages; JSONAdapter adds the response format the LM can take. */
  protected buildRequest(_compiled: CompiledSignature, messages: LMMessage[], config: LMConfig, options: AdapterCallOptions, _lm?: LM): LMRequest {
    const request: LMRequest = { messages, config: { ...config }, ...(options.signal === undefined ? {} : { signal: options.signal }) };
    if (options.usageTracker !== undefined) request.usageTracker = options.usageTracker;
    return request;
  }

  protected send(lm: LM, request: LMRequest): ReturnType<LM['call']> {
    return lm.call(request);
  }

  /** DSPy's _call_postprocess: every output parsed, missing outputs defaulted, the rest set to null. */
  protected postprocess(compiled: CompiledSignature, outputs: readonly LMOutput[]): Outputs[] {
    return outputs.map((output) => {
      if (!output.text) throw new AdapterParseError(this.name, compiled.signature, output.text ?? '', 'The LM returned an empty or null response.');
      const value = this.parse(compiled.signature, output.text);
      for (const field of compiled.signature.outputFields) if (!Object.hasOwn(value, field.name)) value[field.name] = null;
      return value;
    });
  }
}

/** DSPy's apply_output_field_defaults: missing outputs take their default, or null where the type allows None. */
export function applyOutputDefaults(compiled: CompiledSignature, fields: Outputs): Outputs {
  const completed: Outputs = {};
  for (const { spec } of compiled.outputs) {
    if (Object.hasOwn(fields, spec.name)) completed[spec.name] = fields[spec.name];
    else if (spec.default !== undefined) completed[spec.name] = structuredClone(spec.default);
    else if (allowsNone(spec.type)) completed[spec.name] = null;
  }
  return completed;
}

/** The output names `fields` lacks, in signature order. */
export function missingOutputs(compiled: CompiledSignature, fields: Outputs): string[] {
  return compiled.outputs.filter((f) => !Object.hasOwn(fields, f.spec.name)).map((f) => f.spec.name);
}
