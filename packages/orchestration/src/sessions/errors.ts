// The typed errors of session actors. Every one extends SessionError (a DSPexError) with a stable `code` and a
// message that says what to do next; the store's own errors (StoreValueError, StoreUnavailableError, ...) reach
// the caller unchanged, since they already say which value or connection failed.

import { DSPexError } from '@dspex/runtime';

/** Base class of the session layer's errors. */
export abstract class SessionError extends DSPexError {}

/** Sessions.childSpec / start was given no store, or options it cannot use. `field` names the option. */
export class SessionsConfigError extends SessionError {
  readonly code = 'DSPEX_SESSIONS_CONFIG';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`Sessions option ${field}: ${problem}`);
  }
}

/** No Sessions tree runs under this name (never started, or shut down). */
export class SessionsNotRunningError extends SessionError {
  readonly code = 'DSPEX_SESSIONS_NOT_RUNNING';
  constructor(readonly sessionsName: string, operation: string, options?: { cause?: unknown }) {
    super(
      `${operation}: no Sessions tree runs under the name "${sessionsName}". Start it first with ` +
        `Sessions.start(rt, { store }) or put Sessions.childSpec({ store }) in your supervision tree.`,
      options,
    );
  }
}

/**
 * Another writer changed the session in the store since this actor loaded it (a second Node process using the
 * same id, or a direct store write). The actor reloaded the session; the call's turn was NOT recorded.
 */
export class SessionConflictError extends SessionError {
  readonly code = 'DSPEX_SESSION_CONFLICT';
  constructor(
    readonly sessionId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
    options?: { cause?: unknown },
  ) {
    super(
      `session "${sessionId}" was changed by another writer (version ${actualVersion}, this actor had ${expectedVersion}); ` +
        'its turn was not recorded. The session has been reloaded from the store: call again to run with the current history, ' +
        'and give each session id one owner (one Node process) to avoid this.',
      options,
    );
  }
}

/** The session actor died while handling this call (a crash, not a passivation). The next call rehydrates it. */
export class SessionCrashedError extends SessionError {
  readonly code = 'DSPEX_SESSION_CRASHED';
  constructor(readonly sessionId: string, readonly reason: unknown, options?: { cause?: unknown }) {
    super(
      `session "${sessionId}" crashed while handling the call (${reason instanceof Error ? reason.message : String(reason)}). ` +
        'Every acknowledged turn is in the store; the next call rehydrates the session. Whether this call\'s turn was ' +
        'recorded is unknown: read sessions.get(id) before calling again.',
      options,
    );
  }
}

/** The session was closed (sessions.close) while this call waited behind it; nothing was run. */
export class SessionClosedError extends SessionError {
  readonly code = 'DSPEX_SESSION_CLOSED';
  constructor(readonly sessionId: string) {
    super(`session "${sessionId}" was closed before this call ran; nothing was run. Call again to start a new session under this id.`);
  }
}

/** A program given to sessions.call is neither a dspex Module nor a function. */
export class SessionProgramError extends SessionError {
  readonly code = 'DSPEX_SESSION_PROGRAM';
  constructor(problem: string) {
    super(`sessions.call: ${problem}`);
  }
}
