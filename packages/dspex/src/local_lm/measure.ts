// Decoding speed of an LM, for the bench (local_lm_tokens_per_s): one uncached call, completion tokens over
// wall time. The prompt is part of the time, as a user waiting on the answer sees it.

import type { LM } from '../clients/base_lm.js';

/** An LM's decoding speed as `measureTokensPerSecond` reports it. */
export interface TokensPerSecond {
  tokensPerSecond: number;
  completionTokens: number;
  promptTokens: number;
  wallMs: number;
}

/** Calls `lm` once with temperature 0 and the cache off, and measures completion tokens per second. */
export async function measureTokensPerSecond(lm: LM, prompt: string, maxTokens: number): Promise<TokensPerSecond> {
  const started = performance.now();
  const response = await lm.call({ messages: [{ role: 'user', content: prompt }], config: { max_tokens: maxTokens, temperature: 0, cache: false } });
  const wallMs = performance.now() - started;
  const { completionTokens, promptTokens } = response.usage;
  return { tokensPerSecond: wallMs > 0 ? (completionTokens * 1000) / wallMs : 0, completionTokens, promptTokens, wallMs };
}
