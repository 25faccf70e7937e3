// The narrow SQL surface the operations are written against, so that one implementation of every operation
// serves both backends. Statements use `?` placeholders; the PostgreSQL backend numbers them.

export interface SqlExecutor {
  all<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  get<R>(sql: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Resolves to the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A single write statement for Backend.writeStatement. */
export interface WriteStatement {
  /** The prepared statement's name (one per SQL text). */
  name: string;
  sql: string;
  params: readonly unknown[];
  /** The lock order: grouped statements run sorted by it (e.g. the run id whose row they lock), so that two
   *  processes' groups never wait on each other's locks in a cycle. */
  order: string;
}

export interface Backend {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the data lives, for messages: a file path or a database/schema. */
  readonly where: string;
  /** Runs `fn` in a write transaction; commits when it returns, rolls back when it throws. */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs `fn` on one consistent snapshot of committed data. */
  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs one write statement as its own transaction and resolves to its rows once committed: on PostgreSQL one
   * round trip (autocommit, prepared once per connection) instead of BEGIN, the statements and COMMIT; with
   * group commit, the statements issued in one event-loop turn share one transaction (one WAL flush).
   */
  writeStatement<R>(statement: WriteStatement): Promise<R[]>;
  close(): Promise<void>;
}

/**
 * Thrown inside `write` to roll back and still resolve with `value`: the no-op paths (a journal entry already
 * there) end this way, so that nothing they touched is kept.
 */
export class Rollback<T> {
  constructor(readonly value: T) {}
}
