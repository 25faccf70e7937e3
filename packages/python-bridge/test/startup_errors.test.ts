// A pool whose python.commands module fails to import (issue 9, section 4): the first call rejects at once with
// WorkerStartupFailed carrying Python's type, message and traceback (not QueueTimeout), the pool's supervisor gives
// up by its restart intensity instead of spawning Python forever, and no Python process is left.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pid } from '@dspex/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerStartupFailed } from '../src/index.js';
import { nextEvent, osAlive, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

// Written at test time: a module with a syntax error must not sit in the source tree for linters to trip on.
const modulesDir = mkdtempSync(join(tmpdir(), 'dspex-startup-'));
writeFileSync(join(modulesDir, 'dspex_broken_raises.py'), "def helper():\n    raise RuntimeError('broken on purpose')\n\nhelper()\n");
writeFileSync(join(modulesDir, 'dspex_broken_syntax.py'), 'def f(:\n    pass\n');
afterAll(() => rmSync(modulesDir, { recursive: true, force: true }));

const CASES = [
  { module: 'dspex_broken_raises', pythonType: 'RuntimeError', text: 'broken on purpose' },
  { module: 'dspex_broken_syntax', pythonType: 'SyntaxError', text: 'invalid syntax' },
  { module: 'dspex_broken_missing', pythonType: 'ModuleNotFoundError', text: "No module named 'dspex_broken_missing'" },
] as const;

/** Resolves with the exit reason of `pid` (its DOWN). */
function downOf(pid: Pid): Promise<unknown> {
  return new Promise((resolve) => bridge.rt.onExit(pid, resolve));
}

describe('a python.commands module that fails to import', () => {
  for (const { module, pythonType, text } of CASES) {
    it(`${pythonType}: the first call rejects with WorkerStartupFailed and the pool gives up`, async () => {
      // A queue timeout far beyond the test's: a QueueTimeout cannot be what ends the call.
      const pool = await bridge.pool({ name: `broken-${module}`, size: 2, queueTimeoutMs: 600_000, python: { commands: [module], env: { PYTHONPATH: modulesDir } } }, 0);
      // Subscribed before Python (hundreds of ms to import) can have reported anything.
      const reported = nextEvent(pool, 'worker_startup_failed');
      const down = downOf(pool.supervisor!);
      const error = await rejectionOf(pool.call('ping', {}));
      expect(error).toBeInstanceOf(WorkerStartupFailed);
      const startup = error as WorkerStartupFailed;
      expect(startup.code).toBe('DSPEX_WORKER_STARTUP_FAILED');
      expect([startup.module, startup.pythonType]).toEqual([module, pythonType]);
      expect(startup.pythonMessage).toContain(text);
      expect(startup.traceback).toContain('Traceback (most recent call last)');
      expect(startup.traceback).toContain(text);
      if (module === 'dspex_broken_raises') expect(startup.traceback).toContain('helper()');
      expect(startup.message).toContain(`python.commands module '${module}' failed to import`);
      expect(startup.message).toContain('fix the module or remove it from python.commands');

      expect(await down).toBe('shutdown'); // the pool's supervisor reached its restart intensity
      expect(pool.supervisor).toBeUndefined();
      expect((await reported).module).toBe(module);
      // Calls made afterwards get the same error at once; no Python process is left, and none was respawned.
      expect(await rejectionOf(pool.call('ping', {}))).toBeInstanceOf(WorkerStartupFailed);
      expect([...bridge.pythonPids].filter(osAlive)).toEqual([]);
      expect(bridge.pythonPids.size).toBeLessThanOrEqual(2);
    });
  }

  it('a lazy pool: the call that starts the first worker gets the error, and the pool gives up', async () => {
    const pool = await bridge.pool({ name: 'broken-lazy', size: 2, start: 'lazy', queueTimeoutMs: 600_000, python: { commands: ['dspex_broken_raises'], env: { PYTHONPATH: modulesDir } } });
    const down = downOf(pool.supervisor!);
    const error = await rejectionOf(pool.call('ping', {}));
    expect(error).toBeInstanceOf(WorkerStartupFailed);
    expect(await down).toBe('shutdown');
    expect([...bridge.pythonPids].filter(osAlive)).toEqual([]);
    expect(bridge.pythonPids.size).toBe(1);
  });
});

