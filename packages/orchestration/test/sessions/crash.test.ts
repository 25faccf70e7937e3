// Durability of sessions across a SIGKILL of the whole Node process: a child drives 20 sessions on SQLite and
// is killed mid-stream; a new Sessions tree on the reopened store has every acknowledged turn, in order, and
// the next call to each session continues right after its last stored turn.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { Sessions, type JsonObject } from '../../src/sessions/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('sessions: SIGKILL of the Node process running them', () => {
  for (const mode of ['single', 'group'] as const) {
    it(`every acknowledged turn is back, in order, in a new process (${mode === 'group' ? 'group commit' : 'fsync per turn'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-sessions-crash-'));
      dirs.push(dir);
      const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(here, 'fixtures/session_writer.ts'), dir, mode], {
        cwd: join(here, '../..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      const acked = new Map<string, number>(); // session -> highest acknowledged turn
      let total = 0;
      for await (const line of createInterface({ input: child.stdout })) {
        const [word, session, turn] = line.split(' ');
        if (word !== 'ack') continue;
        expect(Number(turn)).toBe((acked.get(session!) ?? 0) + 1); // acknowledged in order per session
        acked.set(session!, Number(turn));
        if (++total === 400) child.kill('SIGKILL');
      }
      expect(await exited).toBe('SIGKILL');

      const store = await openStore({ sqlite: { dir } });
      const rt = new Runtime();
      try {
        const sessions = await Sessions.start(rt, { store });
        for (const [id, last] of acked) {
          const snapshot = await sessions.get(id);
          // Every acknowledged turn is stored, in order, without gaps (a turn committed but not yet acknowledged may follow).
          expect(snapshot.turnCount).toBeGreaterThanOrEqual(last);
          expect(snapshot.turns.map((t) => t.inputs.turn)).toEqual(Array.from({ length: snapshot.turnCount }, (_, i) => i + 1).slice(-snapshot.turns.length));
          const next = (await sessions.call(id, (inputs: JsonObject, context) => ({ seen: context.history.messages.length, turn: inputs.turn as number }), { turn: snapshot.turnCount + 1 })) as JsonObject;
          expect(next.seen).toBe(Math.min(snapshot.turnCount, 100));
        }
      } finally {
        await rt.shutdown();
        await store.close();
      }
    });
  }
});
