// The Store contract: purpose-named, async operations on journals, runs, sessions and versioned key-values.
// Both backends implement exactly this; test/contract.test.ts runs one suite against each.

import type { JsonValue } from './json.js';

/** Where a run stands. `running` and `pending` runs are the ones to resume after a crash. */
export type RunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A pipeline run as stored: its status, input, output or error, and how long its journal is. */
export interface RunRecord {
  runId: string;
  /** The pipeline's name, as given to createRun. */
  pipeline: string;
  status: RunStatus;
  input: JsonValue;
  output: JsonValue;
  error: JsonValue;
  /** Free-form data the pipeline keeps with the run (definition hash, options). */
  meta: JsonValue;
  /** Entries in the run's journal (the highest `seq`). */
  journalLength: number;
  createdAt: number;
  updatedAt: number;
}

/** What `createRun` takes. */
export interface CreateRunInput {
  /** A run id; a random UUID when left out. An id that exists is a StoreConflictError (kind 'run'). */
  runId?: string;
  pipeline: string;
  input?: JsonValue;
  meta?: JsonValue;
  /** Default `running`. */
  status?: RunStatus;
}

/** What `updateRun` takes: the new status, with the output or error it ended with. */
export interface RunUpdate {
  status: RunStatus;
  output?: JsonValue;
  error?: JsonValue;
  /** Only update when the run has this status now; otherwise a StoreConflictError (kind 'run'). */
  expectedStatus?: RunStatus;
}

/** A filter for `listRuns`: by status (one or several), pipeline, and how many. */
export interface ListRunsQuery {
  status?: RunStatus | RunStatus[];
  pipeline?: string;
  /** Most recently updated first; default 100. */
  limit?: number;
}

/** One step's result, as `appendJournal` takes it. */
export interface JournalEntryInput {
  /** Unique within the run: the step's identity. Writing it again is idempotent (see appendJournal). */
  stepKey: string;
  value: JsonValue;
}

/** One journal entry as read back: its number, step key, value and time (ms). */
export interface JournalEntry {
  /** 1, 2, 3, ... per run, in append order. */
  seq: number;
  stepKey: string;
  value: JsonValue;
  at: number;
}

/** What `appendJournal` resolves to: the entry's number, and whether this call wrote it. */
export interface AppendResult {
  seq: number;
  /** false when the same step key with the same value was already in the journal (nothing was written). */
  appended: boolean;
}

/** A session as stored: its state, version and turn count. */
export interface SessionRecord {
  id: string;
  state: JsonValue;
  /** 1 after the first save; every save and every appendTurn adds 1. */
  version: number;
  /** Turns appended so far (the highest turn `seq`). */
  turnCount: number;
  createdAt: number;
  updatedAt: number;
}

/** What `loadSession` resolves to: the session and its turns. */
export interface LoadedSession extends SessionRecord {
  /** The session's turns in order, oldest first (all of them, or the last `lastTurns`). */
  turns: SessionTurn[];
}

/** One turn of a session as read back: its number, value and time (ms). */
export interface SessionTurn {
  /** 1, 2, 3, ... per session. */
  seq: number;
  turn: JsonValue;
  at: number;
}

/** Options of `appendTurn`: a version check and a state to write with the turn. */
export interface AppendTurnOptions {
  /** Check the session's version first; a mismatch is a StoreConflictError and nothing is written. */
  expectedVersion?: number;
  /** Replace the session's state in the same transaction as the turn. */
  state?: JsonValue;
}

/** A session `listIdle` found untouched since the given time. */
export interface IdleSession {
  id: string;
  version: number;
  updatedAt: number;
}

/** A key-value entry as read back: its value, version and time of the last write (ms). */
export interface KvEntry {
  value: JsonValue;
  version: number;
  updatedAt: number;
}

/**
 * A namespaced key-value with versions, for variables, learner state and programs. `expectedVersion` makes a
 * write conditional: 0 means "must not exist", n means "must be at version n"; left out, the write is
 * unconditional (last writer wins).
 */
export interface KeyValue {
  get(ns: string, key: string): Promise<KvEntry | undefined>;
  /** Resolves to the new version. */
  put(ns: string, key: string, value: JsonValue, expectedVersion?: number): Promise<number>;
  /** Resolves to true when a key was deleted. */
  delete(ns: string, key: string, expectedVersion?: number): Promise<boolean>;
  /** Keys of a namespace in key order, optionally those starting with `prefix`. */
  list(ns: string, options?: { prefix?: string; limit?: number }): Promise<Array<{ key: string } & KvEntry>>;
}

/** The store. Every method rejects with a StoreError subclass (see errors.ts) and never half-writes. */
export interface Store {
  readonly backend: 'sqlite' | 'postgres';

  // Runs and their journals (pipelines).
  createRun(input: CreateRunInput): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** A run and its whole journal, read in one snapshot: what a resume needs. */
  loadRun(runId: string): Promise<{ run: RunRecord; journal: JournalEntry[] } | undefined>;
  updateRun(runId: string, update: RunUpdate): Promise<RunRecord>;
  listRuns(query?: ListRunsQuery): Promise<RunRecord[]>;
  /** Deletes a run and its journal; true when it existed. */
  deleteRun(runId: string): Promise<boolean>;
  /**
   * Appends one entry to a run's journal and resolves once it is committed (durable as the backend's
   * durability setting says). The same step key again with an equal value is a no-op ({ appended: false },
   * the first seq); with a different value it is a StoreConflictError (kind 'journal'). An unknown run is a
   * StoreNotFoundError.
   */
  appendJournal(runId: string, entry: JournalEntryInput): Promise<AppendResult>;
  readJournal(runId: string, options?: { afterSeq?: number }): Promise<JournalEntry[]>;

  // Sessions.
  loadSession(id: string, options?: { lastTurns?: number }): Promise<LoadedSession | undefined>;
  /**
   * Writes a session's state if its version is `expectedVersion` (0: the session must not exist yet) and
   * resolves to the new version. A stale version is a StoreConflictError carrying the actual version.
   */
  saveSession(id: string, state: JsonValue, expectedVersion: number): Promise<number>;
  /**
   * Appends a turn to a session (creating the session with state null if it does not exist) and resolves to
   * its `seq` and the session's new version. Turns of one session are numbered in commit order.
   */
  appendTurn(sessionId: string, turn: JsonValue, options?: AppendTurnOptions): Promise<{ seq: number; version: number }>;
  readTurns(sessionId: string, options?: { afterSeq?: number; limit?: number }): Promise<SessionTurn[]>;
  /** Sessions untouched since `before` (ms since the epoch), least recently used first. */
  listIdle(before: number, options?: { limit?: number }): Promise<IdleSession[]>;
  /** Deletes a session and its turns; true when it existed. With expectedVersion, a stale one is a conflict. */
  deleteSession(id: string, expectedVersion?: number): Promise<boolean>;

  // Variables, learner state, programs.
  readonly kv: KeyValue;

  /** The schema version this database is at. */
  schemaVersion(): Promise<number>;
  /** Waits for queued writes, then closes the database. Calls after close reject with StoreClosedError. */
  close(): Promise<void>;
  readonly closed: boolean;
}
