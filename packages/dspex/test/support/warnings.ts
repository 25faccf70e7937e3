// Waits for the module layer's process warnings (DSPexWarning with a code), so tests assert on the event
// itself instead of polling or sleeping.

import { MODULE_WARNING_TYPE, type ModuleWarningCode } from '../../src/primitives/warnings.js';

export interface SeenWarning {
  code: string;
  message: string;
}

/** Resolves with the first `count` DSPex warnings whose code is in `codes`, in emission order. */
export function moduleWarnings(codes: readonly ModuleWarningCode[], count = codes.length): Promise<SeenWarning[]> {
  return new Promise((resolve) => {
    const seen: SeenWarning[] = [];
    const listener = (warning: Error & { code?: string }): void => {
      if (warning.name !== MODULE_WARNING_TYPE || !codes.includes(warning.code as ModuleWarningCode)) return;
      seen.push({ code: warning.code!, message: warning.message });
      if (seen.length === count) {
        process.off('warning', listener);
        resolve(seen);
      }
    };
    process.on('warning', listener);
  });
}
