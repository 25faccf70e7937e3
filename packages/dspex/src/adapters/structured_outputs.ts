// What response format a model takes, for JSONAdapter's choice (DSPy's lm.supports_response_schema and
// "response_format" in lm.supported_params). An LM declares it (LMOptions.structuredOutputs); otherwise this
// small table of known provider/model names gives DSPy 3.4.1's answer, and any other name gets 'none'.

import type { LM, StructuredOutputs } from '../primitives/lm.js';

/**
 * DSPy 3.4.1's capabilities for the families it knows, checked against its bundled model catalog:
 * OpenAI chat models with structured outputs (gpt-4o from 2024-08-06, gpt-4.1, gpt-5, o1, o3, o4) take a schema;
 * older chat models (gpt-3.5-turbo, gpt-4, gpt-4-turbo, gpt-4o-2024-05-13) take JSON mode; Claude 4 models
 * take a schema and older ones nothing (the Messages API has no JSON mode); Gemini 2.5 and later take a schema
 * and every other Gemini name JSON mode (DSPy lists response_format for the whole dialect). A name outside these rules gets 'none', as DSPy gives a self-hosted
 * or custom model name (neither supports_response_schema nor response_format in supported_params).
 */
const TABLE: Readonly<Record<string, ReadonlyArray<readonly [RegExp, StructuredOutputs]>>> = {
  openai: [
    [/^gpt-4o-2024-05-13$/, 'json_object'],
    [/^gpt-4o(-mini)?(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^gpt-4\.1(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^o1(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^o3(-mini)?(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^o4-mini(-\d{4}-\d{2}-\d{2})?$/, 'json_schema'],
    [/^gpt-3\.5-turbo(-\d{4})?$/, 'json_object'],
    [/^gpt-4(-\d{4})?$/, 'json_object'],
    [/^gpt-4-turbo(-\d{4}-\d{2}-\d{2}|-preview)?$/, 'json_object'],
  ],
  anthropic: [[/^claude-(opus|sonnet|haiku)-4(-\d)?(-\d{8}|-latest)?$/, 'json_schema']],
  gemini: [
    [/^gemini-(2\.5|3)(\.\d)?-|^gemma-3-/, 'json_schema'],
    [/^/, 'json_object'],
  ],
};

/** DSPy's default for a provider-qualified model name ("openai/gpt-4o-mini"); 'none' for any name it does not know. */
export function defaultStructuredOutputs(model: string): StructuredOutputs {
  const slash = model.indexOf('/');
  const provider = slash === -1 ? 'openai' : model.slice(0, slash);
  const name = slash === -1 ? model : model.slice(slash + 1);
  for (const [pattern, capability] of TABLE[provider] ?? []) if (pattern.test(name)) return capability;
  return 'none';
}

/** The capability an LM declares, else the default for its model name. */
export function structuredOutputsOf(lm: Pick<LM, 'model' | 'structuredOutputs'>): StructuredOutputs {
  return lm.structuredOutputs ?? defaultStructuredOutputs(lm.model);
}

const VALUES: ReadonlySet<string> = new Set(['grammar', 'json_schema', 'json_object', 'none']);

export function isStructuredOutputs(value: unknown): value is StructuredOutputs {
  return typeof value === 'string' && VALUES.has(value);
}
