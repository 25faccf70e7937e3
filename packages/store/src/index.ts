// Public API of @dspex/store. Only re-exports; see README.md for the guide.
export { openStore, type StoreOptions } from './open.js';
export { Store, type StoreChildOptions } from './supervised.js';
export type { SqliteOptions } from './backends/sqlite.js';
export type { PostgresOptions } from './backends/postgres.js';
export type {
  KeyValue,
  KvEntry,
  RunStatus,
  RunRecord,
  CreateRunInput,
  RunUpdate,
  ListRunsQuery,
  JournalEntryInput,
  JournalEntry,
  AppendResult,
  SessionRecord,
  LoadedSession,
  SessionTurn,
  AppendTurnOptions,
  IdleSession,
} from './types.js';
export type { JsonValue } from './json.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export {
  StoreError,
  StoreConflictError,
  StoreNotFoundError,
  StoreValueError,
  StoreSchemaTooNewError,
  StoreMigrationError,
  StoreUnavailableError,
  StoreClosedError,
  StoreConfigError,
  type ConflictKind,
} from './errors.js';
