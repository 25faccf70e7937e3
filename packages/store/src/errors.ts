// Typed errors of the store. Every error has a stable `code`, a message that says what to do next, and the
// cause attached. Callers match on `code` or on the class, never on message text.

import { DSPexError } from '@dspex/runtime';

/** The base of every store error. */
export abstract class StoreError extends DSPexError {}

/** What a conflict was about: the record kind and its key. */
export type ConflictKind = 'session' | 'kv' | 'journal' | 'run';

/**
 * A write lost a race or contradicts what is stored: a stale `expectedVersion` (sessions, key-values), a
 * journal step key written again with a different value, or a run id created twice. Nothing was written.
 * Reload the record and decide again; retrying the same write blindly will fail the same way.
 */
export class StoreConflictError extends StoreError {
  readonly code = 'DSPEX_STORE_CONFLICT';
  constructor(
    readonly kind: ConflictKind,
    readonly key: string,
    detail: { expectedVersion?: number; actualVersion?: number; reason?: string } = {},
  ) {
    const reason =
      detail.reason ??
      `expected version ${detail.expectedVersion}, found ${detail.actualVersion === 0 || detail.actualVersion === undefined ? 'none' : detail.actualVersion}`;
    super(`${kind} ${key}: conflicting write (${reason}). Nothing was written; reload it and decide again.`);
    this.expectedVersion = detail.expectedVersion;
    this.actualVersion = detail.actualVersion;
  }
  /** The version the writer expected (sessions and key-values). */
  readonly expectedVersion: number | undefined;
  /** The version found in the store; 0 when the record does not exist. */
  readonly actualVersion: number | undefined;
}

/** A run, or a session to delete by version, does not exist. */
export class StoreNotFoundError extends StoreError {
  readonly code = 'DSPEX_STORE_NOT_FOUND';
  constructor(readonly kind: 'run' | 'session', readonly key: string, hint: string) {
    super(`${kind} ${key} does not exist. ${hint}`);
  }
}

/** A value is not plain JSON. `path` names the offending place, e.g. `$.steps[2].at`. Nothing was written. */
export class StoreValueError extends StoreError {
  readonly code = 'DSPEX_STORE_NOT_JSON';
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}. The store keeps plain JSON only (null, booleans, finite numbers, strings, arrays, plain objects); convert the value first.`);
  }
}

/** The database was written by a newer version of @dspex/store than this one. Nothing was changed. */
export class StoreSchemaTooNewError extends StoreError {
  readonly code = 'DSPEX_STORE_SCHEMA_TOO_NEW';
  constructor(readonly found: number, readonly known: number, where: string) {
    super(
      `${where} has store schema version ${found}, but this @dspex/store knows versions up to ${known}. ` +
        'Upgrade @dspex/store to the version that wrote it, or point the store at another data directory/database.',
    );
  }
}

/** A migration failed; its transaction was rolled back and the schema stays at `version - 1`. */
export class StoreMigrationError extends StoreError {
  readonly code = 'DSPEX_STORE_MIGRATION_FAILED';
  constructor(readonly version: number, readonly migration: string, cause: unknown) {
    super(`store migration ${version} (${migration}) failed and was rolled back: ${messageOf(cause)}`, { cause });
  }
}

/**
 * The database cannot be reached (PostgreSQL refused, dropped or timed out the connection; SQLite busy past
 * its timeout). The operation did not complete; whether it was applied is unknown only when `ambiguous` is true
 * (the connection dropped during COMMIT). The pool reconnects on the next call, so a retry is safe for
 * idempotent operations (journal appends with the same step key, versioned writes).
 */
export class StoreUnavailableError extends StoreError {
  readonly code = 'DSPEX_STORE_UNAVAILABLE';
  constructor(readonly backend: 'sqlite' | 'postgres', readonly ambiguous: boolean, cause: unknown) {
    super(
      `${backend} store unavailable: ${messageOf(cause)}. ` +
        (backend === 'postgres' ? 'Check that the server is running and the connection string; the next call reconnects.' : 'Another process holds the database lock; retry, or give each process its own data directory.'),
      { cause },
    );
  }
}

/** The store was closed (or its supervised process stopped) before or during the call. */
export class StoreClosedError extends StoreError {
  readonly code = 'DSPEX_STORE_CLOSED';
  constructor(what: string) {
    super(`${what}: the store is closed. Open it again (openStore) or look up the supervised store again (Store.connect).`);
  }
}

/** The store options are malformed; `field` names the bad one. */
export class StoreConfigError extends StoreError {
  readonly code = 'DSPEX_STORE_CONFIG';
  constructor(readonly field: string, detail: string) {
    super(`store option ${field}: ${detail}`);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
