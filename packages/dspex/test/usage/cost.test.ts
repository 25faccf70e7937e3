// Cost from the price table: built-in prices by full name, bare name and dated snapshot; the embedded model
// free; cached input at its own rate; registerPrices overriding and extending; prediction.lmCost.

import { afterEach, describe, expect, it } from 'vitest';
import { Prediction } from '../../src/primitives/prediction.js';
import { costOf, priceOf, registerPrices, resetPrices, usageCost } from '../../src/usage/prices.js';

afterEach(() => resetPrices());

const tokens = (promptTokens: number, completionTokens: number, cachedTokens?: number) => ({
  promptTokens,
  completionTokens,
  totalTokens: promptTokens + completionTokens,
  ...(cachedTokens === undefined ? {} : { promptTokensDetails: { cachedTokens } }),
});

describe('cost', () => {
  it('prices known models by full name, bare name and dated snapshot', () => {
    expect(priceOf('openai/gpt-4o-mini')).toEqual({ input: 0.15, cachedInput: 0.075, output: 0.6 });
    expect(priceOf('gpt-4o-mini')).toEqual(priceOf('openai/gpt-4o-mini'));
    expect(priceOf('openai/gpt-4o-mini-2024-07-18')).toEqual(priceOf('gpt-4o-mini'));
    // The longest family wins: gpt-4.1-mini, not gpt-4.1.
    expect(priceOf('openai/gpt-4.1-mini-2025-04-14')).toEqual({ input: 0.4, cachedInput: 0.1, output: 1.6 });
    expect(priceOf('anthropic/claude-sonnet-4-20250514')?.output).toBe(15);
    expect(priceOf('openai/some-unknown-model')).toBeUndefined();
    expect(priceOf('anthropic/claude-3-5-haiku-latest')).toEqual(priceOf('claude-3-5-haiku'));
    expect(priceOf('gemini/gemini-2.0-flash-001')).toEqual(priceOf('gemini-2.0-flash'));
    expect(priceOf('gemini/gemini-2.5-pro-preview-06-05')).toEqual(priceOf('gemini-2.5-pro'));
  });

  it('does not price another model as the family its name starts with', () => {
    // Each of these has its own price: reported as unpriced, not guessed.
    for (const model of ['gemini/gemini-2.5-flash-lite', 'openai/o3-pro', 'openai/gpt-4o-audio-preview', 'openai/gpt-4o-mini-tts']) expect(priceOf(model), model).toBeUndefined();
    registerPrices({ 'gemini-2.5-flash-lite': { input: 0.1, output: 0.4 } });
    expect(priceOf('gemini/gemini-2.5-flash-lite-preview-06-17')).toEqual({ input: 0.1, output: 0.4 });
  });

  it('computes uncached, cached and output tokens at their rates', () => {
    // 1M prompt of which 400k cached, 200k output on gpt-4o: 0.6 * 2.5 + 0.4 * 1.25 + 0.2 * 10.
    expect(costOf('openai/gpt-4o', tokens(1_000_000, 200_000, 400_000))).toBeCloseTo(1.5 + 0.5 + 2, 12);
    expect(costOf('openai/gpt-4o', tokens(1_000_000, 0))).toBeCloseTo(2.5, 12);
  });

  it('the embedded model is free; an unknown one is null', () => {
    expect(costOf('local/smollm2-135m-instruct', tokens(5000, 5000))).toBe(0);
    expect(costOf('openai/my-fine-tune', tokens(10, 10))).toBeNull();
  });

  it('registerPrices adds and overrides, by full or bare name', () => {
    // Looked up first, so a price remembered per model name must give way to the registered one.
    expect(costOf('openai/my-fine-tune', tokens(1, 1))).toBeNull();
    expect(costOf('openai/gpt-4o-mini', tokens(1_000_000, 0))).toBeCloseTo(0.15, 12);
    registerPrices({ 'openai/my-fine-tune': { input: 3, output: 12 }, 'gpt-4o-mini': { input: 1, output: 1 } });
    expect(costOf('openai/my-fine-tune', tokens(1_000_000, 1_000_000, 500_000))).toBeCloseTo(15, 12);
    expect(costOf('openai/gpt-4o-mini', tokens(1_000_000, 0))).toBeCloseTo(1, 12);
    resetPrices();
    expect(costOf('openai/gpt-4o-mini', tokens(1_000_000, 0))).toBeCloseTo(0.15, 12);
  });

  it('prediction.lmCost sums priced models and names the unpriced ones', () => {
    const prediction = new Prediction({ answer: 'x' });
    prediction.setLmUsage({ 'openai/gpt-4o-mini': tokens(1_000_000, 1_000_000), 'local/smollm2-135m-instruct': tokens(10, 10), 'custom/x': tokens(1, 1) });
    expect(prediction.lmCost).toEqual({ total: 0.75, byModel: { 'openai/gpt-4o-mini': 0.75, 'local/smollm2-135m-instruct': 0, 'custom/x': null }, unpriced: ['custom/x'] });
    expect(usageCost({})).toEqual({ total: 0, byModel: {}, unpriced: [] });
  });
});
