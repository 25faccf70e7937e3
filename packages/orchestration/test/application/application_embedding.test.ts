// Embedding DSPex in a service (issue 10, section 6): the application under the user's own supervisor (a crash
// inside it stays inside it; stopping the user's supervisor leaves no process, Python and model server
// included), and lazy pools (a program that never calls Python starts no Python process).

import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { findPython } from '@dspex/python-bridge';
import { GenServer, Supervisor, type Pid, type Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLM } from '@dspex/local-lm';
import { Predict } from 'dspex';
import { DSPex, DSPexNotRunning } from '../../src/index.js';
import { ScriptedServer, openaiReply } from '../../../dspex/test/clients/helpers.js';
import { quietRuntime } from '../../../dspex/test/evaluate_helpers.js';
import { servicesRequired } from '../../../dspex/test/support/dspy_reference.js';
import { localModelMissing } from '../../../local-lm/test/local_model.js';

const missing = localModelMissing();
const withModel = missing === null || servicesRequired();

/** The OS processes this test process's pools started (workers and their children): their run id (`<our pid>.<nanoid>`) in cmdline or environ. */
function pythonProcesses(): number[] {
  const marker = `${process.pid}.`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const read = (file: string): string[] => {
      try {
        return readFileSync(`/proc/${entry}/${file}`, 'utf8').split('\0');
      } catch {
        return []; // gone while we looked
      }
    };
    const argv = read('cmdline');
    const at = argv.indexOf('--run-id');
    const inArgv = at >= 0 && (argv[at + 1] ?? '').startsWith(marker);
    if (inArgv || read('environ').some((e) => e.startsWith(`DSPEX_RUN_ID=${marker}`))) found.push(Number(entry));
  }
  return found;
}

// Waits on pidfds (no polling) until every pid has ended, at most 5 s; prints the pids still alive.
const WAIT_GONE = `
import json, os, select, sys, time
fds = {}
for pid in map(int, sys.argv[1:]):
    try: fds[os.pidfd_open(pid)] = pid
    except ProcessLookupError: pass
alive, deadline = set(fds), time.monotonic() + 5
while alive and time.monotonic() < deadline:
    ready, _, _ = select.select(list(alive), [], [], max(0, deadline - time.monotonic()))
    alive -= set(ready)
print(json.dumps(sorted(fds[fd] for fd in alive)))
`;

/**
 * The processes of our pools still alive once each had its moment to end: a worker's sentinel outlives its
 * worker briefly on purpose (it kills what the worker left behind, then exits; python/README.md).
 */
async function pythonProcessesAfterExit(): Promise<number[]> {
  const pids = pythonProcesses();
  if (pids.length === 0) return [];
  const { stdout } = await promisify(execFile)(findPython(), ['-c', WAIT_GONE, ...pids.map(String)]);
  return JSON.parse(stdout) as number[];
}

function osAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ANSWER = '[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]';

let rt: Runtime;
let server: ScriptedServer;
beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  server.fallback = openaiReply(ANSWER);
});
afterEach(async () => {
  await rt.shutdown(10_000);
  await server.close();
});

describe('lazy pools', () => {
  it('DSPex.start and a native Predict call start no Python process; the first Python call starts one', async () => {
    const app = await DSPex.start(rt, { localModel: false, signatureEngine: false, lms: [{ name: 'main', model: 'openai/test-model', apiBase: server.url }] });
    expect(await app.tree()).toContain('pool:general');
    const prediction = await new Predict('question -> answer').call({ question: 'Capital of France?' }, { lm: await app.lm() });
    expect(prediction.answer).toBe('Paris');
    expect(pythonProcesses()).toEqual([]);

    // The scan does see workers (and what they start): the first call to the general pool starts one.
    const info = await app.pools.general!.call<{ pid: number }>('info');
    expect(pythonProcesses()).toContain(info.pid);
    await app.stop();
    expect(await pythonProcessesAfterExit()).toEqual([]);
  });
});

describe('DSPex.childSpec', () => {
  it.skipIf(!withModel)(
    'runs under the user supervisor: a killed model server and Python worker are contained, and a stop leaves no process',
    async () => {
      if (missing !== null) throw new Error(`The embedded model is required here (CI or DSPEX_REQUIRE_SERVICES is set): ${missing}`);
      const { spec, app } = DSPex.childSpec(rt, { localModel: { gpu: false, threads: 1 }, pools: { general: { size: 1 }, optimizer: false, neural: false }, signatureEngine: false });
      expect(() => app.supervisor).toThrow(DSPexNotRunning);
      // A sibling of the user's own, to show a crash inside DSPex does not reach it.
      const sibling = { id: 'UserService', start: (parent: Parameters<typeof spec.start>[0]) => GenServer.startLink(parent, { init: () => ({ ok: 0 }), handleCall: (_r: unknown, _f: unknown, s: number) => ({ reply: s, state: s }) }, undefined, { name: 'user.service' }) };
      const started = await Supervisor.start(rt, { strategy: 'one_for_one', children: [sibling, spec] }, { name: 'user.root' });
      if (!('ok' in started)) throw new Error(JSON.stringify(started));
      const userRoot = started.ok;
      const userService = rt.whereis('user.service')!;
      const dspexSupervisor = app.supervisor;
      expect((await Supervisor.whichChildren(rt, userRoot)).map((c) => c.id)).toEqual(['UserService', 'DSPex']);

      const ask = async (): Promise<string> => {
        const lm = await app.lm();
        const response = await lm.call({ messages: [{ role: 'user', content: 'Say hi.' }], config: { max_tokens: 2, temperature: 0, cache: false } });
        return response.outputs[0]!.text;
      };
      expect((await ask()).length).toBeGreaterThan(0);
      const model = await LocalLM.info(rt);
      const worker = await app.pools.general!.call<{ pid: number }>('info');
      expect(pythonProcesses()).toContain(worker.pid);

      // Kill the model server's OS process: LocalLM restarts on a new port, and the `local` client follows it.
      const restarted = new Promise<void>((resolve) => {
        const onRestart = (event: { childId: unknown }): void => {
          if (event.childId !== 'LocalLM') return;
          rt.telemetry.off('restart', onRestart);
          resolve();
        };
        rt.telemetry.on('restart', onRestart);
      });
      process.kill(model.osPid, 'SIGKILL');
      await restarted;
      const again = await LocalLM.info(rt);
      expect(again.osPid).not.toBe(model.osPid);
      expect((await ask()).length).toBeGreaterThan(0);

      // Kill the Python worker: the pool replaces it, nothing above the pool restarts.
      const workerRestarted = new Promise<void>((resolve) => {
        const onRestart = (event: { childId: unknown }): void => {
          if (event.childId !== 'worker-0') return;
          rt.telemetry.off('restart', onRestart);
          resolve();
        };
        rt.telemetry.on('restart', onRestart);
      });
      process.kill(worker.pid, 'SIGKILL');
      await workerRestarted;
      const replacement = await app.pools.general!.call<{ pid: number }>('info');
      expect(replacement.pid).not.toBe(worker.pid);

      expect(app.supervisor).toBe(dspexSupervisor);
      expect(rt.whereis('user.service')).toBe(userService as Pid);

      await Supervisor.stop(rt, userRoot, 'shutdown');
      expect(rt.processCount).toBe(0);
      expect(await pythonProcessesAfterExit()).toEqual([]);
      for (const pid of [model.osPid, again.osPid, worker.pid, replacement.pid]) expect(osAlive(pid)).toBe(false);
      expect(() => app.supervisor).toThrow(DSPexNotRunning);
    },
    120_000,
  );
});
