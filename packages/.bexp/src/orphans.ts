// The orphan sweeper: Python workers carry `--run-id <owner pid>.<random>` on their command line. At pool
// start, any dspex_bridge worker whose owner process is gone was left by a runtime that crashed (SIGKILL
// cannot be caught): its whole process group is killed.

import { readFileSync, readdirSync } from 'node:fs';

function ownerAlive(ownerPid: number): boolean {
  if (ownerPid === process.pid) return true;
  try {
    process.kill(ownerPid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills workers of dead owners; returns their pids. Linux (/proc) only; elsewhere it finds nothing. */
export function sweepOrphans(currentRunId: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked
    }
    if (!argv.includes('dspex_bridge.worker')) continue;
    const runId = argv[argv.indexOf('--run-id') + 1];
    if (runId === undefined || runId === currentRunId) continue;
    const owner = Number(runId.split('.')[0]);
    if (!Number.isInteger(owner) || ownerAlive(owner)) continue;
    const pid = Number(entry);
    try {
      process.kill(-pid, 'SIGKILL'); // workers lead their own process group
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        continue;
      }
    }
    killed.push(pid);
  }
  return killed;
}
