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
   * round trip (autocommit, prepared once per connection under `name`) instead of BEGIN, the statements and COMMIT.
   */
  writeStatement<R>(name: string, sql: string, params: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/**
 * Thrown inside `write` to roll back and still resolve with `value`: the no-op paths (a journal entry already
 * there) end this way, so that nothing they touched is kept.
 */
export class Rollback<T> {
  constructor(readonly value: T) {}
}
