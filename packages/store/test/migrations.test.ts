// Migrations run together in one transaction: a failing one leaves the database exactly as it was.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { StoreMigrationError } from '../src/errors.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from '../src/migrations.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const broken: Migration = { version: SCHEMA_VERSION + 1, name: 'broken', sqlite: ['CREATE TABLE dspex_half (a INTEGER)', 'THIS IS NOT SQL'], postgres: [] };

async function tables(backend: SqliteBackend): Promise<string[]> {
  const rows = await backend.read((tx) => tx.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'dspex_%' ORDER BY name"));
  return rows.map((r) => r.name);
}

describe('migrations', () => {
  it('a failing migration on an existing database rolls back and the version stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-migrate-'));
    dirs.push(dir);
    const backend = new SqliteBackend({ dir });
    try {
      expect(await migrate(backend, Date.now)).toBe(0);
      const before = await tables(backend);
      const error = await migrate(backend, Date.now, [...MIGRATIONS, broken]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreMigrationError);
      expect(error).toMatchObject({ code: 'DSPEX_STORE_MIGRATION_FAILED', version: SCHEMA_VERSION + 1 });
      expect(await tables(backend)).toEqual(before);
      expect(await migrate(backend, Date.now)).toBe(SCHEMA_VERSION);
    } finally {
      await backend.close();
    }
  });

  it('on a new database all pending migrations are one transaction: a failure leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-migrate-'));
    dirs.push(dir);
    const backend = new SqliteBackend({ dir });
    try {
      await expect(migrate(backend, Date.now, [...MIGRATIONS, broken])).rejects.toBeInstanceOf(StoreMigrationError);
      expect(await tables(backend)).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
