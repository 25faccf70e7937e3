// The server backend: a pg Pool from a connection string, each operation on one pooled connection, writes in
// READ COMMITTED transactions that lock the one parent row they change (the run, the session), so concurrent
// writers of one run or session queue on that row and never deadlock. A dropped connection is a
// StoreUnavailableError; the pool replaces the connection on the next call.

import pg from 'pg';
import { StoreClosedError, StoreConfigError, StoreUnavailableError } from '../errors.js';
import { Rollback, type Backend, type SqlExecutor } from '../sql.js';

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
  /** How long to wait for a connection (new or from the pool) before StoreUnavailableError. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** application_name of the store's connections (pg_stat_activity). Default `dspex-store`. */
  applicationName?: string;
  /** Called with each error of an idle pooled connection (the pool drops it and reconnects on demand). */
  onConnectionError?: (error: StoreUnavailableError) => void;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
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

  constructor(options: PostgresOptions) {
    if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
      throw new StoreConfigError('postgres.connectionString', 'give a connection string, e.g. postgres://user@127.0.0.1:5432/app.');
    }
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new StoreConfigError('postgres.schema', `"${this.schema}" is not a plain identifier (letters, digits, _).`);
    const settings = [`-c search_path=${this.schema}`];
    if (options.synchronousCommit !== undefined) settings.push(`-c synchronous_commit=${options.synchronousCommit}`);
    this.where = `${redact(options.connectionString)} (schema ${this.schema})`;
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

  writeStatement<R>(name: string, sql: string, params: readonly unknown[]): Promise<R[]> {
    return this.withClient(async (client) => {
      try {
        return (await client.query<R & pg.QueryResultRow>({ name, text: this.number(sql), values: params as unknown[] })).rows;
      } catch (error) {
        // Autocommit: a connection lost during the statement may or may not have committed it.
        if (isConnectionError(error)) throw new StoreUnavailableError('postgres', true, error);
        throw error;
      }
    });
  }

  /** Lets the operations already started finish, then ends the pool. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closed = true;
      this.closing = Promise.allSettled([...this.inflight]).then(() => this.pool.end());
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
    const operation = this.onClient(fn);
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
