// DSPy's usage tracking (dspy/utils/usage_tracker.py): the tokens of every LM call made inside one top-level
// Module.call, summed per LM model name, nested details (promptTokensDetails) summed key by key. One tracker
// per top-level call; the LM call site adds to it (program/lm_record.ts) and Module.call hands its totals to the
// prediction (prediction.lmUsage). LMUsage, the token counts every LM reports, is defined here with what sums
// them, so usage/ needs nothing above it; the LM contract (primitives/lm.ts) names it.

/** Token counts of a call (prompt, completion, total), or summed over calls (prediction.lmUsage); DSPy's keys are these in snake_case. */
export interface LMUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Breakdown of the prompt tokens when the provider reports one (OpenAI's prompt_tokens_details): cachedTokens, audioTokens. */
  promptTokensDetails?: Record<string, number>;
  /** Breakdown of the completion tokens (OpenAI's completion_tokens_details): reasoningTokens, audioTokens, ... */
  completionTokensDetails?: Record<string, number>;
  /**
   * False when the provider's reply carried no usage at all: the counts are zeros and the call is left out of
   * usage tracking, as DSPy records nothing for it. Absent when the provider reported counts (zeros included).
   */
  reported?: false;
}

/** prediction.lmUsage: usage per LM model name ("openai/gpt-4o-mini"), as DSPy's get_lm_usage() keys it. */
export type LMUsageByModel = Record<string, LMUsage>;

/** A usage record of any shape: counts, nested records of counts, and whatever else a provider reports. */
type UsageRecord = Record<string, unknown>;

/** Counts add; booleans are flags (OpenRouter's is_byok), not counts, as DSPy's _is_summable says. */
function isSummable(value: unknown): value is number {
  return typeof value === 'number';
}

function isRecord(value: unknown): value is UsageRecord {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * DSPy's _merge_usage_entries: numbers add, nested records merge recursively, a missing value takes the other's,
 * anything else keeps the first value seen. Returns a new record; neither argument changes.
 */
export function mergeUsage<U extends object>(first: U | null | undefined, second: U | null | undefined): U {
  const a = first as UsageRecord | null | undefined;
  const b = second as UsageRecord | null | undefined;
  if (a == null || Object.keys(a).length === 0) return copyUsage(b ?? {}) as U;
  if (b == null || Object.keys(b).length === 0) return copyUsage(a) as U;
  const result: UsageRecord = copyUsage(a);
  for (const key of Object.keys(b)) {
    const current = result[key];
    const value = b[key];
    if (isRecord(value) || isRecord(current)) result[key] = mergeUsage(isRecord(current) ? current : null, isRecord(value) ? value : null);
    else if (current === undefined || current === null) {
      if (value !== undefined && value !== null) result[key] = value;
    } else if (isSummable(current) && isSummable(value)) result[key] = current + value;
  }
  return result as U;
}

function copyUsage(usage: UsageRecord): UsageRecord {
  const copy: UsageRecord = {};
  for (const key of Object.keys(usage)) {
    const value = usage[key];
    copy[key] = isRecord(value) ? copyUsage(value) : value;
  }
  return copy;
}

/**
 * Usage that says nothing, which DSPy's add_usage skips: none, no keys, or a reply without usage
 * (`reported: false`). Usage of explicit zeros is not empty: DSPy records a model reported with zero tokens.
 */
export function isEmptyUsage(usage: LMUsage | null | undefined): boolean {
  return usage == null || usage.reported === false || Object.keys(usage).length === 0;
}

/**
 * The usage of one top-level module call (DSPy's UsageTracker). Totals are kept merged as calls arrive, so a
 * call costs one merge of a few keys; `totals()` is a snapshot, and usage added after it does not change it.
 */
export class UsageTracker {
  private readonly byModel = new Map<string, LMUsage>();

  /** Adds one LM call's usage under its model name; usage the reply did not carry adds nothing, as in DSPy. */
  add(model: string, usage: LMUsage | null | undefined): void {
    if (isEmptyUsage(usage)) return;
    this.byModel.set(model, mergeUsage(this.byModel.get(model), usage));
  }

  /** The summed usage per model (DSPy's get_total_tokens), as a fresh object. */
  totals(): LMUsageByModel {
    const totals: LMUsageByModel = {};
    for (const [model, usage] of this.byModel) totals[model] = mergeUsage(usage, null);
    return totals;
  }
}

const camelToSnake = (key: string): string => key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/**
 * The detail keys DSPy 3.4.1 keeps (dspy/clients/call_result.py usage_dict, its default engine): the prompt's
 * cache reads, cache writes and audio, the completion's reasoning and audio. Other details are dropped there.
 */
const DSPY_DETAILS: Readonly<Record<'promptTokensDetails' | 'completionTokensDetails', ReadonlySet<string>>> = {
  promptTokensDetails: new Set(['cachedTokens', 'cacheCreationTokens', 'audioTokens']),
  completionTokensDetails: new Set(['reasoningTokens', 'audioTokens']),
};

/** A details record as DSPy keeps it: its known keys in snake_case, in the order seen; null when none is left. */
function dspyDetails(details: Readonly<Record<string, number>> | undefined, known: ReadonlySet<string>): Record<string, number> | null {
  if (details === undefined) return null;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(details)) if (known.has(key)) out[camelToSnake(key)] = value;
  return Object.keys(out).length === 0 ? null : out;
}

/**
 * One usage record as DSPy records it: prompt_tokens, completion_tokens, total_tokens, then
 * prompt_tokens_details and completion_tokens_details, each null when the provider reported none of the details
 * DSPy keeps (cached_tokens, cache_creation_tokens, audio_tokens; reasoning_tokens, audio_tokens). Empty for a
 * reply without usage (`reported: false`), which DSPy leaves out.
 */
export function toDspyUsage(usage: Readonly<LMUsage>): Record<string, unknown> {
  if (isEmptyUsage(usage)) return {};
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: dspyDetails(usage.promptTokensDetails, DSPY_DETAILS.promptTokensDetails),
    completion_tokens_details: dspyDetails(usage.completionTokensDetails, DSPY_DETAILS.completionTokensDetails),
  };
}

/**
 * prediction.lmUsage exactly as DSPy's prediction.get_lm_usage() gives it (JSON.stringify of it equals
 * json.dumps(..., separators=(',', ':')) of DSPy's): model names kept, each model's summed usage as toDspyUsage
 * writes it. Details of calls summed key by key keep the order DSPy's merge gives them (first seen first).
 */
export function toDspyLmUsage(byModel: Readonly<LMUsageByModel>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(byModel).map(([model, usage]) => [model, toDspyUsage(usage)]));
}

/**
 * The CallOptions key under which Module.call passes its tracker to forward(), so that a sub-module called with
 * those options after an await still adds to it (the caller frame only lasts until the first await).
 */
export const USAGE_TRACKER: unique symbol = Symbol('dspex.usageTracker');
