// The LM the Router's Python side runs with: by default the native client's own configuration (model, endpoint,
// key, temperature, max_tokens, no cache when it has none), as the bridge's `configure_lm` spec for dspy.LM
// (LiteLLM). Read again when it can change (LocalLM's port after a restart, a rotated key), so both sides keep
// talking to the same LM.

import type { LMEndpoint } from 'dspex';

/** DSPy's examples use this for a self-hosted server that takes no key; LiteLLM's OpenAI client needs one. */
const NO_KEY = 'local';

/** The bridge LM spec (`configure_lm`) for the native client's endpoint. */
export function pythonLmSpec(endpoint: LMEndpoint): Record<string, unknown> {
  const spec: Record<string, unknown> = { model: `${endpoint.provider}/${endpoint.wireModel}` };
  if (endpoint.customApiBase) {
    // LiteLLM takes OpenAI's and Gemini's base with the version segment, and Anthropic's without (it adds /v1/messages).
    spec.api_base = endpoint.provider === 'anthropic' ? endpoint.apiRoot : endpoint.apiBase;
  }
  if (endpoint.apiKey !== undefined) spec.api_key = endpoint.apiKey;
  else if (endpoint.customApiBase) spec.api_key = NO_KEY;
  const { temperature, max_tokens } = endpoint.defaults;
  if (typeof temperature === 'number') spec.temperature = temperature;
  if (typeof max_tokens === 'number') spec.max_tokens = max_tokens;
  if (!endpoint.cache) spec.cache = false;
  return spec;
}
