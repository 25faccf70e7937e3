import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '@dspex/runtime';
import { PythonException } from '../src/index.js';
import { silentRuntime, startPool } from './helpers.js';

let rt: Runtime;
afterEach(async () => {
  await rt?.shutdown(5000);
});

describe('pool basics', () => {
  it('runs ping and info in real Python workers', async () => {
    rt = silentRuntime();
    const pool = await startPool(rt, { name: 'basics', size: 2 });
    expect(await pool.call('ping', { hello: 'world' })).toEqual({ hello: 'world' });
    const info = await pool.call<{ pid: number; versions: Record<string, string> }>('info');
    expect(info.versions.dspy).toMatch(/^3\.4\./);
    const stats = await pool.stats();
    expect(stats.workers).toBe(2);
    await expect(pool.call('no_such_command')).rejects.toBeInstanceOf(PythonException);
    expect(await pool.call('ping', { still: 'serving' })).toEqual({ still: 'serving' });
  });
});
