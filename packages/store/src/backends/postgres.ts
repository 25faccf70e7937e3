// The server backend: a pg Pool from a connection string, each operation on one pooled connection, writes in
// READ COMMITTED transactions that lock the one parent row they change (the run, the session), so concurrent
// writers of one run or session queue on that row and never deadlock. A dropped connection is a
// StoreUnavailableError; the pool replaces the connection on the next call.
// Single-statement writes (a journal append) go without BEGIN/COMMIT, one round trip each; with group commit,
// those issued during one event-loop turn share one transaction and so one WAL flush, one group at a time.

import pg from 'pg';
import { StoreClosedError, StoreConfigError, StoreUnavailableError } from '../errors.js';
import { Rollback, type Backend, type SqlExecutor, type WriteStatement } from '../sql.js';

/** Options of the PostgreSQL backend (`openStore({ postgres })`). */
export interface PostgresOptions {
  /** e.g. `postgres://user@127.0.0.1:5432/app`. */
  connectionString: string;
  /** The schema the tables live in; created if missing. Default `public`. */
  schema?: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /**
   * PostgreSQL's synchronous_commit for the store's connections. Default: the server's setting (normally
   * `on`: a commit is flushed to the WAL on disk before it is acknowledged). `off` acknowledges before the
   * flush: faster, and a server crash can lose the last few hundred ms of acknowledged writes.
   */
  synchronousCommit?: 'on' | 'off' | 'local' | 'remote_write' | 'remote_apply';
  /**
   * Batch the single-statement writes (journal appends) issued during one event-loop turn into one transaction
   * (one WAL flush, one connection). Each still resolves only after that commit; one that fails is run again
   * on its own, so it fails alone. Default false.
   */
  groupCommit?: boolean;
  /** How long to wait for a connection (new or from the pool) before StoreUnavailableError. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** application_name of the store's connections (pg_stat_activity). Default `dspex-store`. */
  applicationName?: string;
  /** Called with each error of an idle pooled connection (the pool drops it and reconnects on demand). */
  onConnectionError?: (error: StoreUnavailableError) => void;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const MAX_GROUP = 256;

interface StatementJob {
  statement: WriteStatement;
  resolve: (rows: unknown[]) => void;
  reject: (error: unknown) => void;
}
const INT8_OID = 20;

export class PostgresBackend implements Backend {
  readonly dialect = 'postgres' as const;
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly numbered = new Map<string, string>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly groupCommit: boolean;
  private readonly grouped: StatementJob[] = [];
  /** The loop running queued groups one after another; undefined when idle. */
  private drain: Promise<void> | undefined;

  constructor(options: PostgresOptions) {
    if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
      throw new StoreConfigError('postgres.connectionString', 'give a connection string, e.g. postgres://user@127.0.0.1:5432/app.');
    }
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new StoreConfigError('postgres.schema', `"${this.schema}" is not a plain identifier (letters, digits, _).`);
    const settings = [`-c search_path=${this.schema}`];
    if (options.synchronousCommit !== undefined) settings.push(`-c synchronous_commit=${options.synchronousCommit}`);
    this.where = `${redact(options.connectionString)} (schema ${this.schema})`;
    this.groupCommit = options.groupCommit ?? false;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      application_name: options.applicationName ?? 'dspex-store',
      options: settings.join(' '),
      // ms timestamps are BIGINT; read them as numbers (they stay far below 2^53).
      types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    // An idle connection that the server dropped emits 'error' on the pool; unhandled it would crash Node.
    this.pool.on('error', (error) => options.onConnectionError?.(new StoreUnavailableError('postgres', false, error)));
  }

  /** Creates the schema if missing (before migrations, which run inside it). */
  async ensureSchema(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
    });
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', fn);
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  writeStatement<R>(statement: WriteStatement): Promise<R[]> {
    if (!this.groupCommit) return this.withClient((client) => this.autocommit<R>(client, statement));
    if (this.closed) return Promise.reject(new StoreClosedError('postgres store'));
    return new Promise<R[]>((resolve, reject) => {
      this.grouped.push({ statement, resolve: resolve as (rows: unknown[]) => void, reject });
      // The rest of this event-loop turn joins the group (or the group after the one in flight).
      this.drain ??= new Promise<void>((started) => setImmediate(started)).then(() => this.runGroups());
    });
  }

  private async runGroups(): Promise<void> {
    try {
      while (this.grouped.length > 0) {
        const jobs = this.grouped.splice(0, MAX_GROUP);
        await this.track(this.onClient((client) => this.runGroup(client, jobs))).catch((error: unknown) => {
          for (const job of jobs) job.reject(error); // the connection failed: each job rejects with why
        });
      }
    } finally {
      this.drain = undefined;
    }
  }

  /** One transaction for `jobs` in lock order; after a failed statement each job runs again on its own. */
  private async runGroup(client: pg.PoolClient, jobs: StatementJob[]): Promise<void> {
    if (jobs.length === 1) {
      const job = jobs[0]!;
      await this.autocommit(client, job.statement).then(job.resolve, job.reject);
      return;
    }
    jobs.sort((a, b) => (a.statement.order < b.statement.order ? -1 : a.statement.order > b.statement.order ? 1 : 0));
    const rows: unknown[][] = [];
    try {
      await client.query('BEGIN');
      for (const job of jobs) rows.push(await this.query(client, job.statement));
    } catch (error) {
      if (isConnectionError(error)) throw error; // onClient: the connection is dropped, every job rejects
      await client.query('ROLLBACK');
      for (const job of jobs) await this.autocommit(client, job.statement).then(job.resolve, job.reject);
      return;
    }
    try {
      await client.query('COMMIT');
    } catch (error) {
      // The connection dropped during COMMIT: the group may or may not have landed.
      if (isConnectionError(error)) throw new StoreUnavailableError('postgres', true, error);
      throw error;
    }
    jobs.forEach((job, i) => job.resolve(rows[i]!));
  }

  private async autocommit<R>(client: pg.PoolClient, statement: WriteStatement): Promise<R[]> {
    try {
      return (await this.query(client, statement)) as R[];
    } catch (error) {
      // Autocommit: a connection lost during the statement may or may not have committed it.
      if (isConnectionError(error)) throw new StoreUnavailableError('postgres', true, error);
      throw error;
    }
  }

  private async query(client: pg.PoolClient, statement: WriteStatement): Promise<unknown[]> {
    return (await client.query({ name: statement.name, text: this.number(statement.sql), values: statement.params as unknown[] })).rows;
  }

  /** Lets the operations already started finish, then ends the pool. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closed = true;
      // Queued grouped statements run first (they were accepted before the close).
      this.closing = Promise.resolve(this.drain)
        .then(() => Promise.allSettled([...this.inflight]))
        .then(() => this.pool.end());
    }
    return this.closing;
  }

  private async transaction<T>(begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query(begin);
      let result: T;
      try {
        result = await fn(this.executor(client));
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          throw new StoreUnavailableError('postgres', false, isConnectionError(error) ? error : rollbackError);
        }
        if (error instanceof Rollback) return error.value as T;
        throw error;
      }
      try {
        await client.query('COMMIT');
      } catch (error) {
        // The connection dropped during COMMIT: the write may or may not have landed.
        if (isConnectionError(error)) throw new StoreUnavailableError('postgres', true, error);
        throw error;
      }
      return result;
    });
  }

  private withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError('postgres store'));
    return this.track(this.onClient(fn));
  }

  /** Keeps `operation` in the set close() waits for. */
  private track<T>(operation: Promise<T>): Promise<T> {
    this.inflight.add(operation);
    void operation.then(
      () => this.inflight.delete(operation),
      () => this.inflight.delete(operation),
    );
    return operation;
  }

  private async onClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new StoreUnavailableError('postgres', false, error);
    }
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        broken = error;
        throw error;
      }
      if (isConnectionError(error)) {
        broken = error as Error;
        throw new StoreUnavailableError('postgres', false, error);
      }
      throw error;
    } finally {
      // A broken connection is destroyed instead of going back to the pool.
      client.release(broken);
    }
  }

  private executor(client: pg.PoolClient): SqlExecutor {
    const query = async <R>(sql: string, params: readonly unknown[]) => client.query({ text: this.number(sql), values: params as unknown[] }) as unknown as Promise<pg.QueryResult & { rows: R[] }>;
    return {
      all: async <R>(sql: string, params: readonly unknown[] = []) => (await query<R>(sql, params)).rows,
      get: async <R>(sql: string, params: readonly unknown[] = []) => (await query<R>(sql, params)).rows[0],
      run: async (sql: string, params: readonly unknown[] = []) => (await query(sql, params)).rowCount ?? 0,
      exec: async (sql: string) => void (await client.query(sql)),
    };
  }

  /** `?` placeholders to `$1, $2, ...` (statements never contain a literal `?`). */
  private number(sql: string): string {
    let numbered = this.numbered.get(sql);
    if (numbered === undefined) {
      let n = 0;
      numbered = sql.replace(/\?/g, () => `$${++n}`);
      this.numbered.set(sql, numbered);
    }
    return numbered;
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

function redact(connectionString: string): string {
  return connectionString.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
