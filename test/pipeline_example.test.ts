// examples/pipeline.ts as a user runs it: the example forks a child that runs a durable pipeline on the embedded
// model and a Python pool, SIGKILLs it after its first journaled step, and resumes the run. Its output must show
// the journaled step skipped (and never run again), the interrupted steps run, and a final answer. Bounded by
// the test's timeout; waits on the process's exit, never on time.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const examples = join(import.meta.dirname, '..', 'examples');

it('resumes the killed pipeline run: journaled steps skipped, the rest run, a final answer printed', async () => {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'pipeline.ts'], { cwd: examples, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);

  expect(stdout).toMatch(/\[child \d+\] step 'retrieve' done and journaled/);
  expect(stdout).toContain("killed the child with SIGKILL after 'retrieve' was journaled");
  const resumed = stdout.split('The parent resumes the run from the journal:')[1] ?? '';
  expect(resumed).toContain('skipped (already done): retrieve');
  expect(resumed).not.toContain('ran: retrieve'); // a completed step never runs twice
  expect(resumed).toMatch(/ran: check \(\d+ ms/);
  expect(resumed).toMatch(/Final answer: \S+/);
  expect(resumed).toMatch(/Checked in Python DSPy \(supported by the context\): (true|false)/);
}, 240_000);
