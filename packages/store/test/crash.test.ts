// Durability on SQLite: a child process appending journal entries is SIGKILLed mid-stream; the reopened store
// has every entry whose append had resolved before the kill (fsync per commit, with and without group commit).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function killMidStream(mode: 'single' | 'group', killAfterAcks: number): Promise<{ dir: string; acked: Map<number, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-crash-'));
  dirs.push(dir);
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, 'fixtures/journal_writer.ts'), dir, mode], {
    cwd: join(here, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const acked = new Map<number, number>(); // step -> seq
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, step, seq] = line.split(' ');
    if (word !== 'ack') continue;
    acked.set(Number(step), Number(seq));
    if (acked.size === killAfterAcks) child.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return { dir, acked };
}

describe('crash: SIGKILL of a process writing the journal', () => {
  for (const mode of ['single', 'group'] as const) {
    it(`every acknowledged append survives (${mode === 'group' ? 'group commit' : 'one commit per append'})`, async () => {
      const { dir, acked } = await killMidStream(mode, 300);
      expect(acked.size).toBeGreaterThanOrEqual(300);
      const store = await openStore({ sqlite: { dir, groupCommit: mode === 'group' } });
      try {
        const journal = await store.readJournal('crash');
        const bySeq = new Map(journal.map((e) => [e.seq, e]));
        for (const [step, seq] of acked) expect(bySeq.get(seq)?.value).toMatchObject({ step });
        expect(journal.map((e) => e.seq)).toEqual(journal.map((_, i) => i + 1));
        // The journal is usable after the crash: appends continue after the last entry.
        expect((await store.appendJournal('crash', { stepKey: 'after-crash', value: true })).seq).toBe(journal.length + 1);
      } finally {
        await store.close();
      }
    });
  }
});
