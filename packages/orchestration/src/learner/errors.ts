// The typed errors of the learner. Every one extends LearnerError (a DSPexError) with a stable `code` and a
// message that says what to do next; the store's own errors reach the caller unchanged.

import { DSPexError } from '@dspex/runtime';

/** Base class of the learner's errors. */
export abstract class LearnerError extends DSPexError {}

/** A learner definition that cannot be used (no arms, an arm name twice, a bad option). */
export class LearnerDefinitionError extends LearnerError {
  readonly code = 'DSPEX_LEARNER_DEFINITION';
  constructor(readonly learner: string, problem: string) {
    super(`learner "${learner}": ${problem}`);
  }
}

/**
 * A call the learner refuses before it changes anything: a score, latency or cost that is not a finite number, a
 * context it cannot bucket, a request id already in use, an objective that threw or gave no finite reward.
 */
export class LearnerValueError extends LearnerError {
  readonly code = 'DSPEX_LEARNER_VALUE';
  constructor(readonly learner: string, problem: string, options?: { cause?: unknown }) {
    super(`learner "${learner}": ${problem}`, options);
  }
}

/** explain() or report() named a request the learner does not hold (never chosen, or past its TTL / the pending bound). */
export class LearnerUnknownRequestError extends LearnerError {
  readonly code = 'DSPEX_LEARNER_UNKNOWN_REQUEST';
  constructor(readonly learner: string, readonly requestId: string) {
    super(
      `learner "${learner}" holds no decision "${requestId}": it was never chosen here, or it passed its TTL or the pending bound ` +
        '(pending.ttlMs, pending.max) and was dropped. Raise those bounds to explain or report later.',
    );
  }
}

/**
 * `learner(definition)` named a learner whose actor runs with another definition (other arms, objective,
 * options or functions). `differences` says what differs; nothing was sent.
 */
export class LearnerDefinitionMismatchError extends LearnerError {
  readonly code = 'DSPEX_LEARNER_DEFINITION_MISMATCH';
  constructor(readonly learner: string, readonly differences: string[]) {
    super(
      `learner "${learner}" is running with another definition: ${differences.join('; ')}. A learner runs one definition at a time: ` +
        `stop the running one first (stop() on its handle, or learners.stop("${learner}"); what it learned stays in the store) and start this one, ` +
        'or give this definition another name.',
    );
  }
}

/**
 * The store holds what the learner learned under another definition that this one cannot use as it is: an
 * arm whose values changed under the same name, or rewards of another objective. Nothing was used or written.
 */
export class LearnerStoredStateError extends LearnerError {
  readonly code = 'DSPEX_LEARNER_STORED_STATE';
  constructor(readonly learner: string, readonly changes: string[]) {
    super(
      `learner "${learner}": what the store holds (kv namespace learner:${learner}) was learned under another definition: ${changes.join('; ')}. ` +
        "Pass onDefinitionChange: 'forget' to defineLearner to forget what the change invalidates (the changed arms' statistics; every posterior " +
        'when the reward changed), give the learner another name, or run the definition it was learned with.',
    );
  }
}

/** No Learners tree runs under this name (never started, or shut down). */
export class LearnersNotRunningError extends LearnerError {
  readonly code = 'DSPEX_LEARNERS_NOT_RUNNING';
  constructor(readonly treeName: string, operation: string, options?: { cause?: unknown }) {
    super(
      `${operation}: no Learners tree runs under the name "${treeName}". Start it with Learners.start(rt, { store }) ` +
        'or put Learners.childSpec({ store }) in your supervision tree.',
      options,
    );
  }
}
