// Sessions and their turns. Every write goes through the session's row (insert or versioned update) first, so
// the row lock orders concurrent writers of one session and a stale expectedVersion is seen before anything
// is written.

import { StoreConflictError } from '../errors.js';
import { decodeJson, encodeJson, type JsonValue } from '../json.js';
import type { AppendTurnOptions, IdleSession, LoadedSession, SessionRecord, SessionTurn } from '../types.js';
import type { SqlExecutor } from '../sql.js';
import { checkId, checkLimit, checkVersion, type OpsContext } from './context.js';

interface SessionRow {
  id: string;
  state: string;
  version: number;
  turn_count: number;
  created_at: number;
  updated_at: number;
}

interface TurnRow {
  seq: number;
  turn: string;
  at: number;
}

const SESSION_COLUMNS = 'id, state, version, turn_count, created_at, updated_at';

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    state: decodeJson(row.state),
    version: Number(row.version),
    turnCount: Number(row.turn_count),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toTurn(row: TurnRow): SessionTurn {
  return { seq: Number(row.seq), turn: decodeJson(row.turn), at: Number(row.at) };
}

async function conflict(tx: SqlExecutor, id: string, expectedVersion: number): Promise<never> {
  const row = await tx.get<{ version: number }>('SELECT version FROM dspex_sessions WHERE id = ?', [id]);
  throw new StoreConflictError('session', id, { expectedVersion, actualVersion: row === undefined ? 0 : Number(row.version) });
}

export async function loadSession(ctx: OpsContext, id: string, options: { lastTurns?: number } = {}): Promise<LoadedSession | undefined> {
  checkId(id, 'sessionId');
  const lastTurns = options.lastTurns === undefined ? undefined : checkLimit(options.lastTurns, 'lastTurns', 0);
  return ctx.backend.read(async (tx) => {
    const row = await tx.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM dspex_sessions WHERE id = ?`, [id]);
    if (row === undefined) return undefined;
    const from = lastTurns === undefined ? 0 : Math.max(0, Number(row.turn_count) - lastTurns);
    const turns = await tx.all<TurnRow>('SELECT seq, turn, at FROM dspex_session_turns WHERE session_id = ? AND seq > ? ORDER BY seq', [id, from]);
    return { ...toSession(row), turns: turns.map(toTurn) };
  });
}

export async function saveSession(ctx: OpsContext, id: string, state: JsonValue, expectedVersion: number): Promise<number> {
  checkId(id, 'sessionId');
  checkVersion(expectedVersion, 'expectedVersion');
  const stateText = encodeJson(state as unknown, '$.state');
  const now = ctx.now();
  return ctx.backend.write(async (tx) => {
    const row =
      expectedVersion === 0
        ? await tx.get<{ version: number }>(
            'INSERT INTO dspex_sessions (id, state, version, turn_count, created_at, updated_at) VALUES (?, ?, 1, 0, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING version',
            [id, stateText, now, now],
          )
        : await tx.get<{ version: number }>('UPDATE dspex_sessions SET state = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? RETURNING version', [
            stateText,
            now,
            id,
            expectedVersion,
          ]);
    return row === undefined ? conflict(tx, id, expectedVersion) : Number(row.version);
  });
}

export async function appendTurn(ctx: OpsContext, sessionId: string, turn: JsonValue, options: AppendTurnOptions = {}): Promise<{ seq: number; version: number }> {
  checkId(sessionId, 'sessionId');
  const turnText = encodeJson(turn as unknown, '$.turn');
  const expected = options.expectedVersion === undefined ? undefined : checkVersion(options.expectedVersion, 'expectedVersion');
  const stateText = options.state === undefined ? undefined : encodeJson(options.state as unknown, '$.state');
  const now = ctx.now();
  return ctx.backend.write(async (tx) => {
    type Bumped = { version: number; turn_count: number };
    let row: Bumped | undefined;
    if (expected === undefined) {
      const setState = stateText === undefined ? '' : ', state = excluded.state';
      row = await tx.get<Bumped>(
        `INSERT INTO dspex_sessions (id, state, version, turn_count, created_at, updated_at) VALUES (?, ?, 1, 1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET version = dspex_sessions.version + 1, turn_count = dspex_sessions.turn_count + 1,
         updated_at = excluded.updated_at${setState} RETURNING version, turn_count`,
        [sessionId, stateText ?? 'null', now, now],
      );
    } else if (expected === 0) {
      row = await tx.get<Bumped>(
        'INSERT INTO dspex_sessions (id, state, version, turn_count, created_at, updated_at) VALUES (?, ?, 1, 1, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING version, turn_count',
        [sessionId, stateText ?? 'null', now, now],
      );
    } else {
      const setState = stateText === undefined ? '' : ', state = ?';
      row = await tx.get<Bumped>(
        `UPDATE dspex_sessions SET version = version + 1, turn_count = turn_count + 1, updated_at = ?${setState} WHERE id = ? AND version = ? RETURNING version, turn_count`,
        stateText === undefined ? [now, sessionId, expected] : [now, stateText, sessionId, expected],
      );
    }
    if (row === undefined) return conflict(tx, sessionId, expected ?? 0);
    const seq = Number(row.turn_count);
    await tx.run('INSERT INTO dspex_session_turns (session_id, seq, turn, at) VALUES (?, ?, ?, ?)', [sessionId, seq, turnText, now]);
    return { seq, version: Number(row.version) };
  });
}

export async function readTurns(ctx: OpsContext, sessionId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<SessionTurn[]> {
  checkId(sessionId, 'sessionId');
  const after = checkLimit(options.afterSeq, 'afterSeq', 0);
  const limit = checkLimit(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
  const rows = await ctx.backend.read((tx) =>
    tx.all<TurnRow>('SELECT seq, turn, at FROM dspex_session_turns WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?', [sessionId, after, limit]),
  );
  return rows.map(toTurn);
}

export async function listIdle(ctx: OpsContext, before: number, options: { limit?: number } = {}): Promise<IdleSession[]> {
  const limit = checkLimit(options.limit, 'limit', 1000);
  const rows = await ctx.backend.read((tx) =>
    tx.all<{ id: string; version: number; updated_at: number }>('SELECT id, version, updated_at FROM dspex_sessions WHERE updated_at < ? ORDER BY updated_at, id LIMIT ?', [
      before,
      limit,
    ]),
  );
  return rows.map((row) => ({ id: row.id, version: Number(row.version), updatedAt: Number(row.updated_at) }));
}

export async function deleteSession(ctx: OpsContext, id: string, expectedVersion?: number): Promise<boolean> {
  checkId(id, 'sessionId');
  const expected = expectedVersion === undefined ? undefined : checkVersion(expectedVersion, 'expectedVersion');
  return ctx.backend.write(async (tx) => {
    if (expected !== undefined) {
      const row = await tx.get<{ version: number }>('SELECT version FROM dspex_sessions WHERE id = ?', [id]);
      const actual = row === undefined ? 0 : Number(row.version);
      if (actual !== expected) throw new StoreConflictError('session', id, { expectedVersion: expected, actualVersion: actual });
    }
    await tx.run('DELETE FROM dspex_session_turns WHERE session_id = ?', [id]);
    return (await tx.run('DELETE FROM dspex_sessions WHERE id = ?', [id])) > 0;
  });
}
