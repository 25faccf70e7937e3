// What LM calls cost: a price table per model in USD per million tokens (input, cached input, output), with
// built-in entries for a few common models and registerPrices() for the rest. DSPy reads litellm's
// response_cost; we have no litellm, so the table is ours and a model missing from it is reported, not guessed.

import type { LMUsage, LMUsageByModel } from './tracker.js';

/** Prices of one model in USD per million tokens. */
export interface ModelPrice {
  /** Prompt tokens not served from the provider's prompt cache. */
  input: number;
  /** Completion tokens (reasoning tokens included: providers bill them as output). */
  output: number;
  /** Prompt tokens read from the provider's prompt cache (promptTokensDetails.cachedTokens); `input` when absent. */
  cachedInput?: number;
  /** Prompt tokens written to the prompt cache (Anthropic's promptTokensDetails.cacheCreationTokens); `input` when absent. */
  cacheWriteInput?: number;
}

/**
 * Approximate list prices (USD per million tokens) as published by the providers in June 2025, for models
 * named with or without their provider prefix; dated snapshots ("gpt-4o-mini-2024-07-18") use their family's
 * entry. Check your provider's price page and override with registerPrices() where it matters.
 */
export const BUILT_IN_PRICES_DATE = '2025-06';

const BUILT_IN: Record<string, ModelPrice> = {
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'o3': { input: 2, cachedInput: 0.5, output: 8 },
  'o3-mini': { input: 1.1, cachedInput: 0.55, output: 4.4 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  'claude-3-5-haiku': { input: 0.8, cachedInput: 0.08, cacheWriteInput: 1, output: 4 },
  'claude-3-7-sonnet': { input: 3, cachedInput: 0.3, cacheWriteInput: 3.75, output: 15 },
  'claude-sonnet-4': { input: 3, cachedInput: 0.3, cacheWriteInput: 3.75, output: 15 },
  'claude-opus-4': { input: 15, cachedInput: 1.5, cacheWriteInput: 18.75, output: 75 },
  'gemini-2.0-flash': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gemini-2.5-flash': { input: 0.3, cachedInput: 0.075, output: 2.5 },
  'gemini-2.5-pro': { input: 1.25, cachedInput: 0.31, output: 10 },
};

const FREE: ModelPrice = { input: 0, output: 0, cachedInput: 0 };

let registered: Record<string, ModelPrice> = {};

/** priceOf's answers by model name (null: no price), so an LM call pays one Map lookup; emptied when prices change. */
const resolved = new Map<string, ModelPrice | null>();

/**
 * Adds or replaces prices, by full model name ("openai/my-fine-tune") or bare name ("gpt-4o"). Later calls win;
 * registered prices win over the built-in ones.
 */
export function registerPrices(prices: Readonly<Record<string, ModelPrice>>): void {
  registered = { ...registered, ...prices };
  resolved.clear();
}

/** Forgets every registered price (the built-in ones stay). For tests. */
export function resetPrices(): void {
  registered = {};
  resolved.clear();
}

function lookup(name: string): ModelPrice | undefined {
  return registered[name] ?? BUILT_IN[name];
}

/**
 * The price of a model: its full name, then its name without the provider prefix, then a known name of which
 * it is a snapshot or alias (see SNAPSHOT_SUFFIX: `gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`). The embedded
 * model ("local/...") is free. Undefined when none is known.
 */
export function priceOf(model: string): ModelPrice | undefined {
  let price = resolved.get(model);
  if (price === undefined) {
    price = findPrice(model) ?? null;
    if (resolved.size >= 1024) resolved.clear();
    resolved.set(model, price);
  }
  return price ?? undefined;
}

function findPrice(model: string): ModelPrice | undefined {
  const exact = lookup(model);
  if (exact !== undefined) return exact;
  const slash = model.indexOf('/');
  const provider = slash < 0 ? '' : model.slice(0, slash);
  if (provider === 'local') return FREE;
  const bare = model.slice(slash + 1);
  const direct = lookup(bare);
  if (direct !== undefined) return direct;
  for (const name of [...Object.keys(registered), ...Object.keys(BUILT_IN)]) {
    if (!name.includes('/') && bare.startsWith(name) && SNAPSHOT_SUFFIX.test(bare.slice(name.length))) return lookup(name);
  }
  return undefined;
}

/**
 * What a provider appends to a model's name for a snapshot or an alias of the same model: a date
 * (-2024-07-18, -20241022), a build (-001), -latest, -preview or -exp with an optional date. Any other suffix
 * names another model with its own price (gemini-2.5-flash-lite, o3-pro, gpt-4o-audio-preview), which is
 * reported as unpriced rather than priced as its family.
 */
const SNAPSHOT_SUFFIX = /^-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3}|latest|(?:preview|exp)(?:-\d{2}-\d{2}(?:-\d{4})?)?)$/;

/**
 * The cost in USD of `usage` at `price`: prompt tokens read from the cache, written to it, and the rest, and
 * output tokens, each at their rate.
 */
export function costAt(price: ModelPrice, usage: LMUsage): number {
  const cached = Math.min(usage.promptTokensDetails?.['cachedTokens'] ?? 0, usage.promptTokens);
  const written = Math.min(usage.promptTokensDetails?.['cacheCreationTokens'] ?? 0, usage.promptTokens - cached);
  const uncached = usage.promptTokens - cached - written;
  return (uncached * price.input + cached * (price.cachedInput ?? price.input) + written * (price.cacheWriteInput ?? price.input) + usage.completionTokens * price.output) / 1_000_000;
}

/** The cost in USD of one model's usage; null when the model has no price (registerPrices adds one). */
export function costOf(model: string, usage: LMUsage): number | null {
  const price = priceOf(model);
  return price === undefined ? null : costAt(price, usage);
}

/** What prediction.lmCost gives: the total over priced models, each model's cost, and the models without a price. */
export interface LMCost {
  /** USD, summed over the models that have a price. */
  total: number;
  /** USD per model; null for a model without a price. */
  byModel: Record<string, number | null>;
  /** Models left out of `total` because no price is known: add them with registerPrices(). */
  unpriced: string[];
}

/** The cost of usage per model (prediction.lmUsage): see LMCost. */
export function usageCost(byModel: Readonly<LMUsageByModel>): LMCost {
  const cost: LMCost = { total: 0, byModel: {}, unpriced: [] };
  for (const [model, usage] of Object.entries(byModel)) {
    const value = costOf(model, usage);
    cost.byModel[model] = value;
    if (value === null) cost.unpriced.push(model);
    else cost.total += value;
  }
  return cost;
}
