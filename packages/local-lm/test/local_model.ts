// Whether the embedded model's GGUF is installed, for the tests that run it: null when it is, else why not
// (the message of the skip on a user's machine, or of the failure where CI requires it).

import { findLocalModel } from '../src/index.js';

export function localModelMissing(): string | null {
  try {
    findLocalModel();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
