// Python workers must not outlive their Node owner. A SIGKILL of Node runs no handler at all, so the workers
// have to notice by themselves (PR_SET_PDEATHSIG, EOF on their pipes); what still slips through (a worker
// whose owner died before it could arm PDEATHSIG, another OS) is swept by the next runtime's orphan sweeper.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findPython, sweepOrphans } from '@dspex/python-bridge';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWNER = fileURLToPath(new URL('./fixtures/owner.ts', import.meta.url));
const WAIT_GONE = fileURLToPath(new URL('./fixtures/wait_gone.py', import.meta.url));
const PYTHON = findPython(ROOT);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The first line `child` prints; rejects if it exits first. */
async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the owner exited (${String(code ?? signal)}) before printing its workers`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => line as string), exited]);
  } finally {
    lines.close();
  }
}

/** Waits (at most two seconds, on pidfds) until every pid has terminated; whatever is still alive is in `alive`. */
async function waitGone(pids: number[]): Promise<{ gone: number[]; alive: number[]; ms: number; how: string }> {
  const waiter = spawn(PYTHON, [WAIT_GONE, ...pids.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(await firstLine(waiter)) as { gone: number[]; alive: number[]; ms: number; how: string };
}

/** A pid that was a process a moment ago and is not one now. */
async function deadPid(): Promise<number> {
  const child = spawn(PYTHON, ['-c', 'pass'], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

/** A real worker process (`python -m dspex_bridge.worker`) with the run id of `ownerPid`, once it is ready. */
async function lookalikeWorker(ownerPid: number, tag: string): Promise<ChildProcess> {
  const args = ['-m', 'dspex_bridge.worker', '--run-id', `${ownerPid}.${tag}`, '--worker-id', tag];
  // fd 3: frames in, fd 4: frames out, as a pool would give it; detached: its own process group.
  const worker = track(spawn(PYTHON, args, { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'], detached: true }));
  await once(worker.stdio[4]!, 'data'); // its ready frame
  return worker;
}

describe('orphaned Python workers', () => {
  it('die within two seconds of a SIGKILL of their Node owner', async () => {
    const owner = track(spawn(process.execPath, ['--conditions=development', '--import', 'tsx', OWNER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
    const { node, python } = JSON.parse(await firstLine(owner)) as { node: number; python: number[] };
    expect(node).toBe(owner.pid);
    expect(python).toHaveLength(2);
    // They are the owner's workers, alive now.
    for (const pid of python) {
      const argv = cmdline(pid);
      expect(argv).toContain('dspex_bridge.worker');
      expect(argv[argv.indexOf('--run-id') + 1]).toMatch(new RegExp(`^${node}\\.`));
    }

    owner.kill('SIGKILL');
    await once(owner, 'exit');
    const result = await waitGone(python);
    expect(result, `workers still alive ${result.ms} ms after their owner was killed (${result.how})`).toMatchObject({ alive: [], gone: [...python].sort((a, b) => a - b) });
    expect(result.ms).toBeLessThanOrEqual(2000);
  });

  it('are swept at pool start when their owner is dead, and workers of live owners are spared', async () => {
    const liveOwner = track(spawn(PYTHON, ['-c', 'import sys; sys.stdin.read()'], { stdio: ['pipe', 'ignore', 'inherit'] }));
    await once(liveOwner, 'spawn');
    // Both workers have a live parent (this process), so PDEATHSIG stays quiet: only their run ids differ.
    const orphan = await lookalikeWorker(await deadPid(), 'orphan');
    const spared = await lookalikeWorker(liveOwner.pid!, 'spared');
    const orphanExit = once(orphan, 'exit');

    const swept = sweepOrphans(`${process.pid}.current-run`);

    expect(swept).toContain(orphan.pid);
    expect(swept).not.toContain(spared.pid);
    const [code, signal] = await orphanExit;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(spared.exitCode).toBeNull();
    expect(spared.signalCode).toBeNull();
    expect(cmdline(spared.pid!)).toContain('dspex_bridge.worker');
  });
});
