// Property tests (fast-check; the seed is printed on failure): journal ordering and idempotency against a
// model, and optimistic session versions under concurrent writers, on every backend.

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreConflictError, type AppendResult } from '../src/index.js';
import { BACKENDS } from './backends.js';

const runs = Number(process.env.DSPEX_STORE_PROPERTY_RUNS ?? 25);

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`store properties (${backend.name})`, () => {
    afterEach(() => backend.cleanup());

    it('sequential appends match the model: first value of a key wins, same again is a no-op, other is a conflict', async () => {
      const { store } = await backend.fresh();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), value: fc.constantFrom(0, 1, 'x') }), { maxLength: 30 }), async (ops) => {
          const runId = `run-${++run}`;
          await store.createRun({ runId, pipeline: 'model' });
          const model = new Map<string, { seq: number; value: unknown }>();
          for (const op of ops) {
            const outcome = await store.appendJournal(runId, { stepKey: op.key, value: op.value }).catch((e: unknown) => e);
            const known = model.get(op.key);
            if (known === undefined) {
              model.set(op.key, { seq: model.size + 1, value: op.value });
              expect(outcome).toEqual({ seq: model.size, appended: true });
            } else if (known.value === op.value) {
              expect(outcome).toEqual({ seq: known.seq, appended: false });
            } else {
              expect(outcome).toBeInstanceOf(StoreConflictError);
            }
          }
          const journal = await store.readJournal(runId);
          expect(journal.map((e) => [e.seq, e.stepKey, e.value])).toEqual([...model].map(([key, { seq, value }]) => [seq, key, value]));
        }),
        { numRuns: runs },
      );
    });

    it('concurrent appends: gapless seqs, one entry per key, every outcome agrees with the journal', async () => {
      const { store } = await backend.fresh();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.constantFrom(0, 1) }), { minLength: 1, maxLength: 24 }), async (ops) => {
          const runId = `run-${++run}`;
          await store.createRun({ runId, pipeline: 'concurrent' });
          const outcomes = await Promise.all(ops.map((op) => store.appendJournal(runId, { stepKey: op.key, value: op.value }).catch((e: unknown) => e)));
          const journal = await store.readJournal(runId);
          expect(journal.map((e) => e.seq)).toEqual(journal.map((_, i) => i + 1));
          expect(new Set(journal.map((e) => e.stepKey)).size).toBe(journal.length);
          expect(new Set(journal.map((e) => e.stepKey))).toEqual(new Set(ops.map((op) => op.key)));
          const byKey = new Map(journal.map((e) => [e.stepKey, e]));
          ops.forEach((op, i) => {
            const stored = byKey.get(op.key)!;
            const outcome = outcomes[i];
            if (outcome instanceof StoreConflictError) expect(stored.value).not.toBe(op.value);
            else {
              expect(stored.value).toBe(op.value);
              expect((outcome as AppendResult).seq).toBe(stored.seq);
            }
          });
          expect(outcomes.filter((o) => !(o instanceof StoreConflictError) && (o as AppendResult).appended)).toHaveLength(journal.length);
        }),
        { numRuns: runs },
      );
    });

    it('concurrent read-modify-write on one session: each version is won once, no increment is lost', async () => {
      const { store } = await backend.fresh();
      let session = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), async (writers, increments, viaTurns) => {
          const id = `s-${++session}`;
          await store.saveSession(id, { count: 0 }, 0);
          const writer = async (w: number) => {
            for (let done = 0; done < increments; ) {
              const current = (await store.loadSession(id, { lastTurns: 0 }))!;
              const next = { count: (current.state as { count: number }).count + 1 };
              try {
                if (viaTurns) await store.appendTurn(id, { writer: w, count: next.count }, { expectedVersion: current.version, state: next });
                else await store.saveSession(id, next, current.version);
                done++;
              } catch (error) {
                if (!(error instanceof StoreConflictError)) throw error;
                expect(error.actualVersion).toBeGreaterThan(current.version);
              }
            }
          };
          await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
          const final = (await store.loadSession(id))!;
          expect(final.state).toEqual({ count: writers * increments });
          expect(final.version).toBe(1 + writers * increments);
          if (viaTurns) expect(final.turns.map((t) => (t.turn as { count: number }).count)).toEqual(Array.from({ length: writers * increments }, (_, i) => i + 1));
        }),
        { numRuns: runs },
      );
    });
  });
}
