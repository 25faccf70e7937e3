// What an LM call leaves behind: its usage in the top-level module call's tracker and an entry in the
// histories. The call site is read synchronously when the call starts (the caller context is gone by the time
// the response arrives: no AsyncLocalStorage is needed), and the record is written when the response arrives.

import type { LMConfig, LMRequest, LMResponse } from '../primitives/lm.js';
import { currentSettings } from './settings.js';
import { MAX_GLOBAL_HISTORY_SIZE, RecordedCall, globalHistoryBuffer, type HistoryBuffer } from '../history/history.js';
import { costOf } from '../usage/prices.js';
import type { UsageTracker } from '../usage/tracker.js';

/** What an LM call needs to know about its caller, read when the call starts. */
export interface CallSite {
  tracker: UsageTracker | null;
  /** 0 when history is disabled; else the per-LM history bound (settings.maxHistorySize). */
  historySize: number;
  recordHistory: boolean;
}

/** Reads the call site; call it synchronously at the start of an LM call, before any await. */
export function callSite(request: LMRequest): CallSite {
  const settings = currentSettings();
  return { tracker: request.usageTracker ?? settings.usageTracker, historySize: settings.maxHistorySize, recordHistory: !settings.disableHistory };
}

/** The settings a history entry shows: the call's config (and response format / tools), never an api_* key. */
function historyKwargs(request: LMRequest): LMConfig {
  const kwargs: LMConfig = {};
  for (const key in request.config) if (!key.startsWith('api_') && !key.startsWith('apiKey')) kwargs[key] = request.config[key];
  if (request.responseFormat !== undefined) kwargs['response_format'] = request.responseFormat;
  if (request.tools !== undefined) kwargs['tools'] = request.tools;
  return kwargs;
}

/**
 * Records a finished call: its usage in the tracker (not for a cache hit: nothing was billed, as in DSPy), and
 * an entry in the global history and in `own` (the LM's history) unless history is disabled. An LM that
 * implements the contract itself calls this to get what LM.start's clients get.
 */
export function recordLMCall(site: CallSite, model: string, own: HistoryBuffer | undefined, request: LMRequest, response: LMResponse): void {
  if (site.tracker !== null && !response.cached) site.tracker.add(model, response.usage);
  if (!site.recordHistory) return;
  // The entry's timestamp text and uuid are made when history is read (history.ts): most entries never are.
  const entry = new RecordedCall(request.messages, historyKwargs(request), response, model, costOf(model, response.usage), Date.now());
  globalHistoryBuffer.push(entry, MAX_GLOBAL_HISTORY_SIZE);
  own?.push(entry, site.historySize);
}
