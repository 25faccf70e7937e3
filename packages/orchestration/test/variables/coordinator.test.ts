// The coordinator of a space, on each store (SQLite, and PostgreSQL: required in CI): compare-and-set by version
// (a stale version is a typed conflict), concurrent writers with no lost update (fast-check), history complete
// and ordered with who/why/metric, subscribers (callback and async iterator), and persistence: a restarted
// coordinator, a crashed one, a reopened store.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Registry, Runtime } from '@dspex/runtime';
import { awaitDown } from '@dspex/runtime/testing';
import { Variables, VariableConflictError, defineSpace, variable, variablesNamespace, type SpaceChange } from '../../src/variables/index.js';
import { STORES } from '../sessions/backends.js';
import { qaSpace } from './support.js';

const counterSpace = (name: string) => defineSpace(name, { variables: { counter: variable.int({ min: 0, max: 1_000_000 }), writer: variable.text() } });

for (const backend of STORES) describe.skipIf(!backend.available)(`variable coordinator on ${backend.name}`, () => {
  let rt: Runtime;
  let now = 1_000;
  const clock = () => now++;
  beforeEach(() => {
    rt = new Runtime();
  });
  afterEach(async () => {
    await rt.shutdown();
    await backend.cleanup();
  });

  it('compare-and-set: a stale version is a VariableConflictError and nothing is written', async () => {
    const { store } = await backend.fresh();
    const space = await (await Variables.start(rt, { store, clock })).space(qaSpace());
    const first = await space.set({ temperature: 0.2 }, { expectedVersion: 0, by: 'alice', why: 'less random', metric: 0.5 });
    expect(first.version).toBe(1);
    const stale = await space.set({ temperature: 0.3 }, { expectedVersion: 0, by: 'bob' }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(VariableConflictError);
    expect(stale).toMatchObject({ code: 'DSPEX_VARIABLE_CONFLICT', expectedVersion: 0, actualVersion: 1 });
    expect((await space.get()).values.temperature).toBe(0.2);
    expect(await space.history({ variable: 'temperature' })).toEqual([
      { version: 1, at: expect.any(Number), by: 'alice', why: 'less random', metric: 0.5, changes: { temperature: { from: 0.7, to: 0.2 } } },
    ]);
  });

  it('concurrent compare-and-set writers lose no update; versions strictly increase; history is complete and ordered', async () => {
    const { store } = await backend.fresh();
    const variables = await Variables.start(rt, { store, clock });
    let run = 0;
    let conflicts = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 5 }), fc.array(fc.nat(3), { minLength: 1, maxLength: 20 }), async (increments, yields) => {
        const space = await variables.space(counterSpace(`counter-${run++}`));
        let step = 0;
        const pause = async () => {
          for (let i = yields[step++ % yields.length]!; i > 0; i--) await Promise.resolve();
        };
        const acknowledged: number[] = [];
        await Promise.all(
          increments.map(async (count, writer) => {
            for (let done = 0; done < count; ) {
              const { version, values } = await space.get();
              await pause();
              try {
                const after = await space.set({ counter: (values.counter as number) + 1, writer: `w${writer}` }, { expectedVersion: version, by: `w${writer}` });
                acknowledged.push(after.version);
                done++;
              } catch (error) {
                if (!(error instanceof VariableConflictError)) throw error;
                conflicts++;
              }
            }
          }),
        );
        const total = increments.reduce((a, b) => a + b, 0);
        const final = await space.get();
        expect(final.values.counter).toBe(total); // every acknowledged increment is in the value: no lost update
        expect(final.version).toBe(total);
        expect([...acknowledged].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        const history = await space.history();
        expect(history.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        history.forEach((entry, i) => expect(entry.changes.counter).toEqual({ from: i, to: i + 1 }));
        for (let w = 0; w < increments.length; w++) expect(history.filter((e) => e.by === `w${w}`)).toHaveLength(increments[w]!);
        // The store holds the same history.
        expect(await store.kv.list(variablesNamespace(space.name), { prefix: 'history/' })).toHaveLength(total);
      }),
      { numRuns: 12, verbose: true },
    );
    expect(conflicts).toBeGreaterThan(0); // the writers did race
  });

  it('tells subscribers of each committed update, by callback and async iterator', async () => {
    const { store } = await backend.fresh();
    const space = await (await Variables.start(rt, { store, clock })).space(qaSpace());
    const seen: SpaceChange[] = [];
    const unsubscribe = space.subscribe((change) => seen.push(change));
    const iterator = space.changes();
    await space.set({ temperature: 0.1 }, { by: 'tuner' });
    await expect(space.set({ temperature: 5 })).rejects.toThrow(); // refused: not broadcast
    await space.set({ style: 'verbose' });
    unsubscribe();
    await space.set({ temperature: 0.3 });
    expect(seen.map((c) => [c.entry.version, Object.keys(c.entry.changes)])).toEqual([
      [1, ['temperature']],
      [2, ['style', 'budget']],
    ]);
    expect(seen[0]).toMatchObject({ space: 'qa', entry: { by: 'tuner' }, snapshot: { version: 1, values: { temperature: 0.1 } } });
    const versions: number[] = [];
    for await (const change of iterator) {
      versions.push(change.snapshot.version);
      if (versions.length === 3) break;
    }
    expect(versions).toEqual([1, 2, 3]);
  });

  it('concurrent setters without a version: each gets its own version, subscribers see every change in order, a throwing subscriber breaks nothing', async () => {
    const { store } = await backend.fresh();
    const space = await (await Variables.start(rt, { store, clock })).space(counterSpace('blind'));
    const seen: number[] = [];
    const failures: unknown[] = [];
    rt.telemetry.on('internal_error', ({ error }) => failures.push(error));
    space.subscribe(() => {
      throw new Error('a broken dashboard');
    });
    space.subscribe((change) => seen.push(change.entry.version));
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => space.set({ counter: i, writer: `w${i}` }, { by: `w${i}` })));
    expect(replies.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1)); // in commit order, none lost
    expect(failures).toHaveLength(40);
    expect((failures[0] as Error).message).toBe('a broken dashboard');
    const history = await space.history();
    expect(history.map((e) => e.version)).toEqual(seen);
    // Each reply is the state its own update committed, and the last one is what the space holds.
    for (const reply of replies) expect(history[reply.version - 1]!.by).toBe(reply.values.writer);
    expect((await space.get()).values).toEqual(replies.find((r) => r.version === 40)!.values);
  });

  it('survives a restart of the coordinator, a crash of it, and a reopened store: same values and history', async () => {
    const { store, reopen } = await backend.fresh();
    const variables = await Variables.start(rt, { store, clock });
    let space = await variables.space(qaSpace());
    await space.set({ temperature: 0.2 }, { by: 'a', why: 'first', metric: 0.1 });
    await space.set({ maxTokens: 256, style: 'verbose' }, { by: 'b', why: 'second', metric: 0.4 });
    const values = (await space.get()).values;
    const history = await space.history();

    await space.stop();
    expect(await space.get()).toEqual({ space: 'qa', version: 2, values });

    // A crash: the DynamicSupervisor restarts the coordinator, which reloads from the store.
    const pid = Registry.of<string, unknown>(rt, 'Variables.Registry').lookup('qa')[0]![0];
    const down = awaitDown(rt, pid);
    rt.exit(pid, 'kill');
    await down;
    expect(await space.history()).toEqual(history);
    await space.set({ temperature: 0.4 }, { expectedVersion: 2 });

    // Another process on the same database.
    await rt.shutdown();
    rt = new Runtime();
    const reopened = await reopen();
    space = await (await Variables.start(rt, { store: reopened, clock })).space(qaSpace());
    const snapshot = await space.get();
    expect(snapshot.version).toBe(3);
    expect(snapshot.values).toEqual({ ...values, temperature: 0.4 });
    expect((await space.history()).slice(0, 2)).toEqual(history);
  });

  it('rolls forward an update whose state row was not written before a crash', async () => {
    const { store } = await backend.fresh();
    const space = await (await Variables.start(rt, { store, clock })).space(qaSpace());
    await space.set({ temperature: 0.2 });
    await space.stop();
    // What a crash between the two writes of the next update leaves: its history entry, not its state row.
    await store.kv.put(variablesNamespace('qa'), 'history/000000000002', { version: 2, at: 5, by: 'x', why: null, metric: null, changes: { temperature: { from: 0.2, to: 0.9 } } }, 0);
    expect(await space.get()).toMatchObject({ version: 2, values: { temperature: 0.9 } });
    expect((await space.set({ temperature: 0.5 }, { expectedVersion: 2 })).version).toBe(3);
  });
});
