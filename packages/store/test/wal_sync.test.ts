// SQLite durability without blocking the event loop: with synchronous 'full' the backend fdatasyncs the WAL on
// the thread pool after each commit, and the commit's writes resolve (and later operations run) only after that
// fsync. Here the fsync is held open to show the order; crash.test.ts shows acknowledged appends survive a kill.

import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../src/index.js';

const dirs: string[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** fs.fdatasync calls, held until released while `hold` is on. */
function interceptFdatasync(): { hold: boolean; held: Array<{ fd: number; release: () => void }>; calls: number[]; nextCall: () => Promise<void> } {
  const real = fs.fdatasync;
  const state = { hold: false, held: [] as Array<{ fd: number; release: () => void }>, calls: [] as number[], nextCall: () => new Promise<void>((resolve) => waiters.push(resolve)) };
  const waiters: Array<() => void> = [];
  vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    state.calls.push(fd);
    if (state.hold) state.held.push({ fd, release: () => real(fd, callback) });
    else real(fd, callback);
    for (const wake of waiters.splice(0)) wake();
  }) as typeof fs.fdatasync);
  return state;
}

const settled = (promise: Promise<unknown>): { done: boolean } => {
  const flag = { done: false };
  void promise.then(() => (flag.done = true), () => (flag.done = true));
  return flag;
};

describe('sqlite: the WAL fsync of each commit', () => {
  for (const groupCommit of [false, true]) {
    it(`a write resolves, and later operations run, only after its commit's WAL fsync (${groupCommit ? 'group commit' : 'one commit per write'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-walsync-'));
      dirs.push(dir);
      const sync = interceptFdatasync();
      const store = await openStore({ sqlite: { dir, groupCommit } });
      try {
        await store.createRun({ runId: 'r', pipeline: 'p' });
        sync.hold = true;
        const called = sync.nextCall();
        const append = store.appendJournal('r', { stepKey: 's1', value: { x: 1 } });
        const read = store.readJournal('r');
        const appendDone = settled(append);
        const readDone = settled(read);
        await Promise.race([called, append.then(() => Promise.reject(new Error('the append resolved before any WAL fsync')))]);
        // The fsync is of the WAL file, and nothing has resolved while it runs.
        expect(fs.fstatSync(sync.held[0]!.fd).ino).toBe(fs.statSync(join(dir, 'dspex.sqlite-wal')).ino);
        await new Promise((resolve) => setImmediate(resolve));
        expect(appendDone.done).toBe(false);
        expect(readDone.done).toBe(false);
        sync.hold = false;
        sync.held.shift()!.release();
        expect(await append).toEqual({ seq: 1, appended: true });
        expect((await read).map((e) => e.stepKey)).toEqual(['s1']);
      } finally {
        sync.hold = false;
        for (const h of sync.held.splice(0)) h.release();
        await store.close();
      }
    });
  }

  it("synchronous 'normal' does not fsync at commit", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-walsync-'));
    dirs.push(dir);
    const sync = interceptFdatasync();
    const store = await openStore({ sqlite: { dir, synchronous: 'normal' } });
    try {
      await store.createRun({ runId: 'r', pipeline: 'p' });
      await store.appendJournal('r', { stepKey: 's1', value: 1 });
      expect(sync.calls).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
