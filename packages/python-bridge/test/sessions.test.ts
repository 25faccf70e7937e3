// Sessions: calls pinned to one worker so the Python objects they create stay reachable; what each affinity
// does when that worker is busy; what happens when it dies; and how a session's objects are freed.

import { describe, expect, it } from 'vitest';
import { CallCancelled, PythonException, SessionWorkerLost, WorkerBusy, type PythonPool, type Session } from '../src/index.js';
import { collectEvents, fixturePython, nextEvent, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

interface Who {
  pid: number;
  session: string | null;
}

const pidOf = async (caller: PythonPool | Session): Promise<number> => (await caller.call<Who>('whoami')).pid;

/** Occupies the session's worker with a `hold` call, stopped with the returned function. */
function occupy(session: Session, tag: string): { call: Promise<unknown>; stop: () => Promise<void> } {
  const controller = new AbortController();
  const call = session.call('hold', { tag }, { signal: controller.signal });
  return {
    call,
    stop: async () => {
      controller.abort();
      expect(await rejectionOf(call)).toBeInstanceOf(CallCancelled);
    },
  };
}

describe('pinning', () => {
  it('keeps every call of a session on one worker, and spreads new sessions over the workers', async () => {
    const pool = await bridge.pool({ name: 'pin', size: 2, python: fixturePython() });
    const sessions = [pool.session('s1'), pool.session('s2'), pool.session('s3'), pool.session('s4')];
    const pinned: number[] = [];
    for (const session of sessions) pinned.push(await pidOf(session));
    expect(new Set(pinned).size).toBe(2);
    expect(pinned.filter((pid) => pid === pinned[0])).toHaveLength(2);
    // Many concurrent calls per session, interleaved: each answers from its session's worker, in its session.
    const answers = await Promise.all(sessions.flatMap((session) => Array.from({ length: 5 }, () => session.call<Who>('whoami'))));
    expect(answers.map((a) => a.pid)).toEqual(pinned.flatMap((pid) => Array(5).fill(pid)));
    expect(answers.map((a) => a.session)).toEqual(sessions.flatMap((s) => Array(5).fill(s.id)));
  });

  it('hint: runs on another worker while the pinned one is busy, and stays pinned', async () => {
    const pool = await bridge.pool({ name: 'hint', size: 2, callsPerWorker: 1, python: fixturePython() });
    const session = pool.session('h');
    expect(session.affinity).toBe('hint');
    const home = await pidOf(session);
    const busy = occupy(session, 'hint');
    const elsewhere = await pidOf(session);
    expect(elsewhere).not.toBe(home);
    await busy.stop();
    expect(await pidOf(session)).toBe(home);
  });

  it('strict_queue: waits for the pinned worker, without holding up calls that can run elsewhere', async () => {
    const pool = await bridge.pool({ name: 'strictq', size: 2, callsPerWorker: 1, python: fixturePython() });
    const session = pool.session('q', { affinity: 'strict_queue' });
    const home = await pidOf(session);
    const busy = occupy(session, 'strictq');
    const waiting = session.call<Who>('whoami', { n: 1 });
    expect((await pool.stats()).queued).toBe(1);
    // A call with no session goes to the free worker at once, though the session's call waits ahead of it.
    expect(await pidOf(pool)).not.toBe(home);
    expect((await pool.stats()).queued).toBe(1);
    await busy.stop();
    expect((await waiting).pid).toBe(home);
  });

  it('strict_fail_fast: refuses with WorkerBusy while the pinned worker is busy', async () => {
    const pool = await bridge.pool({ name: 'failfast', size: 2, callsPerWorker: 1, python: fixturePython() });
    const session = pool.session('f', { affinity: 'strict_fail_fast' });
    const home = await pidOf(session);
    const busy = occupy(session, 'failfast');
    const error = await rejectionOf(session.call('whoami'));
    expect(error).toBeInstanceOf(WorkerBusy);
    expect(error).toMatchObject({ code: 'DSPEX_WORKER_BUSY', session: 'f', retryable: true });
    await busy.stop();
    expect(await pidOf(session)).toBe(home);
  });
});

describe('losing the worker', () => {
  it('fails calls with SessionWorkerLost after the pinned worker died, until rebuild() pins a live one', async () => {
    const pool = await bridge.pool({ name: 'lost', size: 2, python: fixturePython() });
    const session = pool.session('doomed');
    const { handle } = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
    const home = await pidOf(session);
    const exited = nextEvent(pool, 'worker_exit');
    const restarted = nextEvent(pool, 'worker_start');
    process.kill(home, 'SIGKILL');
    const { worker } = await exited;
    await restarted;

    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejectionOf(session.call('get_attr', { handle, name: 'demos' }));
      expect(error).toBeInstanceOf(SessionWorkerLost);
      expect(error).toMatchObject({ code: 'DSPEX_SESSION_WORKER_LOST', session: 'doomed', worker });
    }
    // Other sessions and plain calls are not affected.
    expect(await pidOf(pool.session('bystander'))).not.toBe(home);

    await session.rebuild();
    const newHome = await pidOf(session);
    expect(newHome).not.toBe(home);
    expect((await pool.stats()).workerOsPids).toContain(newHome);
    const gone = await rejectionOf(session.call('get_attr', { handle, name: 'demos' }));
    expect((gone as PythonException).pythonType).toBe('UnknownHandle');
    expect(await pidOf(session)).toBe(newHome);
  });
});

describe('freeing a session', () => {
  it('expires an idle session after sessionTtlMs and frees its Python objects', async () => {
    const pool = await bridge.pool({ name: 'ttl', size: 1, sessionTtlMs: 200, python: fixturePython() });
    const session = pool.session('idle');
    const { handle } = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
    expect(await session.call('get_attr', { handle, name: 'demos' })).toEqual([]);
    const expired = nextEvent(pool, 'session_expired', (e) => e.session === 'idle');
    const closed = nextEvent(pool, 'session_closed', (e) => e.session === 'idle');
    await expired;
    expect((await closed).objects).toBe(1);
    const error = await rejectionOf(session.call('get_attr', { handle, name: 'demos' }));
    expect(error).toBeInstanceOf(PythonException);
    expect((error as PythonException).pythonType).toBe('UnknownHandle');
  });

  it('never expires a session while one of its calls runs', async () => {
    const pool = await bridge.pool({ name: 'ttlbusy', size: 1, sessionTtlMs: 200, python: fixturePython() });
    const busy = pool.session('busy');
    const { handle } = await busy.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
    const expiries = collectEvents(pool, 'session_expired');
    const running = busy.call('hold', { tag: 'long' });
    // Used after `busy`, so it expires no earlier: once it has, `busy` would have too, but for its call.
    const idle = pool.session('idle');
    await pidOf(idle);
    await nextEvent(pool, 'session_expired', (e) => e.session === 'idle');
    expect(expiries.map((e) => e.session)).toEqual(['idle']);
    await busy.call('release', { tag: 'long' });
    await running;
    expect(await busy.call('get_attr', { handle, name: 'demos' })).toEqual([]);
  });

  it('close() frees the Python objects and the Node tools of the session', async () => {
    const pool = await bridge.pool({ name: 'close', size: 1, python: fixturePython() });
    const session = pool.session('closing');
    session.registerTool('echo', (args) => args);
    expect(await session.call('ask_tool', { name: 'echo', args: { x: 1 } })).toEqual({ x: 1 });
    const created = await Promise.all([1, 2].map(() => session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['q -> a'] })));
    const closed = nextEvent(pool, 'session_closed', (e) => e.session === 'closing');
    await session.close();
    expect((await closed).objects).toBe(2);
    // The closed Session takes no more calls; a new one with the same id starts empty.
    const reopened = pool.session('closing');
    const gone = await rejectionOf(reopened.call('get_attr', { handle: created[0]!.handle, name: 'demos' }));
    expect((gone as PythonException).pythonType).toBe('UnknownHandle');
    const noTool = await rejectionOf(reopened.call('ask_tool', { name: 'echo', args: {} }));
    expect((noTool as PythonException).pythonType).toBe('CallbackError');
    expect((noTool as PythonException).pythonMessage).toContain('UnknownTool');
  });
});
