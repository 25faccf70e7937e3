// Property: random interleavings of calls across sessions (program completions ordered by fast-check's
// scheduler, passivation forced by a small maxLive and TTL sweeps in between) never lose or reorder a turn:
// every acknowledged call is one stored turn, turns are numbered without gaps, and the history each call saw
// is exactly the stored turns before its own. The seed is printed on failure.

import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { Sessions, type JsonObject, type SessionContext } from '../../src/sessions/index.js';

const RUNS = Number(process.env.DSPEX_SESSIONS_PROPERTY_RUNS ?? 25);

describe('sessions: properties', () => {
  it('random interleavings of calls across sessions never reorder or lose turns', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ session: fc.integer({ min: 0, max: 4 }), sweep: fc.boolean(), fails: fc.boolean() }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 3 }),
        fc.scheduler(),
        async (calls, maxLive, s) => {
          const dir = mkdtempSync(join(tmpdir(), 'dspex-sessions-prop-'));
          const store = await openStore({ sqlite: { dir, synchronous: 'normal', groupCommit: true } });
          const rt = new Runtime();
          let now = 0;
          try {
            const sessions = await Sessions.start(rt, { store, maxLive, ttlMs: 10, clock: () => now, sweepIntervalMs: Infinity });
            const program = async (inputs: JsonObject, context: SessionContext): Promise<JsonObject> => {
              await s.schedule(Promise.resolve(), `call ${String(inputs.call)} in s${context.id}`);
              if (inputs.fails === true) throw new Error('program failed');
              return { seen: context.history.messages.map((m) => m.call as number) };
            };
            const outcomes = calls.map((call, i) =>
              s.schedule(Promise.resolve(), `issue ${i}`).then(async () => {
                if (call.sweep) {
                  now += 20;
                  await sessions.sweep();
                }
                return sessions.call(`s${call.session}`, program, { call: i, fails: call.fails }).then(
                  (out) => ({ i, ok: true as const, seen: out.seen as number[] }),
                  () => ({ i, ok: false as const, seen: [] as number[] }),
                );
              }),
            );
            await s.waitFor(Promise.all(outcomes));
            const results = await Promise.all(outcomes);
            for (let session = 0; session < 5; session++) {
              const acked = results.filter((r) => r.ok && calls[r.i]!.session === session);
              const stored = (await store.readTurns(`s${session}`)).map((t) => (t.turn as { inputs: { call: number } }).inputs.call);
              expect(stored.slice().sort((a, b) => a - b)).toEqual(acked.map((r) => r.i).sort((a, b) => a - b)); // none lost, none extra
              for (const result of acked) expect(result.seen).toEqual(stored.slice(0, stored.indexOf(result.i))); // history = the turns before it
              for (const failed of results.filter((r) => !r.ok && calls[r.i]!.session === session)) expect(calls[failed.i]!.fails).toBe(true);
            }
          } finally {
            await rt.shutdown();
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: RUNS, verbose: 1 },
    );
  }, 120_000);
});
