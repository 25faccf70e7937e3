// Versioned migrations: numbered, recorded in dspex_migrations, applied together in one transaction, and a
// database with a version newer than the last one here is refused (StoreSchemaTooNewError) before anything is
// touched. A migration is never edited once released; a change is a new, higher number.

import { StoreMigrationError, StoreSchemaTooNewError } from './errors.js';
import type { Backend } from './sql.js';

/** One numbered schema change, with its statements for each backend. */
export interface Migration {
  version: number;
  name: string;
  /** Statements per dialect; `BIGINT` holds ms timestamps, JSON values are TEXT (kept byte for byte). */
  sqlite: string[];
  postgres: string[];
}

const common = (bigint: string): string[] => [
  `CREATE TABLE dspex_runs (
     run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL,
     input TEXT NOT NULL, output TEXT NOT NULL, error TEXT NOT NULL, meta TEXT NOT NULL,
     journal_length INTEGER NOT NULL DEFAULT 0, created_at ${bigint} NOT NULL, updated_at ${bigint} NOT NULL)`,
  'CREATE INDEX dspex_runs_status ON dspex_runs (status, updated_at)',
  `CREATE TABLE dspex_journal (
     run_id TEXT NOT NULL REFERENCES dspex_runs (run_id) ON DELETE CASCADE, seq INTEGER NOT NULL,
     step_key TEXT NOT NULL, value TEXT NOT NULL, at ${bigint} NOT NULL,
     PRIMARY KEY (run_id, seq), UNIQUE (run_id, step_key))`,
  `CREATE TABLE dspex_sessions (
     id TEXT PRIMARY KEY, state TEXT NOT NULL, version INTEGER NOT NULL, turn_count INTEGER NOT NULL DEFAULT 0,
     created_at ${bigint} NOT NULL, updated_at ${bigint} NOT NULL)`,
  'CREATE INDEX dspex_sessions_idle ON dspex_sessions (updated_at)',
  `CREATE TABLE dspex_session_turns (
     session_id TEXT NOT NULL REFERENCES dspex_sessions (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
     turn TEXT NOT NULL, at ${bigint} NOT NULL, PRIMARY KEY (session_id, seq))`,
  `CREATE TABLE dspex_kv (
     ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
     updated_at ${bigint} NOT NULL, PRIMARY KEY (ns, key))`,
];

/** Every migration, in order. The last one's number is the schema version this code knows. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'runs, journal, sessions, turns, kv', sqlite: common('INTEGER'), postgres: common('BIGINT') },
];

/** The schema version this code knows (the last migration's number); `store.schemaVersion()` reads the database's. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Arbitrary constant for pg_advisory_xact_lock: concurrent openers of one database migrate one at a time. */
const PG_MIGRATION_LOCK = 0x64737078;

/** Brings the database to SCHEMA_VERSION; resolves to the version it found. */
export async function migrate(backend: Backend, now: () => number, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  return backend.write(async (tx) => {
    if (backend.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [PG_MIGRATION_LOCK]);
    await tx.exec('CREATE TABLE IF NOT EXISTS dspex_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const row = await tx.get<{ version: number | null }>('SELECT MAX(version) AS version FROM dspex_migrations');
    const found = Number(row?.version ?? 0);
    if (found > known) throw new StoreSchemaTooNewError(found, known, backend.where);
    for (const migration of migrations) {
      if (migration.version <= found) continue;
      try {
        for (const statement of migration[backend.dialect]) await tx.exec(statement);
      } catch (error) {
        throw new StoreMigrationError(migration.version, migration.name, error);
      }
      await tx.run('INSERT INTO dspex_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, now()]);
    }
    return found;
  });
}
