// The store contract, one suite run against every backend (SQLite, SQLite with group commit, PostgreSQL):
// what pipelines (journals, runs), session actors and variables rely on.

import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, StoreClosedError, StoreConflictError, StoreNotFoundError, StoreSchemaTooNewError, StoreValueError, openStore } from '../src/index.js';
import { BACKENDS } from './backends.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`store contract (${backend.name})`, () => {
    afterEach(() => backend.cleanup());

    describe('runs', () => {
      it('creates, reads, updates and lists runs', async () => {
        const { store } = await backend.fresh();
        const run = await store.createRun({ runId: 'r1', pipeline: 'qa', input: { question: 'why?' }, meta: { hash: 'abc' } });
        expect(run).toMatchObject({ runId: 'r1', pipeline: 'qa', status: 'running', input: { question: 'why?' }, output: null, error: null, meta: { hash: 'abc' }, journalLength: 0 });
        const generated = await store.createRun({ pipeline: 'qa' });
        expect(generated.runId).toMatch(/^[0-9a-f-]{36}$/);
        const done = await store.updateRun('r1', { status: 'completed', output: { answer: 42 }, expectedStatus: 'running' });
        expect(done).toMatchObject({ status: 'completed', output: { answer: 42 }, input: { question: 'why?' } });
        expect(await store.getRun('r1')).toEqual(done);
        expect((await store.listRuns({ status: 'running' })).map((r) => r.runId)).toEqual([generated.runId]);
        expect((await store.listRuns({ pipeline: 'qa' })).length).toBe(2);
        expect(await store.listRuns({ status: [] })).toEqual([]);
        expect(await store.getRun('nope')).toBeUndefined();
      });

      it('refuses a second run with the same id, a wrong expected status and an unknown run', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r1', pipeline: 'qa' });
        await expect(store.createRun({ runId: 'r1', pipeline: 'other' })).rejects.toMatchObject({ code: 'DSPEX_STORE_CONFLICT', kind: 'run', key: 'r1' });
        await expect(store.updateRun('r1', { status: 'failed', expectedStatus: 'pending' })).rejects.toBeInstanceOf(StoreConflictError);
        expect((await store.getRun('r1'))?.status).toBe('running');
        await expect(store.updateRun('ghost', { status: 'failed' })).rejects.toBeInstanceOf(StoreNotFoundError);
        await expect(store.updateRun('r1', { status: 'done' as never })).rejects.toBeInstanceOf(StoreValueError);
      });

      it('deletes a run with its journal', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r1', pipeline: 'qa' });
        await store.appendJournal('r1', { stepKey: 'a', value: 1 });
        expect(await store.deleteRun('r1')).toBe(true);
        expect(await store.deleteRun('r1')).toBe(false);
        expect(await store.loadRun('r1')).toBeUndefined();
        expect(await store.readJournal('r1')).toEqual([]);
      });
    });

    describe('journal', () => {
      it('numbers entries 1, 2, 3 per run and reads them back in order', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'a', pipeline: 'p' });
        await store.createRun({ runId: 'b', pipeline: 'p' });
        expect(await store.appendJournal('a', { stepKey: 'retrieve', value: { passages: ['x'] } })).toEqual({ seq: 1, appended: true });
        expect(await store.appendJournal('b', { stepKey: 'retrieve', value: 'other run' })).toEqual({ seq: 1, appended: true });
        expect(await store.appendJournal('a', { stepKey: 'answer', value: { answer: 'y' } })).toEqual({ seq: 2, appended: true });
        const journal = await store.readJournal('a');
        expect(journal.map((e) => [e.seq, e.stepKey, e.value])).toEqual([
          [1, 'retrieve', { passages: ['x'] }],
          [2, 'answer', { answer: 'y' }],
        ]);
        expect((await store.readJournal('a', { afterSeq: 1 })).map((e) => e.seq)).toEqual([2]);
        const loaded = await store.loadRun('a');
        expect(loaded?.run.journalLength).toBe(2);
        expect(loaded?.journal).toEqual(journal);
      });

      it('a step key written again with the same value is a no-op; with another value a conflict', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r', pipeline: 'p' });
        await store.appendJournal('r', { stepKey: 's1', value: { out: 1, list: [1, 2] } });
        await store.appendJournal('r', { stepKey: 's2', value: 2 });
        expect(await store.appendJournal('r', { stepKey: 's1', value: { out: 1, list: [1, 2] } })).toEqual({ seq: 1, appended: false });
        const error = await store.appendJournal('r', { stepKey: 's1', value: { out: 2 } }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreConflictError);
        expect(error).toMatchObject({ code: 'DSPEX_STORE_CONFLICT', kind: 'journal', key: 'r/s1' });
        expect((await store.getRun('r'))?.journalLength).toBe(2);
        expect(await store.appendJournal('r', { stepKey: 's3', value: null })).toEqual({ seq: 3, appended: true });
      });

      it('journaling to a run that was never created is StoreNotFoundError', async () => {
        const { store } = await backend.fresh();
        await expect(store.appendJournal('ghost', { stepKey: 's', value: 1 })).rejects.toMatchObject({ code: 'DSPEX_STORE_NOT_FOUND', kind: 'run' });
      });

      it('concurrent appends to one run get distinct, gapless sequence numbers', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r', pipeline: 'p' });
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendJournal('r', { stepKey: `step-${i}`, value: i })));
        expect(results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        const journal = await store.readJournal('r');
        for (const entry of journal) expect(results[entry.value as number]!.seq).toBe(entry.seq);
      });

      it('concurrent writes of one step key append it once', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r', pipeline: 'p' });
        const results = await Promise.all(Array.from({ length: 10 }, () => store.appendJournal('r', { stepKey: 'same', value: 'v' })));
        expect(results.filter((r) => r.appended)).toHaveLength(1);
        expect(new Set(results.map((r) => r.seq))).toEqual(new Set([1]));
        expect(await store.readJournal('r')).toHaveLength(1);
      });
    });

    describe('sessions', () => {
      it('saves with optimistic versions; a stale write is a StoreConflictError with the actual version', async () => {
        const { store } = await backend.fresh();
        expect(await store.saveSession('s', { model: 'x' }, 0)).toBe(1);
        expect(await store.saveSession('s', { model: 'y' }, 1)).toBe(2);
        const stale = await store.saveSession('s', { model: 'z' }, 1).catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(StoreConflictError);
        expect(stale).toMatchObject({ kind: 'session', key: 's', expectedVersion: 1, actualVersion: 2 });
        await expect(store.saveSession('s', {}, 0)).rejects.toMatchObject({ actualVersion: 2 });
        await expect(store.saveSession('new', {}, 3)).rejects.toMatchObject({ actualVersion: 0 });
        expect(await store.loadSession('s')).toMatchObject({ id: 's', state: { model: 'y' }, version: 2, turnCount: 0, turns: [] });
        expect(await store.loadSession('new')).toBeUndefined();
      });

      it('appends turns in order, with the state in the same transaction', async () => {
        const { store } = await backend.fresh();
        expect(await store.appendTurn('s', { q: 'hi', a: 'hello' })).toEqual({ seq: 1, version: 1 });
        expect(await store.appendTurn('s', { q: 'and?', a: 'more' }, { state: { n: 2 }, expectedVersion: 1 })).toEqual({ seq: 2, version: 2 });
        await expect(store.appendTurn('s', { q: 'late' }, { expectedVersion: 1 })).rejects.toMatchObject({ code: 'DSPEX_STORE_CONFLICT', actualVersion: 2 });
        expect(await store.appendTurn('s', { q: 'third' }, { state: { n: 3 } })).toEqual({ seq: 3, version: 3 });
        const loaded = await store.loadSession('s');
        expect(loaded).toMatchObject({ state: { n: 3 }, version: 3, turnCount: 3 });
        expect(loaded?.turns.map((t) => t.turn)).toEqual([{ q: 'hi', a: 'hello' }, { q: 'and?', a: 'more' }, { q: 'third' }]);
        expect((await store.loadSession('s', { lastTurns: 1 }))?.turns.map((t) => t.seq)).toEqual([3]);
        expect((await store.readTurns('s', { afterSeq: 1, limit: 1 })).map((t) => t.seq)).toEqual([2]);
        await expect(store.appendTurn('fresh', 'x', { expectedVersion: 0 })).resolves.toEqual({ seq: 1, version: 1 });
        await expect(store.appendTurn('fresh', 'y', { expectedVersion: 0 })).rejects.toBeInstanceOf(StoreConflictError);
      });

      it('concurrent turns on many sessions: none lost, each session in order', async () => {
        const { store } = await backend.fresh();
        const sessions = 20;
        const turns = 10;
        // Per session one call at a time (as a session actor does); sessions run concurrently.
        await Promise.all(
          Array.from({ length: sessions }, async (_, s) => {
            for (let t = 1; t <= turns; t++) expect((await store.appendTurn(`s${s}`, { t })).seq).toBe(t);
          }),
        );
        for (let s = 0; s < sessions; s++) {
          expect((await store.loadSession(`s${s}`))?.turns.map((t) => t.turn)).toEqual(Array.from({ length: turns }, (_, i) => ({ t: i + 1 })));
        }
      });

      it('lists idle sessions least recently used first, and deletes them', async () => {
        let now = 1_000;
        const { store } = await backend.fresh({ clock: () => now });
        await store.saveSession('old', 1, 0);
        now = 2_000;
        await store.saveSession('middle', 2, 0);
        now = 3_000;
        await store.appendTurn('recent', 'hi');
        now = 4_000;
        await store.appendTurn('old', 'touched later');
        expect((await store.listIdle(3_500)).map((s) => s.id)).toEqual(['middle', 'recent']);
        expect(await store.listIdle(3_500, { limit: 1 })).toEqual([{ id: 'middle', version: 1, updatedAt: 2_000 }]);
        await expect(store.deleteSession('old', 1)).rejects.toMatchObject({ actualVersion: 2 });
        expect(await store.deleteSession('old', 2)).toBe(true);
        expect(await store.deleteSession('old')).toBe(false);
        expect(await store.readTurns('old')).toEqual([]);
        await store.appendTurn('old', 'again');
        expect((await store.loadSession('old'))?.turns.map((t) => t.seq)).toEqual([1]);
      });
    });

    describe('key-value', () => {
      it('puts with versions, lists by prefix in byte order, deletes conditionally', async () => {
        const { store } = await backend.fresh();
        expect(await store.kv.put('vars', 'temperature', 0.7)).toBe(1);
        expect(await store.kv.put('vars', 'temperature', 0.2, 1)).toBe(2);
        await expect(store.kv.put('vars', 'temperature', 0.9, 1)).rejects.toMatchObject({ kind: 'kv', key: 'vars/temperature', expectedVersion: 1, actualVersion: 2 });
        await expect(store.kv.put('vars', 'temperature', 0.9, 0)).rejects.toBeInstanceOf(StoreConflictError);
        expect(await store.kv.put('vars', 'temperature', 0.9)).toBe(3);
        expect(await store.kv.get('vars', 'temperature')).toMatchObject({ value: 0.9, version: 3 });
        expect(await store.kv.get('other', 'temperature')).toBeUndefined();
        for (const key of ['p/b', 'p/a', 'p/B', 'p/é', 'q/x']) await store.kv.put('programs', key, { key });
        expect((await store.kv.list('programs', { prefix: 'p/' })).map((e) => e.key)).toEqual(['p/B', 'p/a', 'p/b', 'p/é']);
        expect((await store.kv.list('programs', { limit: 2 })).map((e) => e.key)).toEqual(['p/B', 'p/a']);
        await expect(store.kv.delete('programs', 'p/a', 7)).rejects.toMatchObject({ actualVersion: 1 });
        expect(await store.kv.delete('programs', 'p/a', 1)).toBe(true);
        expect(await store.kv.delete('programs', 'p/a')).toBe(false);
      });
    });

    describe('values', () => {
      it('keeps JSON exactly: unicode, NUL, key order, nesting, large numbers', async () => {
        const { store } = await backend.fresh();
        const value = { z: 1, a: [true, false, null, 'é😀\u0000\u2028', 1.5e300, -12, ''], nested: { '': { 'a.b': [[[]]] } } };
        await store.kv.put('ns', 'k', value);
        const back = (await store.kv.get('ns', 'k'))!.value;
        expect(back).toEqual(value);
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
      });

      it('refuses what is not JSON with a StoreValueError naming the path, and writes nothing', async () => {
        const { store } = await backend.fresh();
        await store.createRun({ runId: 'r', pipeline: 'p' });
        const refusals: Array<[unknown, string]> = [
          [{ at: new Date(0) }, '$.value.at'],
          [{ a: [1, undefined] }, '$.value.a[1]'],
          [{ n: Number.NaN }, '$.value.n'],
          [{ n: Infinity }, '$.value.n'],
          [{ z: -0 }, '$.value.z'],
          [{ big: 1n }, '$.value.big'],
          [{ m: new Map() }, '$.value.m'],
          [{ 'odd key': { f: () => 1 } }, '$.value["odd key"].f'],
          [[1, , 3], '$.value[1]'],
        ];
        for (const [value, path] of refusals) {
          const error = await store.kv.put('ns', 'k', value as never).catch((e: unknown) => e);
          expect(error, path).toBeInstanceOf(StoreValueError);
          expect(error).toMatchObject({ code: 'DSPEX_STORE_NOT_JSON', path });
        }
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        await expect(store.appendJournal('r', { stepKey: 's', value: cyclic as never })).rejects.toMatchObject({ path: '$.value.self' });
        await expect(store.saveSession('s', { when: new Date() } as never, 0)).rejects.toMatchObject({ path: '$.state.when' });
        await expect(store.appendJournal('r', { stepKey: '', value: 1 })).rejects.toMatchObject({ path: 'entry.stepKey' });
        expect(await store.kv.get('ns', 'k')).toBeUndefined();
        expect(await store.readJournal('r')).toEqual([]);
      });
    });

    describe('migrations and lifecycle', () => {
      it('a new database is at the latest schema version; reopening applies nothing and keeps the data', async () => {
        const { store, reopen } = await backend.fresh();
        expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
        await store.kv.put('ns', 'k', 'kept');
        await store.close();
        const again = await reopen();
        expect(await again.schemaVersion()).toBe(SCHEMA_VERSION);
        expect((await again.kv.get('ns', 'k'))?.value).toBe('kept');
      });

      it('refuses to open a database with a newer schema than this code knows', async () => {
        const { store, raw, reopen } = await backend.fresh();
        await store.close();
        await raw(`INSERT INTO dspex_migrations (version, name, applied_at) VALUES (${SCHEMA_VERSION + 1}, 'from the future', 0)`);
        const error = await reopen().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreSchemaTooNewError);
        expect(error).toMatchObject({ code: 'DSPEX_STORE_SCHEMA_TOO_NEW', found: SCHEMA_VERSION + 1, known: SCHEMA_VERSION });
      });

      it('a closed store rejects every call with StoreClosedError', async () => {
        const { store } = await backend.fresh();
        const pending = store.kv.put('ns', 'k', 1);
        await store.close();
        await expect(pending).resolves.toBe(1);
        expect(store.closed).toBe(true);
        await expect(store.kv.get('ns', 'k')).rejects.toBeInstanceOf(StoreClosedError);
        await expect(store.appendTurn('s', 'x')).rejects.toMatchObject({ code: 'DSPEX_STORE_CLOSED' });
        await store.close();
      });
    });
  });
}

describe('options', () => {
  it('needs exactly one backend', async () => {
    await expect(openStore({} as never)).rejects.toMatchObject({ code: 'DSPEX_STORE_CONFIG' });
    await expect(openStore({ sqlite: { dir: '/tmp/x' }, postgres: { connectionString: 'postgres://x' } } as never)).rejects.toMatchObject({ code: 'DSPEX_STORE_CONFIG' });
    await expect(openStore({ sqlite: { dir: '' } })).rejects.toMatchObject({ code: 'DSPEX_STORE_CONFIG', field: 'sqlite.dir' });
    await expect(openStore({ postgres: { connectionString: 'postgres://x@127.0.0.1/db', schema: 'bad;name' } })).rejects.toMatchObject({ field: 'postgres.schema' });
  });
});
