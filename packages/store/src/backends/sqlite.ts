// The embedded backend: one better-sqlite3 connection on a file under the user's data directory, WAL mode.
// better-sqlite3 is synchronous, so every job (a write transaction or a consistent read) runs alone on the
// connection, in arrival order, from one queue: the async steps of one job never interleave with another's.
// With group commit, the writes queued during one turn of the event loop share one transaction (and one fsync),
// each inside its own SAVEPOINT so that one failing write does not undo the others.
// Durability without blocking: with `synchronous: 'full'` SQLite itself runs at synchronous=NORMAL (a commit
// reaches the OS, no fsync), and the backend then fdatasyncs the WAL file on libuv's thread pool, off the event
// loop; the commit's jobs resolve, and the next job starts, only after that fsync. So an acknowledged write is
// on disk exactly as with synchronous=FULL, and the 0.2-4 ms fsync no longer stalls every other timer and
// socket of the process. While the fsync runs, new writes queue up and join the next group.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StoreClosedError, StoreConfigError, StoreUnavailableError } from '../errors.js';
import { Rollback, type Backend, type SqlExecutor, type WriteStatement } from '../sql.js';

/** Options of the SQLite backend (`openStore({ sqlite })`). */
export interface SqliteOptions {
  /** The data directory; created if missing. */
  dir: string;
  /** The database file inside `dir`. Default `dspex.sqlite`. */
  file?: string;
  /**
   * `full` (default): every commit is fsynced before its promise resolves; an acknowledged write survives a
   * SIGKILL, an OS crash and a power loss. `normal`: commits reach the OS but are fsynced at checkpoints only;
   * an acknowledged write survives a SIGKILL of Node, not an OS crash or power loss.
   */
  synchronous?: 'full' | 'normal';
  /**
   * Batch the writes queued during one event-loop turn into one transaction (one fsync). Each write still
   * resolves only after that commit; a write that fails rolls back alone. Default false.
   */
  groupCommit?: boolean;
  /** How long to wait for another process's write lock before StoreUnavailableError. Default 5000 ms. */
  busyTimeoutMs?: number;
}

interface Job {
  write: boolean;
  fn: (tx: SqlExecutor) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUP = 256;

export class SqliteBackend implements Backend {
  readonly dialect = 'sqlite' as const;
  readonly where: string;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly queue: Job[] = [];
  private draining = false;
  private closing: Promise<void> | undefined;
  private readonly groupCommit: boolean;
  private readonly tx: SqlExecutor;
  /** The per-job savepoint of a group, prepared once. */
  private readonly savepoint: { open: Database.Statement; release: Database.Statement; undo: Database.Statement };
  /** Whether each commit is made durable by fsyncing the WAL here (synchronous 'full' on a WAL database). */
  private readonly syncWal: boolean;
  /** The WAL file, opened at the first commit and kept open until close (closing an fd could drop locks). */
  private walFd: number | undefined;

  constructor(options: SqliteOptions) {
    if (typeof options.dir !== 'string' || options.dir.length === 0) throw new StoreConfigError('sqlite.dir', 'name the data directory, e.g. { sqlite: { dir: "./data" } }.');
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal') throw new StoreConfigError('sqlite.synchronous', `must be "full" or "normal", not ${String(synchronous)}.`);
    fs.mkdirSync(options.dir, { recursive: true });
    this.where = resolve(join(options.dir, options.file ?? 'dspex.sqlite'));
    try {
      this.db = new Database(this.where, { timeout: options.busyTimeoutMs ?? 5000 });
      const wal = String(this.db.pragma('journal_mode = WAL', { simple: true })).toLowerCase() === 'wal';
      // Not in WAL mode (a file system without shared memory): SQLite's own fsync per commit.
      this.syncWal = wal && synchronous === 'full';
      this.db.pragma(`synchronous = ${this.syncWal ? 'NORMAL' : synchronous.toUpperCase()}`);
      this.db.pragma('foreign_keys = ON');
    } catch (error) {
      throw mapSqliteError(error);
    }
    this.groupCommit = options.groupCommit ?? false;
    const statement = (sql: string): Database.Statement => {
      let prepared = this.statements.get(sql);
      if (prepared === undefined) {
        prepared = this.db.prepare(sql);
        this.statements.set(sql, prepared);
      }
      return prepared;
    };
    this.savepoint = { open: statement('SAVEPOINT job'), release: statement('RELEASE job'), undo: statement('ROLLBACK TO job') };
    this.tx = {
      all: async <R>(sql: string, params: readonly unknown[] = []) => statement(sql).all(...params) as R[],
      get: async <R>(sql: string, params: readonly unknown[] = []) => statement(sql).get(...params) as R | undefined,
      run: async (sql: string, params: readonly unknown[] = []) => statement(sql).run(...params).changes,
      exec: async (sql: string) => void this.db.exec(sql),
    };
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.enqueue(true, fn);
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.enqueue(false, fn);
  }

  writeStatement<R>(statement: WriteStatement): Promise<R[]> {
    return this.write((tx) => tx.all<R>(statement.sql, statement.params));
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      // Queued jobs run first; the close is the last job.
      this.queue.push({ write: false, fn: async () => undefined, resolve: () => resolve(), reject: () => resolve() });
      this.schedule();
    }).then(() => {
      this.db.close();
      if (this.walFd !== undefined) fs.closeSync(this.walFd);
      this.walFd = undefined;
    });
    return this.closing;
  }

  private enqueue<T>(write: boolean, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.closing !== undefined) return Promise.reject(new StoreClosedError('sqlite store'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, fn, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.draining) return;
    this.draining = true;
    // Group commit waits for the rest of this event-loop turn so that concurrent writers join one transaction.
    if (this.groupCommit) setImmediate(() => void this.drain());
    else void this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      if (!first.write) {
        this.queue.shift();
        await this.runRead(first);
        continue;
      }
      let count = 1;
      if (this.groupCommit) while (count < MAX_GROUP && this.queue[count]?.write === true) count++;
      await this.runWrites(this.queue.splice(0, count));
    }
    this.draining = false;
  }

  private async runRead(job: Job): Promise<void> {
    try {
      this.db.exec('BEGIN');
      try {
        job.resolve(await job.fn(this.tx));
      } finally {
        this.db.exec('COMMIT');
      }
    } catch (error) {
      job.reject(mapSqliteError(error));
    }
  }

  private async runWrites(jobs: Job[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const job of jobs) job.reject(mapSqliteError(error));
      return;
    }
    const grouped = jobs.length > 1;
    for (const job of jobs) {
      if (grouped) this.savepoint.open.run();
      try {
        const value = await job.fn(this.tx);
        if (grouped) this.savepoint.release.run();
        outcomes.push({ ok: true, value });
      } catch (error) {
        if (error instanceof Rollback) outcomes.push({ ok: true, value: error.value });
        else outcomes.push({ ok: false, error: mapSqliteError(error) });
        if (grouped) {
          this.savepoint.undo.run();
          this.savepoint.release.run();
        }
        else this.db.exec('ROLLBACK');
      }
    }
    if (this.db.inTransaction) {
      try {
        this.db.exec('COMMIT');
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        const failure = mapSqliteError(error);
        for (const job of jobs) job.reject(failure);
        return;
      }
      if (this.syncWal) {
        try {
          await this.fsyncWal();
        } catch (error) {
          // Committed, but not known to be on disk: the caller cannot tell whether it would survive a power loss.
          const failure = new StoreUnavailableError('sqlite', true, error);
          for (const job of jobs) job.reject(failure);
          return;
        }
      }
    }
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }

  /** fdatasync of the WAL on the thread pool; the first time also fsyncs the directory that holds its entry. */
  private async fsyncWal(): Promise<void> {
    if (this.walFd === undefined) {
      const dir = fs.openSync(dirname(this.where), 'r');
      try {
        await syncFd(dir, fs.fsync);
      } finally {
        fs.closeSync(dir);
      }
      this.walFd = fs.openSync(`${this.where}-wal`, 'r+');
    }
    await syncFd(this.walFd, fs.fdatasync);
  }
}

function syncFd(fd: number, sync: typeof fs.fsync): Promise<void> {
  return new Promise<void>((resolve, reject) => sync(fd, (error) => (error === null ? resolve() : reject(error))));
}

// Result codes that say the database cannot be used right now, with their extended forms (SQLITE_IOERR_FSYNC).
const UNAVAILABLE = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY'];

function mapSqliteError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.some((base) => code === base || code.startsWith(`${base}_`))) {
    return new StoreUnavailableError('sqlite', false, error);
  }
  return error;
}
