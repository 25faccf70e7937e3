// No process of a run outlives its Node owner. A SIGKILL of Node runs no handler at all, so the workers notice
// by themselves (PR_SET_PDEATHSIG; one that starts after its owner died exits at once), each worker's sentinel
// kills what its commands started (setsid'd daemons included), and the next runtime's sweeper clears the rest.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
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

/** Waits (at most `budgetMs`, on pidfds) until every pid has terminated; whatever is still alive is in `alive`. */
async function waitGone(pids: number[], budgetMs = 2000): Promise<{ gone: number[]; alive: number[]; ms: number; how: string }> {
  const env = { ...process.env, WAIT_GONE_TIMEOUT_S: String(Math.max(0, budgetMs) / 1000) };
  const waiter = spawn(PYTHON, [WAIT_GONE, ...pids.map(String)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return JSON.parse(await firstLine(waiter)) as { gone: number[]; alive: number[]; ms: number; how: string };
}

function procText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/**
 * Live processes of the runs of Node process `node`, found as the sweeper would: `--run-id <node>.` on the
 * command line (workers, their sentinels, a wrapper still starting one) or `DSPEX_RUN_ID=<node>.` in the
 * environment (whatever a command started).
 */
function processesOf(node: number): number[] {
  const runPrefix = `${node}.`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const argv = procText(`/proc/${entry}/cmdline`).split('\0');
    const runId = argv.includes('--run-id') ? argv[argv.indexOf('--run-id') + 1] : undefined;
    const marked = procText(`/proc/${entry}/environ`).split('\0').some((kv) => kv.startsWith(`DSPEX_RUN_ID=${runPrefix}`));
    if (!(runId?.startsWith(runPrefix) ?? false) && !marked) continue;
    const stat = procText(`/proc/${entry}/stat`);
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    if (state !== '' && state !== 'Z' && state !== 'X') found.push(Number(entry));
  }
  return found;
}

/**
 * Waits until no process of `node`'s runs is alive, at most two seconds after `since` (its death): waits on
 * the pids it knows, then looks again for any it could not see before (one in the middle of an exec).
 */
async function waitRunGone(node: number, known: number[], since: number): Promise<{ alive: number[]; ms: number }> {
  let targets = [...new Set([...known, ...processesOf(node)])];
  for (;;) {
    const result = await waitGone(targets, 2000 - (performance.now() - since));
    const again = processesOf(node);
    const ms = performance.now() - since;
    if (again.length === 0 || ms >= 2000) return { alive: [...new Set([...result.alive, ...again])], ms };
    targets = again;
  }
}

/** Starts the owner fixture in `mode` (see fixtures/owner.ts) and reads its first line. */
async function startOwner<T>(mode: string): Promise<{ owner: ChildProcess; line: T }> {
  const owner = track(spawn(process.execPath, ['--conditions=development', '--import', 'tsx', OWNER, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
  return { owner, line: JSON.parse(await firstLine(owner)) as T };
}

/** A process standing in for a Node owner: its pid goes into run ids; it lives until killed. */
async function standIn(): Promise<ChildProcess> {
  const child = track(spawn(PYTHON, ['-c', 'import sys; sys.stdin.read()'], { stdio: ['pipe', 'ignore', 'inherit'] }));
  await once(child, 'spawn');
  return child;
}

/** A process a command might have started (a daemon in its own session), carrying run `runId`'s marker. */
async function markedProcess(runId: string): Promise<ChildProcess> {
  const program = "print('up', flush=True); import time; time.sleep(600)";
  const child = track(spawn(PYTHON, ['-c', program], { stdio: ['ignore', 'pipe', 'inherit'], detached: true, env: { ...process.env, DSPEX_RUN_ID: runId } }));
  await firstLine(child); // past exec: its environment is readable
  return child;
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
    const { owner, line } = await startOwner<{ node: number; python: number[] }>('ready');
    const { node, python } = line;
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

  it('are swept at pool start when their owner is dead, with what they started; processes of live owners are spared', async () => {
    const deadOwner = await standIn();
    const liveOwner = await standIn();
    // Every process here has a live parent (this process), so PDEATHSIG stays quiet: only their run ids differ.
    const orphan = await lookalikeWorker(deadOwner.pid!, 'orphan');
    const spared = await lookalikeWorker(liveOwner.pid!, 'spared');
    const orphanDaemon = await markedProcess(`${deadOwner.pid}.orphan`);
    const sparedDaemon = await markedProcess(`${liveOwner.pid}.spared`);
    const exits = [orphan, orphanDaemon].map((child) => once(child, 'exit'));
    deadOwner.kill('SIGKILL');
    await once(deadOwner, 'exit');

    const swept = sweepOrphans(`${process.pid}.current-run`);

    expect(swept).toEqual(expect.arrayContaining([orphan.pid, orphanDaemon.pid]));
    expect(swept).not.toContain(spared.pid);
    expect(swept).not.toContain(sparedDaemon.pid);
    for (const [code, signal] of await Promise.all(exits)) expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    for (const child of [spared, sparedDaemon]) expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: null, signal: null });
    expect(cmdline(spared.pid!)).toContain('dspex_bridge.worker');
  });
});

describe('everything a run started', () => {
  it('dies within two seconds of a SIGKILL of the owner: workers, sentinels, and what commands started (setsid and double fork included)', { timeout: 30_000 }, async () => {
    const { owner, line } = await startOwner<{ node: number; python: number[]; descendants: number[] }>('grandchildren');
    const { node, python, descendants } = line;
    expect(descendants).toHaveLength(6);
    // Alive now, and each carries the run's marker, so the sweeper of a later runtime would know it too.
    const before = processesOf(node);
    for (const pid of [...python, ...descendants]) expect(before).toContain(pid);

    owner.kill('SIGKILL');
    await once(owner, 'exit');
    const result = await waitRunGone(node, [...python, ...descendants], performance.now());
    expect(result, `processes of the run still alive ${Math.round(result.ms)} ms after their owner was killed`).toMatchObject({ alive: [] });
  });

  it('leaves nothing when the owner dies while its pool is starting (before a worker could arm PR_SET_PDEATHSIG)', { timeout: 30_000 }, async () => {
    const { owner, line } = await startOwner<{ node: number }>('dies-at-spawn');
    const [, signal] = (await once(owner, 'exit')) as [number | null, NodeJS.Signals | null];
    const died = performance.now();
    expect(signal).toBe('SIGKILL'); // killed by the wrapper that was about to become its first worker
    const result = await waitRunGone(line.node, [], died);
    expect(result, `processes of the run still alive ${Math.round(result.ms)} ms after their owner was killed`).toMatchObject({ alive: [] });
  });
});
