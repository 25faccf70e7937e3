// A pool whose configuration is wrong refuses to start, with WorkerStartupFailed naming the setting and saying what to
// do, instead of serving and failing later (a grant typo failed every create) or restarting a worker that cannot start
// (a broken python.commands module respawned Python forever while callers got QueueTimeout). Every case runs real
// Python with queue and start timeouts far beyond the test's: a timeout cannot be what ends a call. Python processes
// are counted from the runtime's spawn telemetry (bridge.pythonPids): at most one per worker slot, none left.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor, type Pid } from '@dspex/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeConfigError, PythonPools, WorkerStartupFailed, findPython, type PoolOptions } from '../src/index.js';
import { nextEvent, osAlive, pythonPath, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

// Written at test time: a module with a syntax error must not sit in the source tree for linters to trip on.
const dir = mkdtempSync(join(tmpdir(), 'dspex-startup-'));
const modules = join(dir, 'modules');
const saveDir = join(dir, 'saved');
writeModules();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeModules(): void {
  mkdirSync(modules, { recursive: true });
  mkdirSync(saveDir, { recursive: true });
  const files: Record<string, string> = {
    'dspex_broken_raises.py': "def helper():\n    raise RuntimeError('broken on purpose')\n\nhelper()\n",
    'dspex_broken_syntax.py': 'def f(:\n    pass\n',
    'dspex_broken_not_a_function.py': "from dspex_bridge import command\ncommand('five')(5)\n",
    'dspex_no_commands.py': 'VALUE = 1\n',
    'dspex_cfg_classes.py': 'class Scorer:\n    def __init__(self, k=1):\n        self.k = k\n',
    'dspex_cfg_commands.py': "from dspex_bridge import command\n\n@command('cfg_ping')\ndef cfg_ping():\n    return 'pong'\n",
  };
  for (const [name, source] of Object.entries(files)) writeFileSync(join(modules, name), source);
  // A Python without the bridge: isolated (-I) from PYTHONPATH and without site-packages (-S).
  writeFileSync(join(dir, 'bare-python'), `#!/bin/sh\nexec '${findPython()}' -I -S "$@"\n`);
  chmodSync(join(dir, 'bare-python'), 0o755);
}

/** Python options with the test modules importable; far-off timeouts are in `pool`. */
function python(extra: NonNullable<PoolOptions['python']> = {}): NonNullable<PoolOptions['python']> {
  return { ...extra, env: { PYTHONPATH: pythonPath(modules), ...extra.env } };
}

/** Options for a pool in these tests: waits for a queue or a start can never end a call before the test's timeout. */
function pool(name: string, extra: Partial<PoolOptions>): PoolOptions {
  return { name, size: 2, queueTimeoutMs: 600_000, startTimeoutMs: 600_000, ...extra };
}

interface Case {
  title: string;
  python: NonNullable<PoolOptions['python']>;
  setting: string;
  entry?: string;
  /** Words the message must hold: the problem, and what to do. */
  says: string[];
  /** Python processes spawned at most (0 when the spawn itself is refused). */
  spawns?: number;
}

const CASES: Case[] = [
  {
    title: 'a python.grant entry naming a class that does not import',
    python: python({ grant: { 'dspex_cfg_classes.Scorrer': { construct: ['k'] } } }),
    setting: 'python.grant',
    entry: 'dspex_cfg_classes.Scorrer',
    says: ["python.grant names 'dspex_cfg_classes.Scorrer', which is not a class the workers can import", "has no attribute 'Scorrer'", 'remove it from python.grant'],
  },
  {
    title: 'a python.grant entry of the wrong shape',
    python: python({ grant: { 'dspex_cfg_classes.Scorer': { construct: { k: 'anything' } } } }),
    setting: 'python.grant',
    says: ["unknown kind 'anything'"],
  },
  {
    title: 'a python.allow pattern naming a class that does not import',
    python: python({ allow: ['dspex_cfg_classes.Scorer', 'dspex_cfg_classes.Scorrer'] }),
    setting: 'python.allow',
    entry: 'dspex_cfg_classes.Scorrer',
    says: ["python.allow names 'dspex_cfg_classes.Scorrer', which is no class the workers can import", 'remove it from python.allow'],
  },
  {
    title: 'a python.allow glob after a module that does not import',
    python: python({ allow: ['dspex_cfg_clases.*'] }),
    setting: 'python.allow',
    entry: 'dspex_cfg_clases.*',
    says: ["starts with 'dspex_cfg_clases', which the workers cannot import"],
  },
  {
    title: 'a python.commands module that raises on import',
    python: python({ commands: ['dspex_broken_raises'] }),
    setting: 'python.commands',
    entry: 'dspex_broken_raises',
    says: ["python.commands module 'dspex_broken_raises' failed to import: RuntimeError: broken on purpose", 'fix the module or remove it from python.commands'],
  },
  {
    title: 'a python.commands module with a syntax error',
    python: python({ commands: ['dspex_broken_syntax'] }),
    setting: 'python.commands',
    entry: 'dspex_broken_syntax',
    says: ['SyntaxError: invalid syntax'],
  },
  {
    title: 'a python.commands module that does not exist',
    python: python({ commands: ['dspex_broken_missing'] }),
    setting: 'python.commands',
    entry: 'dspex_broken_missing',
    says: ["No module named 'dspex_broken_missing'"],
  },
  {
    title: 'a python.commands module registering something that is not a function',
    python: python({ commands: ['dspex_broken_not_a_function'] }),
    setting: 'python.commands',
    entry: 'dspex_broken_not_a_function',
    says: ['@command decorates a function, not 5'],
  },
  {
    title: 'a python.commands module that defines no command',
    python: python({ commands: ['dspex_no_commands'] }),
    setting: 'python.commands',
    entry: 'dspex_no_commands',
    says: ["python.commands module 'dspex_no_commands' imported, but defines no command"],
  },
  {
    title: 'a python.saveDir that does not exist',
    python: python({ saveDir: join(dir, 'no-such-dir') }),
    setting: 'python.saveDir',
    entry: join(dir, 'no-such-dir'),
    says: ['does not exist', 'create the directory'],
  },
  {
    title: 'python.allowPickle without python.saveDir',
    python: python({ allowPickle: true }),
    setting: 'python.allowPickle',
    says: ['python.saveDir is not'],
  },
  {
    title: 'a python.executable that does not exist',
    python: python({ executable: join(dir, 'no-such-python') }),
    setting: 'python.executable',
    entry: join(dir, 'no-such-python'),
    says: ['does not exist', 'point python.executable (or $DSPEX_PYTHON) at a Python'],
    spawns: 0,
  },
  {
    title: 'a python.executable without dspex_bridge',
    python: python({ executable: join(dir, 'bare-python') }),
    setting: 'python.executable',
    entry: join(dir, 'bare-python'),
    says: ['has no dspex_bridge installed', "No module named 'dspex_bridge'"],
  },
  {
    title: 'a python.executable that is not Python',
    python: python({ executable: '/bin/false' }),
    setting: 'python.executable',
    says: ['exited with code 1 before it was ready'],
  },
  {
    title: 'a python.cwd that does not exist',
    python: python({ cwd: join(dir, 'no-such-cwd') }),
    setting: 'python.cwd',
    says: ['does not exist', 'point python.cwd at an existing directory'],
    spawns: 0,
  },
];

/** Resolves with the `restart` events of `pool`'s worker slots until `count` of them left a slot idle (pid null). */
function idleRestarts(count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const listener = ({ childId, pid }: { childId: unknown; pid: Pid | null }): void => {
      if (typeof childId !== 'string' || !childId.startsWith('worker-') || pid !== null) return;
      if (++seen < count) return;
      bridge.rt.telemetry.off('restart', listener);
      resolve();
    };
    bridge.rt.telemetry.on('restart', listener);
  });
}

describe('an eager pool whose configuration is wrong', () => {
  for (const { title, python: pythonOptions, setting, entry, says, spawns } of CASES) {
    it(`refuses to start: ${title}`, async () => {
      const error = await rejectionOf(PythonPools.start(bridge.rt, pool('wrong', { python: pythonOptions })));
      expect(error).toBeInstanceOf(WorkerStartupFailed);
      const failure = error as WorkerStartupFailed;
      expect([failure.code, failure.setting, failure.pool]).toEqual(['DSPEX_WORKER_STARTUP_FAILED', setting, 'wrong']);
      if (entry !== undefined) expect(failure.entry).toBe(entry);
      for (const words of says) expect(failure.message).toContain(words);
      expect(failure.message).toContain('then start the pool again');
      // Nothing is left, at most one Python per slot was started, and the name is free again.
      expect([...bridge.pythonPids].filter(osAlive)).toEqual([]);
      expect(bridge.pythonPids.size).toBeLessThanOrEqual(spawns ?? 2);
      expect(PythonPools.lookup(bridge.rt, 'wrong')).toBeUndefined();
    });
  }

  it("carries Python's exception and traceback for a module that raised, and reports it in telemetry", async () => {
    const failing = PythonPools.start(bridge.rt, pool('traced', { size: 1, python: python({ commands: ['dspex_broken_raises'] }) }));
    const failure = (await rejectionOf(failing)) as WorkerStartupFailed;
    expect([failure.module, failure.pythonType, failure.pythonMessage]).toEqual(['dspex_broken_raises', 'RuntimeError', 'broken on purpose']);
    expect(failure.traceback).toContain('Traceback (most recent call last)');
    expect(failure.traceback).toContain('helper()'); // the frames inside the module, not only the importer's
    expect(failure.problem).toBe("python.commands module 'dspex_broken_raises' failed to import: RuntimeError: broken on purpose");
  });

  it('starts under the same name once the configuration is fixed', async () => {
    const wrong = { grant: { 'dspex_cfg_classes.Scorrer': { construct: ['k'] } } } as const;
    expect(await rejectionOf(PythonPools.start(bridge.rt, pool('fixed', { size: 1, python: python(wrong) })))).toBeInstanceOf(WorkerStartupFailed);
    const fixed = await PythonPools.start(bridge.rt, pool('fixed', { size: 1, python: python({ grant: { 'dspex_cfg_classes.Scorer': { construct: ['k'] } } }) }));
    const made = await fixed.session('s').call<{ class: string }>('create', { class: 'dspex_cfg_classes.Scorer', kwargs: { k: 2 } });
    expect(made.class).toBe('dspex_cfg_classes.Scorer');
  });
});

describe('a lazy pool whose configuration is wrong', () => {
  it('gives the call that starts the first worker the error, every later call at once, and starts no Python again', async () => {
    const lazy = await PythonPools.start(bridge.rt, pool('lazy-wrong', { start: 'lazy', python: python({ grant: { 'dspex_cfg_classes.Scorrer': {} } }) }));
    const supervisor = lazy.supervisor;
    const reported = nextEvent(lazy, 'worker_startup_failed');
    const slotIdle = idleRestarts(1);
    const first = await rejectionOf(lazy.call('ping', {}));
    expect(first).toBeInstanceOf(WorkerStartupFailed);
    expect((first as WorkerStartupFailed).setting).toBe('python.grant');
    const event = await reported;
    expect([event.setting, event.entry]).toEqual(['python.grant', 'dspex_cfg_classes.Scorrer']);
    await slotIdle; // the failed worker's slot was restarted into idle: no Python
    // The pool stays up, misconfigured: each call fails at once with the same error, and nothing restarts.
    for (const session of [null, 's']) {
      const error = await rejectionOf(session === null ? lazy.call('ping', {}) : lazy.session(session).call('ping', {}));
      expect(error).toBe(first);
    }
    expect(lazy.supervisor).toBe(supervisor);
    expect((await lazy.stats()).workers).toBe(0);
    expect(bridge.pythonPids.size).toBe(1);
    expect([...bridge.pythonPids].filter(osAlive)).toEqual([]);
    // Stopped, the name is free: the fixed pool starts.
    await lazy.stop();
    const fixed = await PythonPools.start(bridge.rt, pool('lazy-wrong', { start: 'lazy', python: python({ commands: ['dspex_cfg_commands'] }) }));
    expect(await fixed.call('cfg_ping', {})).toBe('pong');
  });

  it('in a tree of your own: the pool fails its calls and the tree restarts nothing', async () => {
    const { spec, pool: inTree } = PythonPools.childSpec(bridge.rt, pool('in-tree', { start: 'lazy', python: python({ commands: ['dspex_broken_syntax'] }) }));
    const restarts: unknown[] = [];
    bridge.rt.telemetry.on('restart', ({ childId }) => restarts.push(childId));
    const started = await Supervisor.start(bridge.rt, { strategy: 'one_for_one', children: [spec] });
    expect('ok' in started).toBe(true);
    const supervisor = inTree.supervisor;
    const slotIdle = idleRestarts(1);
    expect(((await rejectionOf(inTree.call('ping', {}))) as WorkerStartupFailed).setting).toBe('python.commands');
    await slotIdle;
    expect(await rejectionOf(inTree.call('ping', {}))).toBeInstanceOf(WorkerStartupFailed);
    // Only the failed worker's slot was restarted (into idle); the pool's subtree, and the tree, stayed as they were.
    expect(restarts).toEqual(['worker-0']);
    expect(inTree.supervisor).toBe(supervisor);
    expect(bridge.pythonPids.size).toBe(1);
  });
});

describe('a valid configuration', () => {
  it('starts and serves with every setting the workers check', async () => {
    const ok = await PythonPools.start(
      bridge.rt,
      pool('valid', {
        size: 1,
        python: python({
          commands: ['dspex_cfg_commands'],
          allow: ['dspex_cfg_classes.*', 'dspy.Predict'],
          grant: { 'dspex_cfg_classes.Scorer': { construct: ['k'] } },
          saveDir,
          allowPickle: true,
          cwd: dir,
          executable: findPython(), // found from the test's directory: from `cwd` (a temporary one) there is no .venv
        }),
      }),
    );
    expect((await ok.stats()).ready).toBe(1); // an eager pool's start resolves once a worker is ready
    expect(await ok.call('cfg_ping', {})).toBe('pong');
    const made = await ok.session('s').call<{ class: string }>('create', { class: 'dspex_cfg_classes.Scorer', kwargs: { k: 3 } });
    expect(made.class).toBe('dspex_cfg_classes.Scorer');
  });
});

describe('options of the wrong type or name', () => {
  const WRONG: Array<[string, Record<string, unknown>, string, string]> = [
    ['a misspelt python option', { python: { comands: ['x'] } }, 'python.comands', 'python.comands is not a pool option'],
    ['a misspelt pool option', { queueTimeout: 5 }, 'queueTimeout', 'queueTimeout is not a pool option'],
    ['a misspelt recycle option', { recycle: { maxRss: 5 } }, 'recycle.maxRss', 'recycle.maxRss is not a pool option'],
    ['commands as a string', { python: { commands: 'mypkg.commands' } }, 'python.commands', 'must be an array of Python module names'],
    ['a command module name with a comma', { python: { commands: ['a,b'] } }, 'python.commands', '"a,b" is not one'],
    ['allow as a string', { python: { allow: 'dspy.*' } }, 'python.allow', 'must be an array of class path patterns'],
    ['a grant entry that is not an object', { python: { grant: { 'mypkg.Scorer': true } } }, 'python.grant', "python.grant['mypkg.Scorer'] must be an entry object"],
    ['an env value that is not a string', { python: { env: { THREADS: 4 } } }, 'python.env', 'python.env.THREADS must be a string'],
    ['allowPickle that is not a boolean', { python: { allowPickle: 'yes' } }, 'python.allowPickle', 'must be true or false'],
    ['an empty executable', { python: { executable: '' } }, 'python.executable', 'must be a non-empty string'],
    ['devices of the wrong type', { devices: [0, 1] }, 'devices', "must be 'none', 'auto' or an array of device ids"],
  ];
  for (const [title, options, setting, says] of WRONG) {
    it(`are refused before any Python starts: ${title}`, async () => {
      const error = await rejectionOf(PythonPools.start(bridge.rt, { name: 'typed', ...options } as unknown as PoolOptions));
      expect(error).toBeInstanceOf(BridgeConfigError);
      expect([(error as BridgeConfigError).code, (error as BridgeConfigError).setting]).toEqual(['DSPEX_BRIDGE_CONFIG', setting]);
      expect(error.message).toContain(says);
      expect(bridge.pythonPids.size).toBe(0);
    });
  }
});
