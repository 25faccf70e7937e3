// Module.call with settings.trackUsage on: the top-level call opens a UsageTracker, every LM call inside adds to
// it, and the call's prediction gets the totals (DSPy's Module.__call__ under track_usage). Nested calls add to
// the top-level tracker and get no lmUsage of their own, as in DSPy.

import type { CallOptions, Module } from './module.js';
import { PredictionRecord } from '../primitives/prediction.js';
import { currentSettings, withCaller, withSettings } from './settings.js';
import { USAGE_TRACKER, UsageTracker } from '../usage/tracker.js';

/**
 * Whether a module's own class declares that its forward passes its options to every sub-module call and runs
 * no user code (Predict, ChainOfThought): then the tracker reaches every LM call through the options and the
 * caller frame, with no AsyncLocalStorage. Any other module (a hand-written program may await and then call a
 * sub-module without its options) runs in a settings scope, which follows every await.
 */
function passesCallOptions(module: object): boolean {
  const ctor = module.constructor as { passesCallOptions?: boolean };
  return Object.hasOwn(ctor, 'passesCallOptions') && ctor.passesCallOptions === true;
}

/** Runs module.forward with usage tracking (called by Module.call when settings.trackUsage is on). */
export function callWithUsage<P>(module: Module, inputs: Record<string, unknown>, options: CallOptions | undefined, forward: (options: CallOptions) => Promise<P>): Promise<P> {
  const inherited = currentSettings().usageTracker ?? options?.[USAGE_TRACKER];
  if (inherited != null) {
    const passed = options?.[USAGE_TRACKER] === inherited ? options : { ...options, [USAGE_TRACKER]: inherited };
    return withCaller(module, () => forward(passed), inherited);
  }
  const tracker = new UsageTracker();
  const passed: CallOptions = { ...options, [USAGE_TRACKER]: tracker };
  const run = (): Promise<P> => withCaller(module, () => forward(passed), tracker);
  const result = passesCallOptions(module) ? run() : withSettings({ usageTracker: tracker }, run);
  return result.then((prediction) => {
    // Usage an LM call adds after this point (a call the program did not await) is not counted, as in DSPy.
    if (prediction instanceof PredictionRecord) prediction.setLmUsage(tracker.totals());
    return prediction;
  });
}
