// The committed golden files are what real DSPy produces today: when the project's .venv exists, regenerate them
// into a temporary directory with scripts/gen_golden.py and require identical content. Without Python the
// other golden tests still run against the committed files.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from './golden_support.js';

const VENV_PYTHON = new URL('../../../../.venv/bin/python', import.meta.url).pathname;
const GENERATOR = new URL('../../scripts/gen_golden.py', import.meta.url).pathname;

describe.skipIf(!existsSync(VENV_PYTHON))('golden files regenerate identically from real DSPy', () => {
  it('gen_golden.py writes the committed bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-golden-'));
    try {
      execFileSync(VENV_PYTHON, [GENERATOR, dir], { encoding: 'utf8', timeout: 120_000 });
      const committed = readdirSync(GOLDEN_DIR).filter((name) => name.endsWith('.json')).sort();
      expect(readdirSync(dir).sort()).toEqual(committed);
      for (const name of committed) expect(readFileSync(join(dir, name), 'utf8'), name).toBe(readFileSync(new URL(name, GOLDEN_DIR), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
