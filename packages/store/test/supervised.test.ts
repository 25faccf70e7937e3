// The store as the `Store` child of an application tree: opened by init, closed by shutdown, found again by
// name after a restart (including a brutal kill that skipped terminate).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, Supervisor } from '@dspex/runtime';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, StoreClosedError, StoreSchemaTooNewError, openStore } from '../src/index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(): { rt: Runtime; dir: string } {
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const dir = mkdtempSync(join(tmpdir(), 'dspex-supervised-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => rt.shutdown());
  return { rt, dir };
}

describe('Store.childSpec under a supervisor', () => {
  it('serves calls by name, closes on terminateChild, and comes back on restartChild with the data', async () => {
    const { rt, dir } = setup();
    const started = await Supervisor.start(rt, { strategy: 'one_for_one', children: [Store.childSpec({ sqlite: { dir } })] }, { name: 'App' });
    expect('ok' in started).toBe(true);
    const store = Store.connect(rt);
    expect(store.backend).toBe('sqlite');
    await store.createRun({ runId: 'r', pipeline: 'p' });
    await store.appendJournal('r', { stepKey: 'a', value: 1 });

    expect(await Supervisor.terminateChild(rt, 'App', 'Store')).toEqual({ ok: true });
    await expect(store.readJournal('r')).rejects.toBeInstanceOf(StoreClosedError);
    expect(store.closed).toBe(true);

    expect('ok' in (await Supervisor.restartChild(rt, 'App', 'Store'))).toBe(true);
    expect((await store.readJournal('r')).map((e) => e.value)).toEqual([1]);
  });

  it('a killed store is restarted by its supervisor and the same handle reaches the new one', async () => {
    const { rt, dir } = setup();
    await Supervisor.start(rt, { strategy: 'one_for_one', children: [Store.childSpec({ sqlite: { dir }, name: 'Journal' })] }, { name: 'App' });
    const store = Store.connect(rt, 'Journal');
    await store.kv.put('ns', 'k', 'before');
    const restarted = new Promise<void>((resolve) => rt.telemetry.once('restart', () => resolve()));
    const old = rt.whereis('Journal')!;
    rt.exit(old, 'kill');
    await restarted;
    await Supervisor.whichChildren(rt, 'App'); // answered after the restart completed
    expect(rt.whereis('Journal')).not.toBe(old);
    expect((await store.kv.get('ns', 'k'))?.value).toBe('before');
    expect(await store.kv.put('ns', 'k', 'after', 1)).toBe(2);
  });

  it('the start fails with the typed error of opening (schema too new)', async () => {
    const { rt, dir } = setup();
    const direct = await openStore({ sqlite: { dir } });
    await direct.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'dspex.sqlite'));
    db.exec("INSERT INTO dspex_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    db.close();
    const error = await Store.start(rt, { sqlite: { dir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreSchemaTooNewError);
  });

  it('Store.start and close(): the handle stops the process', async () => {
    const { rt, dir } = setup();
    const store = await Store.start(rt, { sqlite: { dir }, name: 'Solo' });
    expect(await store.saveSession('s', { a: 1 }, 0)).toBe(1);
    await store.close();
    expect(rt.whereis('Solo')).toBeUndefined();
    await expect(store.loadSession('s')).rejects.toBeInstanceOf(StoreClosedError);
  });
});
