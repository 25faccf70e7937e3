// The orphan sweeper: what a runtime killed by SIGKILL left behind, cleared at the next pool start. A process
// belongs to a run when its command line carries `--run-id <owner pid>.<random>` (workers and their sentinels)
// or its environment carries `DSPEX_RUN_ID=<run id>` (everything a command started, setsid'd daemons included).

import { readFileSync, readdirSync } from 'node:fs';

/** The environment variable every process a worker starts inherits (set by the Python worker at startup). */
const RUN_ID_ENV = 'DSPEX_RUN_ID';
/** Passes over /proc: a process that forks between our look and our kill leaves a child the next pass finds. */
const MAX_PASSES = 20;

function ownerAlive(ownerPid: number): boolean {
  if (ownerPid === process.pid) return true;
  try {
    process.kill(ownerPid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return ''; // exited while we looked, or another user's process
  }
}

const readNulList = (path: string): string[] => readText(path).split('\0');

/** A process of some run: its run id, and whether it is a worker (which leads its own process group). */
interface RunProcess {
  pid: number;
  runId: string;
  worker: boolean;
}

function runProcessOf(pid: number): RunProcess | undefined {
  const argv = readNulList(`/proc/${pid}/cmdline`);
  if (argv.includes('dspex_bridge.worker')) {
    const at = argv.indexOf('--run-id');
    if (at >= 0 && at + 1 < argv.length) return { pid, runId: argv[at + 1]!, worker: true };
  }
  const prefix = `${RUN_ID_ENV}=`;
  const marker = readNulList(`/proc/${pid}/environ`).find((entry) => entry.startsWith(prefix));
  return marker === undefined ? undefined : { pid, runId: marker.slice(prefix.length), worker: false };
}

/** Live (not zombie) processes of runs other than `currentRunId` whose owner is gone. */
function orphansOf(currentRunId: string, self: number): RunProcess[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const orphans: RunProcess[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (pid === self) continue;
    const found = runProcessOf(pid);
    if (found === undefined || found.runId === currentRunId) continue;
    const owner = /^(\d+)\./.exec(found.runId);
    if (owner === null || ownerAlive(Number(owner[1]))) continue;
    const stat = readText(`/proc/${pid}/stat`);
    const state = stat.charAt(stat.lastIndexOf(')') + 2); // `pid (comm) S ...`
    if (state === 'Z' || state === 'X' || state === '') continue;
    orphans.push(found);
  }
  return orphans;
}

/**
 * Kills every process of a run whose owner is gone (workers with their process group, and whatever a command
 * started, found by the DSPEX_RUN_ID marker); returns their pids. Linux (/proc) only; elsewhere it finds
 * nothing. It sees other users' processes only when running as root (their environment is private).
 */
export function sweepOrphans(currentRunId: string): number[] {
  const killed = new Set<number>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const found = orphansOf(currentRunId, process.pid).filter(({ pid }) => !killed.has(pid));
    if (found.length === 0) break;
    for (const { pid, worker } of found) {
      try {
        process.kill(worker ? -pid : pid, 'SIGKILL'); // a worker leads its own process group
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          continue;
        }
      }
      killed.add(pid);
    }
  }
  return [...killed];
}
