// Decoding speed of an LM, for the bench (local_lm_tokens_per_s): one uncached call, completion tokens over
// wall time. The prompt is part of the time, as a user waiting on the answer sees it.


/** What the measurement needs of an LM: dspex's `LM` contract (an `LMHandle`, say) has it. */
export interface MeasuredLM {
  call(request: { messages: { role: 'user'; content: string }[]; config: { max_tokens: number; temperature: number; cache: false } }): Promise<{ usage: { completionTokens: number; promptTokens: number } }>;
}
/** An LM's decoding speed as `measureTokensPerSecond` reports it. */
export interface TokensPerSecond {
  tokensPerSecond: number;
  completionTokens: number;
  promptTokens: number;
  wallMs: number;
}

/** Calls `lm` once with temperature 0 and the cache off, and measures completion tokens per second. */
export async function measureTokensPerSecond(lm: MeasuredLM, prompt: string, maxTokens: number): Promise<TokensPerSecond> {
  const started = performance.now();
  const response = await lm.call({ messages: [{ role: 'user', content: prompt }], config: { max_tokens: maxTokens, temperature: 0, cache: false } });
  const wallMs = performance.now() - started;
  const { completionTokens, promptTokens } = response.usage;
  return { tokensPerSecond: wallMs > 0 ? (completionTokens * 1000) / wallMs : 0, completionTokens, promptTokens, wallMs };
}
