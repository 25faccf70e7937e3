// A fresh SQLite store per test (and a way to reopen it, as a restarted process would), and the space most
// variable tests use.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@dspex/store';
import { defineSpace, variable } from '../../src/variables/index.js';

export function sqliteStores(): { fresh(): Promise<{ store: Store; reopen(): Promise<Store> }>; cleanup(): Promise<void> } {
  const dirs: string[] = [];
  const stores: Store[] = [];
  return {
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'dspex-variables-'));
      dirs.push(dir);
      const open = async (): Promise<Store> => {
        const store = await openStore({ sqlite: { dir, synchronous: 'normal' } });
        stores.push(store);
        return store;
      };
      return { store: await open(), reopen: open };
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** temperature, maxTokens, style and a derived `budget`; a cross constraint forbids hot and long together. */
export const qaSpace = () =>
  defineSpace('qa', {
    variables: {
      temperature: variable.float({ min: 0, max: 1, step: 0.1, default: 0.7 }),
      maxTokens: variable.int({ min: 16, max: 512, default: 128, validate: (n) => n % 16 === 0 || 'must be a multiple of 16' }),
      style: variable.choice({ choices: ['terse', 'verbose'] }),
      instructions: variable.text({ default: 'Answer the question.' }),
      budget: variable.int({ min: 0, max: 100_000, dependsOn: ['maxTokens', 'style'], derive: (d) => (d.maxTokens as number) * (d.style === 'verbose' ? 4 : 1) }),
    },
    constraints: [{ name: 'hot-and-long', check: (a) => !((a.temperature as number) > 0.9 && (a.maxTokens as number) > 256) || 'temperature above 0.9 needs maxTokens <= 256' }],
  });
