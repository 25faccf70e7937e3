// The sessions subsystem's public surface; src/index.ts re-exports it.
export { Sessions, type SessionsOptions, type SessionsHandle, type SessionCallOptions } from './sessions.js';
export type { SessionContext, SessionFunction, SessionProgram, SessionSnapshot, SessionChanges } from './session_actor.js';
export type { SessionsStats } from './passivation.js';
export { historyOf, historyFieldOf, type History, type JsonObject, type SessionTurnRecord } from './history.js';
export { SessionError, SessionsConfigError, SessionsNotRunningError, SessionConflictError, SessionCrashedError, SessionClosedError, SessionProgramError } from './errors.js';
