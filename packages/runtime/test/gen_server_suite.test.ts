// Ports of OTP's lib/stdlib/test/gen_server_SUITE.erl, one test per OTP case and named after it, plus the
// GenServer contract cases OTP covers elsewhere (deferred reply, call timeouts, noproc, init results,
// terminate, handle_continue, the gen_server timeout). `Suite` below plays the suite's callback module.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallExitError, CallTimeoutError, NoProcError } from '../src/errors.js';
import { BadReturnError, From, GenServer, type CallResult, type GenServerBehavior, type InitResult, type NoReplyResult } from '../src/gen_server.js';
import type { Pid, ProcessContext } from '../src/process.js';
import { Exit, shutdownWith, type ExitReason } from '../src/reasons.js';
import type { Runtime } from '../src/runtime.js';
import { okPid, recordEvents, silentRuntime, testProcess } from './helpers.js';

// --- The tested gen_server behaviour (gen_server_SUITE's own callbacks) ---

/** A message to or from the suite server: who sent it, what it is about, and an optional timeout. */
interface Note {
  from: Pid;
  tag: string;
  ms?: number;
}
const note = (from: Pid, tag: string, ms?: number): Note => (ms === undefined ? { from, tag } : { from, tag, ms });
const isNote = (m: unknown, from: Pid, tag: string): boolean => typeof m === 'object' && m !== null && (m as Note).from === from && (m as Note).tag === tag;

type State =
  | unknown[]
  | 'call_within'
  | { replyTo: From<unknown> }
  | { delayedCast: Pid }
  | { delayedInfo: Pid }
  | { state: unknown };

type InitArg = [] | 'ignore' | 'stop' | 'sleep' | { state: unknown };

const Suite: GenServerBehavior<State, InitArg, unknown, unknown, unknown> = {
  init(arg): InitResult<State> | Promise<InitResult<State>> {
    if (Array.isArray(arg)) return { ok: [] };
    if (arg === 'ignore') return { ignore: true };
    if (arg === 'stop') return { stop: 'stopped' };
    if (arg === 'sleep') return new Promise(() => {}); // an init that never returns
    return { ok: arg.state as State };
  },

  handleCall(request, from, state, self): CallResult<State, unknown> {
    const r = request as string | { delayed_answer: number } | { call_within: number };
    if (r === 'started_p') return { reply: 'ok', state };
    if (typeof r === 'object' && 'delayed_answer' in r) return { noreply: true, state: { replyTo: from }, timeout: r.delayed_answer };
    if (typeof r === 'object' && 'call_within' in r) return { reply: 'ok', state: 'call_within', timeout: r.call_within };
    if (r === 'next_call') return state === 'call_within' ? { reply: 'ok', state: [] } : { reply: false, state };
    if (r === 'badreturn') return 'badreturn' as unknown as CallResult<State, unknown>;
    if (r === 'stop') return { stop: 'stopped', reply: 'ok', state };
    if (r === 'crash') throw new Error('crashed');
    if (r === 'exit_shutdown') self.exit('shutdown');
    if (r === 'stop_shutdown') return { stop: 'shutdown', state };
    if (r === 'shutdown_reason') self.exit(shutdownWith('reason'));
    if (r === 'stop_shutdown_reason') return { stop: shutdownWith('stop_reason'), state };
    return { reply: r, state };
  },

  handleCast(message, state, self): NoReplyResult<State> {
    const m = message as Note;
    if (m.tag === 'handle_cast') self.send(m.from, note(self.pid, 'handled_cast'));
    if (m.tag === 'delayed_cast') return { noreply: true, state: { delayedCast: m.from }, timeout: m.ms! };
    if (m.tag === 'stop') return { stop: note(m.from, 'stopped'), state };
    return { noreply: true, state };
  },

  handleInfo(info, state, self): NoReplyResult<State> {
    if (info === 'timeout' && typeof state === 'object' && state !== null && !Array.isArray(state)) {
      if ('replyTo' in state) GenServer.reply(state.replyTo, 'delayed');
      if ('delayedCast' in state) self.send(state.delayedCast, note(self.pid, 'delayed'));
      if ('delayedInfo' in state) self.send(state.delayedInfo, note(self.pid, 'delayed_info'));
      return { noreply: true, state: [] };
    }
    if (info === 'timeout' && state === 'call_within') return { noreply: true, state: [] };
    const m = info as Note;
    if (m.tag === 'handle_info') self.send(m.from, note(self.pid, 'handled_info'));
    if (m.tag === 'delayed_info') return { noreply: true, state: { delayedInfo: m.from }, timeout: m.ms! };
    if (m.tag === 'stop') return { stop: note(m.from, 'stopped_info'), state };
    return { noreply: true, state };
  },

  terminate(reason, _state, self) {
    const r = reason as Partial<Note>;
    if (r.from !== undefined && (r.tag === 'stopped' || r.tag === 'stopped_info')) self.send(r.from, note(self.pid, r.tag));
  },
};

/** Fake only the timers: the scheduler keeps running on real setImmediate. */
const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

/** Lets every runnable process run (so the timers they set exist), then moves the fake clock. */
async function advance(rt: Runtime, ms: number): Promise<void> {
  await rt.whenIdle();
  vi.advanceTimersByTime(ms);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('gen_server_SUITE', () => {
  it('start', async () => {
    const rt = silentRuntime();
    const tp = await testProcess(rt);

    // anonymous
    const pid0 = okPid(await GenServer.start(rt, Suite, []));
    expect(await GenServer.call(rt, pid0, 'started_p')).toBe('ok');
    expect(await GenServer.call(rt, pid0, 'stop')).toBe('ok');
    await tp.down(pid0);
    await expect(GenServer.call(rt, pid0, 'started_p', 1)).rejects.toBeInstanceOf(NoProcError);

    // anonymous with timeout
    const pid00 = okPid(await GenServer.start(rt, Suite, [], { timeout: 1000 }));
    expect(await GenServer.call(rt, pid00, 'started_p')).toBe('ok');
    expect(await GenServer.call(rt, pid00, 'stop')).toBe('ok');
    fakeTimers();
    const sleeping = GenServer.start(rt, Suite, 'sleep', { timeout: 100 });
    vi.advanceTimersByTime(100);
    expect(await sleeping).toEqual({ error: 'timeout' });
    vi.useRealTimers();

    // anonymous with ignore, anonymous with stop
    expect(await GenServer.start(rt, Suite, 'ignore')).toEqual({ ignore: true });
    expect(await GenServer.start(rt, Suite, 'stop')).toEqual({ error: 'stopped' });

    // anonymous linked
    const pid1 = okPid(await GenServer.startLink(tp.self, Suite, []));
    expect(await GenServer.call(rt, pid1, 'started_p')).toBe('ok');
    expect(await GenServer.call(rt, pid1, 'stop')).toBe('ok');
    expect(await tp.exitOf(pid1)).toBe('stopped');

    // local register
    const pid2 = okPid(await GenServer.start(rt, Suite, [], { name: 'my_test_name' }));
    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');
    expect(await GenServer.start(rt, Suite, [], { name: 'my_test_name' })).toEqual({ error: { alreadyStarted: pid2 } });
    expect(await GenServer.call(rt, 'my_test_name', 'stop')).toBe('ok');
    await tp.down(pid2);
    await expect(GenServer.call(rt, pid2, 'started_p', 10)).rejects.toBeInstanceOf(NoProcError);

    // local register linked
    const pid3 = okPid(await GenServer.startLink(tp.self, Suite, [], { name: 'my_test_name' }));
    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');
    expect(await GenServer.start(rt, Suite, [], { name: 'my_test_name' })).toEqual({ error: { alreadyStarted: pid3 } });
    expect(await GenServer.call(rt, 'my_test_name', 'stop')).toBe('ok');
    expect(await tp.exitOf(pid3)).toBe('stopped');

    // Nothing else reached the test process (OTP: receive Msg -> ct:fail({unexpected,Msg})).
    await tp.sync();
    expect(tp.held()).toEqual([]);
  });

  // OTP's stop1..stop4 (the remote-node variants have no counterpart here).
  it('stop', async () => {
    const rt = silentRuntime();
    const pid = okPid(await GenServer.start(rt, Suite, []));
    await GenServer.stop(rt, pid);
    expect(rt.isAlive(pid)).toBe(false);
    await expect(GenServer.stop(rt, pid)).rejects.toBeInstanceOf(NoProcError);

    const other = okPid(await GenServer.start(rt, Suite, []));
    await GenServer.stop(rt, other, 'other_reason', Infinity);
    expect(rt.isAlive(other)).toBe(false);

    const named = okPid(await GenServer.start(rt, Suite, [], { name: 'to_stop' }));
    await GenServer.stop(rt, 'to_stop');
    expect(rt.isAlive(named)).toBe(false);
    await expect(GenServer.stop(rt, 'to_stop')).rejects.toMatchObject({ code: 'DSPEX_NOPROC' });
  });

  it('crash', async () => {
    const rt = silentRuntime();
    const reports = recordEvents(rt, 'crash_report');
    const tp = await testProcess(rt);

    // These crashes are shutdowns: the caller gets the reason, and no crash report is written.
    const cases: Array<[request: string, reason: ExitReason]> = [
      ['shutdown_reason', shutdownWith('reason')],
      ['stop_shutdown_reason', shutdownWith('stop_reason')],
      ['exit_shutdown', 'shutdown'],
      ['stop_shutdown', 'shutdown'],
    ];
    for (const [request, reason] of cases) {
      const pid = okPid(await GenServer.startLink(tp.self, Suite, { state: request }));
      const error = await GenServer.call(rt, pid, request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallExitError);
      expect((error as CallExitError).reason).toEqual(reason);
      expect(await tp.exitOf(pid)).toEqual(reason);
    }
    expect(reports.events).toEqual([]);

    // This crash generates a crash report.
    const pid4 = okPid(await GenServer.start(rt, Suite, { state: 'state4' }));
    const error = await GenServer.call(rt, pid4, 'crash').catch((e: unknown) => e);
    expect((error as CallExitError).reason).toEqual(new Error('crashed'));
    expect(reports.events.map((e) => [e.pid, (e.reason as Error).message])).toEqual([[pid4, 'crashed']]);
  });

  it('call', async () => {
    fakeTimers();
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const pid = okPid(await GenServer.startLink(tp.self, Suite, [], { name: 'my_test_name' }));

    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');
    const delayed = GenServer.call(rt, 'my_test_name', { delayed_answer: 1 });
    await advance(rt, 1);
    expect(await delayed).toBe('delayed');

    // two requests within a specified time
    expect(await GenServer.call(rt, 'my_test_name', { call_within: 1000 })).toBe('ok');
    await advance(rt, 500);
    expect(await GenServer.call(rt, 'my_test_name', 'next_call')).toBe('ok');
    expect(await GenServer.call(rt, 'my_test_name', { call_within: 1000 })).toBe('ok');
    await advance(rt, 1500);
    expect(await GenServer.call(rt, 'my_test_name', 'next_call')).toBe(false);

    // timeout call
    const inTime = GenServer.call(rt, 'my_test_name', { delayed_answer: 1 }, 30);
    await advance(rt, 1);
    expect(await inTime).toBe('delayed');
    const late = GenServer.call(rt, 'my_test_name', { delayed_answer: 30 }, 1);
    await advance(rt, 1);
    await expect(late).rejects.toBeInstanceOf(CallTimeoutError);
    await advance(rt, 29); // the late reply is dropped; the server carries on
    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');

    // bad return value in the gen_server loop from handle_call
    const error = await GenServer.call(rt, 'my_test_name', 'badreturn').catch((e: unknown) => e);
    expect((error as CallExitError).reason).toBeInstanceOf(BadReturnError);
    expect(await tp.exitOf(pid)).toBeInstanceOf(BadReturnError);
  });

  it('cast', async () => {
    fakeTimers();
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const pid = okPid(await GenServer.start(rt, Suite, [], { name: 'my_test_name' }));
    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');

    GenServer.cast(rt, 'my_test_name', note(tp.pid, 'handle_cast'));
    await tp.receive((m) => isNote(m, pid, 'handled_cast'));

    GenServer.cast(rt, 'my_test_name', note(tp.pid, 'delayed_cast', 1));
    await advance(rt, 1);
    await tp.receive((m) => isNote(m, pid, 'delayed'));

    GenServer.cast(rt, 'my_test_name', note(tp.pid, 'stop'));
    await tp.receive((m) => isNote(m, pid, 'stopped'));
  });

  it('info', async () => {
    fakeTimers();
    const rt = silentRuntime();
    const tp = await testProcess(rt);
    const pid = okPid(await GenServer.start(rt, Suite, [], { name: 'my_test_name' }));
    expect(await GenServer.call(rt, 'my_test_name', 'started_p')).toBe('ok');

    rt.send(pid, note(tp.pid, 'handle_info'));
    await tp.receive((m) => isNote(m, pid, 'handled_info'));

    rt.send(pid, note(tp.pid, 'delayed_info', 1));
    await advance(rt, 1);
    await tp.receive((m) => isNote(m, pid, 'delayed_info'));

    rt.send(pid, note(tp.pid, 'stop'));
    await tp.receive((m) => isNote(m, pid, 'stopped_info'));
  });

  // OTP times 10,000 calls with an empty and with a 500,000-message queue. The property behind it: the
  // reply never goes through the caller's mailbox, so no queued message is scanned. Asserted without a clock:
  // a caller with 100,000 queued messages gets every reply while all of them are still queued.
  it('call_with_huge_message_queue', async () => {
    const rt = silentRuntime();
    const echo = okPid(await GenServer.start(rt, { init: () => ({ ok: null }), handleCall: (req: unknown, _f: unknown, s: null) => ({ reply: req, state: s }) }, undefined));
    let go!: () => void;
    const flooded = new Promise<void>((resolve) => (go = resolve));
    let done!: (result: { replies: unknown[]; queuedAtEachReply: number[] }) => void;
    const outcome = new Promise<{ replies: unknown[]; queuedAtEachReply: number[] }>((resolve) => (done = resolve));
    const caller = rt.spawn({
      async init(self: ProcessContext) {
        await flooded;
        const replies: unknown[] = [];
        const queuedAtEachReply: number[] = [];
        for (let i = 0; i < 100; i++) {
          replies.push(await GenServer.call(self, echo, { ultimate_answer: i }, Infinity));
          queuedAtEachReply.push(rt.processInfo(self.pid)!.mailboxLength);
        }
        done({ replies, queuedAtEachReply });
      },
      receive() {},
    });
    for (let n = 0; n < 100_000; n++) rt.send(caller, { msg: n });
    const sentToCaller: unknown[] = [];
    rt.interceptor = (to, message) => {
      if (to === caller) sentToCaller.push(message);
      return 'deliver';
    };
    go();
    const { replies, queuedAtEachReply } = await outcome;
    expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => ({ ultimate_answer: i })));
    expect(new Set(queuedAtEachReply)).toEqual(new Set([100_000]));
    expect(sentToCaller).toEqual([]);
  });
});

describe('GenServer contract', () => {
  it('a deferred reply answers the call once; a second reply is refused', async () => {
    const rt = silentRuntime();
    let pending: From<unknown> | undefined;
    const pid = okPid(
      await GenServer.start(
        rt,
        {
          init: () => ({ ok: 0 }),
          handleCall: (_req: unknown, from: From<unknown>, n: number) => {
            pending = from;
            return { noreply: true as const, state: n };
          },
          handleCast: (value: unknown, n: number) => {
            expect(GenServer.reply(pending!, value)).toBe(true);
            expect(GenServer.reply(pending!, 'again')).toBe(false);
            return { noreply: true as const, state: n };
          },
        },
        undefined,
      ),
    );
    const answer = GenServer.call(rt, pid, 'question');
    GenServer.cast(rt, pid, 42);
    expect(await answer).toBe(42);
  });

  it('a call that times out rejects with CallTimeoutError and its late reply is dropped, not queued', async () => {
    fakeTimers();
    const rt = silentRuntime();
    let pending: From<unknown> | undefined;
    const server = okPid(
      await GenServer.start(
        rt,
        {
          init: () => ({ ok: null }),
          handleCall: (_r: unknown, from: From<unknown>, s: null) => {
            pending = from;
            return { noreply: true as const, state: s };
          },
        },
        undefined,
      ),
    );
    let callerSelf!: ProcessContext;
    const failure = new Promise<unknown>((resolve) => {
      rt.spawn({
        async init(self: ProcessContext) {
          callerSelf = self;
          resolve(await GenServer.call(self, server, 'slow', 1000).catch((e: unknown) => e));
        },
        receive() {},
      });
    });
    await advance(rt, 1000);
    const error = await failure;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(error).toMatchObject({ code: 'DSPEX_CALL_TIMEOUT', timeoutMs: 1000 });
    expect(GenServer.reply(pending!, 'too late')).toBe(false);
    expect(rt.processInfo(callerSelf.pid)?.mailboxLength ?? 0).toBe(0);
  });

  it('noproc: a call or stop to a name or pid that does not exist rejects with NoProcError; a cast is dropped', async () => {
    const rt = silentRuntime();
    await expect(GenServer.call(rt, 'nobody', 'x')).rejects.toMatchObject({ code: 'DSPEX_NOPROC', destination: 'nobody' });
    const pid = okPid(await GenServer.start(rt, Suite, []));
    await GenServer.stop(rt, pid);
    await expect(GenServer.call(rt, pid, 'started_p')).rejects.toBeInstanceOf(NoProcError);
    await expect(GenServer.stop(rt, pid)).rejects.toBeInstanceOf(NoProcError);
    expect(() => GenServer.cast(rt, pid, 'x')).not.toThrow();
    expect(() => GenServer.cast(rt, 'nobody', 'x')).not.toThrow();
  });

  it('a call to a server that dies mid-call fails with its exit reason', async () => {
    const rt = silentRuntime();
    const stuck = {
      init: () => ({ ok: null }),
      handleCall: (req: unknown) => (req === 'hang' ? new Promise<never>(() => {}) : Promise.reject(new Error('handler failed'))),
    };
    const killed = okPid(await GenServer.start(rt, stuck, undefined));
    const call = GenServer.call(rt, killed, 'hang', Infinity).catch((e: unknown) => e);
    await rt.whenIdle();
    rt.exit(killed, 'boom');
    const error = await call;
    expect(error).toBeInstanceOf(CallExitError);
    expect(error).toMatchObject({ code: 'DSPEX_CALL_EXIT', reason: 'boom' });

    const crashing = okPid(await GenServer.start(rt, stuck, undefined));
    const crash = await GenServer.call(rt, crashing, 'fail').catch((e: unknown) => e);
    expect((crash as CallExitError).reason).toEqual(new Error('handler failed'));
  });

  it('init returning ignore or stop, or throwing, answers the starter and leaves a linked starter untouched', async () => {
    const rt = silentRuntime();
    const trapping = await testProcess(rt);
    const exits = recordEvents(rt, 'exit');
    expect(await GenServer.startLink(trapping.self, Suite, 'ignore')).toEqual({ ignore: true });
    expect(await GenServer.startLink(trapping.self, Suite, 'stop')).toEqual({ error: 'stopped' });
    const thrown = await GenServer.startLink(trapping.self, { init: () => { throw new Error('init failed'); } }, undefined);
    expect(thrown).toEqual({ error: new Error('init failed') });
    // Each server exited with its reason, but as in OTP 26 no EXIT reaches the linked starter.
    expect(exits.events.map((e) => e.reason)).toEqual(['normal', 'stopped', new Error('init failed')]);
    await trapping.sync();
    expect(trapping.held().filter((m) => m instanceof Exit)).toEqual([]);

    // A starter that does not trap exits is not taken down by a failed start.
    const plain = await testProcess(rt, { trapExit: false });
    expect(await GenServer.startLink(plain.self, Suite, 'stop')).toEqual({ error: 'stopped' });
    await plain.sync();
    expect(rt.isAlive(plain.pid)).toBe(true);
  });

  it('terminate is called on stop and on the parent EXIT when trapping exits, not when the parent kills it', async () => {
    const rt = silentRuntime();
    const calls: Array<[ExitReason, unknown]> = [];
    const Recorder: GenServerBehavior<string, string> = {
      init: (name) => ({ ok: name }),
      terminate: (reason, state) => void calls.push([reason, state]),
    };

    const stopped = okPid(await GenServer.start(rt, Recorder, 'stopped'));
    await GenServer.stop(rt, stopped);
    expect(calls).toEqual([['normal', 'stopped']]);

    // Parent exits while the server traps exits: terminate(parent's reason), then exit with it.
    const parent = await testProcess(rt, { trapExit: false });
    const trapping = okPid(await GenServer.startLink(parent.self, Recorder, 'trapping', { trapExit: true }));
    const watcher = await testProcess(rt);
    const trappingDown = watcher.down(trapping);
    parent.self.exit('shutdown');
    expect(await trappingDown).toBe('shutdown');
    expect(calls.at(-1)).toEqual(['shutdown', 'trapping']);

    // A server started from outside any process takes an exit signal from outside as its parent's.
    const outside = okPid(await GenServer.start(rt, Recorder, 'outside', { trapExit: true }));
    const outsideDown = watcher.down(outside);
    rt.exit(outside, 'shutdown');
    expect(await outsideDown).toBe('shutdown');
    expect(calls.at(-1)).toEqual(['shutdown', 'outside']);

    // Not trapping: the exit signal kills it outright, as in OTP, and terminate does not run.
    const parent2 = await testProcess(rt, { trapExit: false });
    const plain = okPid(await GenServer.startLink(parent2.self, Recorder, 'plain'));
    const plainDown = watcher.down(plain);
    parent2.self.exit('shutdown');
    expect(await plainDown).toBe('shutdown');
    expect(calls).toHaveLength(3);
  });

  it('handleContinue runs right after init and after the callback that asked for it, before the next message', async () => {
    const rt = silentRuntime();
    const log: string[] = [];
    const Continuing: GenServerBehavior<null, void, never, unknown, string> = {
      init: () => {
        log.push('init');
        return { ok: null, continue: 'from_init' };
      },
      handleCast: (message, state) => {
        log.push(message);
        return message === 'a' ? { noreply: true, state, continue: 'after_a' } : { noreply: true, state };
      },
      handleContinue: (arg, state) => {
        log.push(String(arg));
        return { noreply: true, state };
      },
      handleCall: (_r: never, _f, state) => ({ reply: [...log], state }),
    };
    const pid = okPid(await GenServer.start(rt, Continuing, undefined));
    GenServer.cast(rt, pid, 'a');
    GenServer.cast(rt, pid, 'b');
    expect(await GenServer.call(rt, pid, undefined as never)).toEqual(['init', 'from_init', 'a', 'after_a', 'b']);
  });

  it('the gen_server timeout delivers timeout after a quiet period, and any message arriving first cancels it', async () => {
    fakeTimers();
    const rt = silentRuntime();
    const infos: unknown[] = [];
    const Quiet: GenServerBehavior<number, void, never, unknown, string> = {
      init: () => ({ ok: 0, timeout: 1000 }),
      handleInfo: (info, n) => {
        infos.push(info);
        return { noreply: true, state: n };
      },
      handleCast: (_m, n) => ({ noreply: true, state: n + 1 }),
      handleCall: (_r: never, _f, n) => ({ reply: n, state: n, timeout: 1000 }),
    };

    const pid = okPid(await GenServer.start(rt, Quiet, undefined));
    await advance(rt, 1000);
    await rt.whenIdle();
    expect(infos).toEqual(['timeout']);

    // A cast lands in the mailbox, then the timer fires before the server has run: the cast came first, so
    // no timeout is delivered (OTP's receive ... after).
    expect(await GenServer.call(rt, pid, undefined as never)).toBe(0); // re-arms the 1000 ms timeout
    GenServer.cast(rt, pid, 'first');
    vi.advanceTimersByTime(1000);
    expect(await GenServer.call(rt, pid, undefined as never)).toBe(1);
    expect(infos).toEqual(['timeout']);

    // A timeout set by the latest callback still fires after a stale one was dropped.
    await advance(rt, 1000);
    await rt.whenIdle();
    expect(infos).toEqual(['timeout', 'timeout']);
  });
});
