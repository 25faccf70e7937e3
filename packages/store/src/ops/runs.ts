// Runs and their journals. A journal append takes the run's row lock before anything else, so concurrent appends
// to one run are numbered in commit order on both backends, and a second writer of the same step key sees the
// first one's entry. On PostgreSQL the append is one statement (one round trip, its own transaction).

import { randomUUID } from 'node:crypto';
import { StoreConflictError, StoreNotFoundError, StoreValueError } from '../errors.js';
import { decodeJson, encodeJson } from '../json.js';
import { Rollback } from '../sql.js';
import type { AppendResult, CreateRunInput, JournalEntry, JournalEntryInput, ListRunsQuery, RunRecord, RunStatus, RunUpdate } from '../types.js';
import { checkId, checkLimit, type OpsContext } from './context.js';

const STATUSES: readonly RunStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

interface RunRow {
  run_id: string;
  pipeline: string;
  status: RunStatus;
  input: string;
  output: string;
  error: string;
  meta: string;
  journal_length: number;
  created_at: number;
  updated_at: number;
}

interface JournalRow {
  seq: number;
  step_key: string;
  value: string;
  at: number;
}

const RUN_COLUMNS = 'run_id, pipeline, status, input, output, error, meta, journal_length, created_at, updated_at';

function toRun(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    status: row.status,
    input: decodeJson(row.input),
    output: decodeJson(row.output),
    error: decodeJson(row.error),
    meta: decodeJson(row.meta),
    journalLength: Number(row.journal_length),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toEntry(row: JournalRow): JournalEntry {
  return { seq: Number(row.seq), stepKey: row.step_key, value: decodeJson(row.value), at: Number(row.at) };
}

function checkStatus(value: unknown, name: string): RunStatus {
  if (!STATUSES.includes(value as RunStatus)) throw new StoreValueError(name, `must be one of ${STATUSES.join(', ')}, not ${String(value)}`);
  return value as RunStatus;
}

export async function createRun(ctx: OpsContext, input: CreateRunInput): Promise<RunRecord> {
  const runId = input.runId === undefined ? randomUUID() : checkId(input.runId, 'runId');
  const pipeline = checkId(input.pipeline, 'pipeline');
  const status = checkStatus(input.status ?? 'running', 'status');
  const inputText = encodeJson(input.input ?? null, '$.input');
  const metaText = encodeJson(input.meta ?? null, '$.meta');
  const now = ctx.now();
  const row = await ctx.backend.write((tx) =>
    tx.get<RunRow>(
      `INSERT INTO dspex_runs (${RUN_COLUMNS}) VALUES (?, ?, ?, ?, 'null', 'null', ?, 0, ?, ?) ON CONFLICT (run_id) DO NOTHING RETURNING ${RUN_COLUMNS}`,
      [runId, pipeline, status, inputText, metaText, now, now],
    ),
  );
  if (row === undefined) throw new StoreConflictError('run', runId, { reason: 'a run with this id exists; resume it (loadRun) or choose another id' });
  return toRun(row);
}

export async function getRun(ctx: OpsContext, runId: string): Promise<RunRecord | undefined> {
  checkId(runId, 'runId');
  const row = await ctx.backend.read((tx) => tx.get<RunRow>(`SELECT ${RUN_COLUMNS} FROM dspex_runs WHERE run_id = ?`, [runId]));
  return row === undefined ? undefined : toRun(row);
}

export async function loadRun(ctx: OpsContext, runId: string): Promise<{ run: RunRecord; journal: JournalEntry[] } | undefined> {
  checkId(runId, 'runId');
  return ctx.backend.read(async (tx) => {
    const row = await tx.get<RunRow>(`SELECT ${RUN_COLUMNS} FROM dspex_runs WHERE run_id = ?`, [runId]);
    if (row === undefined) return undefined;
    const entries = await tx.all<JournalRow>('SELECT seq, step_key, value, at FROM dspex_journal WHERE run_id = ? ORDER BY seq', [runId]);
    return { run: toRun(row), journal: entries.map(toEntry) };
  });
}

export async function updateRun(ctx: OpsContext, runId: string, update: RunUpdate): Promise<RunRecord> {
  checkId(runId, 'runId');
  const status = checkStatus(update.status, 'status');
  const sets = ['status = ?', 'updated_at = ?'];
  const params: unknown[] = [status, ctx.now()];
  if (update.output !== undefined) {
    sets.push('output = ?');
    params.push(encodeJson(update.output, '$.output'));
  }
  if (update.error !== undefined) {
    sets.push('error = ?');
    params.push(encodeJson(update.error, '$.error'));
  }
  params.push(runId);
  let where = 'run_id = ?';
  if (update.expectedStatus !== undefined) {
    where += ' AND status = ?';
    params.push(checkStatus(update.expectedStatus, 'expectedStatus'));
  }
  return ctx.backend.write(async (tx) => {
    const row = await tx.get<RunRow>(`UPDATE dspex_runs SET ${sets.join(', ')} WHERE ${where} RETURNING ${RUN_COLUMNS}`, params);
    if (row !== undefined) return toRun(row);
    const current = await tx.get<{ status: string }>('SELECT status FROM dspex_runs WHERE run_id = ?', [runId]);
    if (current === undefined) throw new StoreNotFoundError('run', runId, 'Create it with createRun first.');
    throw new StoreConflictError('run', runId, { reason: `its status is ${current.status}, not ${update.expectedStatus}` });
  });
}

export async function listRuns(ctx: OpsContext, query: ListRunsQuery = {}): Promise<RunRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (query.status !== undefined) {
    const statuses = (Array.isArray(query.status) ? query.status : [query.status]).map((s) => checkStatus(s, 'status'));
    if (statuses.length === 0) return [];
    where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  if (query.pipeline !== undefined) {
    where.push('pipeline = ?');
    params.push(checkId(query.pipeline, 'pipeline'));
  }
  params.push(checkLimit(query.limit, 'limit', 100));
  const rows = await ctx.backend.read((tx) =>
    tx.all<RunRow>(`SELECT ${RUN_COLUMNS} FROM dspex_runs${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, run_id LIMIT ?`, params),
  );
  return rows.map(toRun);
}

export async function deleteRun(ctx: OpsContext, runId: string): Promise<boolean> {
  checkId(runId, 'runId');
  return ctx.backend.write(async (tx) => {
    await tx.run('DELETE FROM dspex_journal WHERE run_id = ?', [runId]);
    return (await tx.run('DELETE FROM dspex_runs WHERE run_id = ?', [runId])) > 0;
  });
}

export async function appendJournal(ctx: OpsContext, runId: string, entry: JournalEntryInput): Promise<AppendResult> {
  checkId(runId, 'runId');
  if (entry === null || typeof entry !== 'object') throw new StoreValueError('entry', 'must be { stepKey, value }');
  const stepKey = checkId(entry.stepKey, 'entry.stepKey');
  const valueText = encodeJson(entry.value as unknown, '$.value');
  const now = ctx.now();
  if (ctx.backend.dialect === 'postgres') return appendOneStatement(ctx, runId, stepKey, valueText, now);
  return ctx.backend.write(async (tx) => {
    // The row lock first: a concurrent append of the same key waits here and then sees the first one's entry.
    const run = await tx.get<{ journal_length: number }>(
      'UPDATE dspex_runs SET journal_length = journal_length + 1, updated_at = ? WHERE run_id = ? RETURNING journal_length',
      [now, runId],
    );
    if (run === undefined) throw new StoreNotFoundError('run', runId, 'Create it with createRun before journaling to it.');
    const inserted = await tx.get<{ seq: number }>(
      'INSERT INTO dspex_journal (run_id, seq, step_key, value, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, step_key) DO NOTHING RETURNING seq',
      [runId, run.journal_length, stepKey, valueText, now],
    );
    if (inserted !== undefined) return { seq: Number(inserted.seq), appended: true };
    // Already there: nothing this transaction did is kept (the length it moved rolls back).
    const existing = (await tx.get<{ seq: number; value: string }>('SELECT seq, value FROM dspex_journal WHERE run_id = ? AND step_key = ?', [runId, stepKey]))!;
    throw new Rollback(existingEntry(runId, stepKey, valueText, existing));
  });
}

// PostgreSQL, one statement: lock the run's row (FOR UPDATE waits for a concurrent appender's commit and then
// reads its journal_length), insert unless the key is there (ON CONFLICT consults the index, so it sees that
// appender's entry), and move journal_length only when a row went in. `length` is null for an unknown run,
// `seq` null when the key was already journaled.
const APPEND_POSTGRES = `WITH run AS (
    SELECT journal_length FROM dspex_runs WHERE run_id = ? FOR UPDATE
  ), inserted AS (
    INSERT INTO dspex_journal (run_id, seq, step_key, value, at)
    SELECT ?, journal_length + 1, ?, ?, ? FROM run
    ON CONFLICT (run_id, step_key) DO NOTHING
    RETURNING seq
  ), bumped AS (
    UPDATE dspex_runs SET journal_length = inserted.seq, updated_at = ? FROM inserted WHERE dspex_runs.run_id = ?
    RETURNING inserted.seq
  )
  SELECT (SELECT journal_length FROM run) AS length, (SELECT seq FROM bumped) AS seq`;

async function appendOneStatement(ctx: OpsContext, runId: string, stepKey: string, valueText: string, now: number): Promise<AppendResult> {
  const [row] = await ctx.backend.writeStatement<{ length: number | null; seq: number | null }>({
    name: 'dspex_append_journal',
    sql: APPEND_POSTGRES,
    params: [runId, runId, stepKey, valueText, now, now, runId],
    order: runId,
  });
  if (row?.length === null || row?.length === undefined) throw new StoreNotFoundError('run', runId, 'Create it with createRun before journaling to it.');
  if (row.seq !== null) return { seq: Number(row.seq), appended: true };
  // Already journaled: committed before this statement took the lock, so a plain read sees it.
  const existing = await ctx.backend.read((tx) => tx.get<{ seq: number; value: string }>('SELECT seq, value FROM dspex_journal WHERE run_id = ? AND step_key = ?', [runId, stepKey]));
  if (existing === undefined) throw new StoreNotFoundError('run', runId, 'It was deleted while this append ran.');
  return existingEntry(runId, stepKey, valueText, existing);
}

/** The same key again: a no-op with the first seq when the value is the same text, else a conflict. */
function existingEntry(runId: string, stepKey: string, valueText: string, existing: { seq: number; value: string }): AppendResult {
  if (existing.value === valueText) return { seq: Number(existing.seq), appended: false };
  throw new StoreConflictError('journal', `${runId}/${stepKey}`, { reason: `step key already journaled at seq ${existing.seq} with a different value` });
}

export async function readJournal(ctx: OpsContext, runId: string, options: { afterSeq?: number } = {}): Promise<JournalEntry[]> {
  checkId(runId, 'runId');
  const after = checkLimit(options.afterSeq, 'afterSeq', 0);
  const rows = await ctx.backend.read((tx) =>
    tx.all<JournalRow>('SELECT seq, step_key, value, at FROM dspex_journal WHERE run_id = ? AND seq > ? ORDER BY seq', [runId, after]),
  );
  return rows.map(toEntry);
}

