// The runtime an evaluation or an optimizer runs its tasks on: the one the call was given, else the settings'
// (configure({ runtime }) / withSettings), else one made for this call alone and shut down when the call ends,
// whatever way it ends, so no process, timer or supervisor is left running once its promise settles.

import { Runtime, type Caller } from '@dspex/runtime';
import { currentSettings } from '../program/settings.js';

/** The runtime `work` should use when the caller named none: the option, else settings.runtime, else undefined. */
export function chosenRuntime(given: Caller | undefined): Caller | undefined {
  return given ?? currentSettings().runtime ?? undefined;
}

/** Runs `work` on the chosen runtime, or on a fresh one that is shut down before the returned promise settles. */
export async function withWorkRuntime<T>(given: Caller | undefined, work: (caller: Caller) => Promise<T>): Promise<T> {
  const chosen = chosenRuntime(given);
  if (chosen !== undefined) return work(chosen);
  const own = new Runtime();
  try {
    return await work(own);
  } finally {
    await own.shutdown();
  }
}
