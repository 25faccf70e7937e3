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
