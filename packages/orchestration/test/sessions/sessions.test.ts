// Session actors on each store: turns recorded in order before the call returns, history passed to the next
// turn (function programs and a dspex Module with a `dspy.History` input), one call at a time per session and
// concurrency across sessions, rehydration after an actor crash, TTL and maxLive passivation (fake clock),
// update with conflicts, close, and the typed errors.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import { awaitDown } from '@dspex/runtime/testing';
import { Predict, registerType, type LM, type LMRequest, type LMResponse } from 'dspex';
import { Sessions, SessionConflictError, SessionsConfigError, SessionsNotRunningError, type JsonObject, type SessionContext, type SessionsHandle } from '../../src/sessions/index.js';
import type { Store } from '@dspex/store';
import { STORES } from './backends.js';

/** A function program: answers with the turn number it saw and the questions of the history. */
const echo = (inputs: JsonObject, context: SessionContext): JsonObject => ({
  answer: `#${context.turnCount + 1}: ${String(inputs.question)}`,
  seen: context.history.messages.map((m) => String(m.question)),
});

/** A loopback LM: its answer says how many messages it got and quotes the last user message. */
class CountingLM implements LM {
  readonly model = 'test/counting';
  readonly defaults = {};
  readonly requests: LMRequest[] = [];
  async call(request: LMRequest): Promise<LMResponse> {
    this.requests.push(request);
    return { outputs: [{ text: `[[ ## answer ## ]]\nmessages=${request.messages.length}\n\n[[ ## completed ## ]]` }], usage: {}, model: this.model } as unknown as LMResponse;
  }
}

for (const backend of STORES) {
  describe.skipIf(!backend.available)(`sessions on ${backend.name}`, () => {
    let rt: Runtime;
    let now: number;
    const clock = () => now;

    beforeEach(() => {
      rt = new Runtime();
      now = 1_000_000;
    });
    afterEach(async () => {
      await rt.shutdown();
      await backend.cleanup();
    });

    async function start(extra: { ttlMs?: number; maxLive?: number; historyTurns?: number } = {}): Promise<{ sessions: SessionsHandle; reopen: () => Promise<Store> }> {
      const { store, reopen } = await backend.fresh();
      const sessions = await Sessions.start(rt, { store, clock, sweepIntervalMs: Infinity, ...extra });
      return { sessions, reopen };
    }

    it('records each turn before the call returns, in order, and passes the history to the next turn', async () => {
      const { sessions, reopen } = await start();
      const first = await sessions.call('chat', echo, { question: 'a' });
      expect(first).toEqual({ answer: '#1: a', seen: [] });
      const second = await sessions.call('chat', echo, { question: 'b' });
      expect(second).toEqual({ answer: '#2: b', seen: ['a'] });
      // Acknowledged means committed: a second store on the same database sees both turns now.
      const other = await reopen();
      const stored = await other.loadSession('chat');
      expect(stored?.turns.map((t) => t.turn)).toEqual([
        { inputs: { question: 'a' }, outputs: first },
        { inputs: { question: 'b' }, outputs: second },
      ]);
      const snapshot = await sessions.get('chat');
      expect(snapshot).toMatchObject({ id: 'chat', version: stored!.version, turnCount: 2 });
    });

    it('gives a Module its dspy.History input, one message per earlier turn', async () => {
      registerType('dspy.History', { type: 'object', properties: { messages: { type: 'array', items: { type: 'object' } } }, required: ['messages'] });
      const { sessions } = await start();
      const lm = new CountingLM();
      const program = new Predict('question: str, history: dspy.History -> answer: str');
      await sessions.update('qa', () => ({ settings: { config: { temperature: 0.5 } } }));
      const one = await sessions.call('qa', program, { question: 'first?' }, { lm });
      const two = await sessions.call('qa', program, { question: 'second?' }, { lm });
      expect(one.answer).toMatch(/^messages=/);
      const turns = (await sessions.get('qa')).turns;
      expect(turns).toEqual([
        { inputs: { question: 'first?' }, outputs: { answer: one.answer } },
        { inputs: { question: 'second?' }, outputs: { answer: two.answer } },
      ]);
      // The second request carried the first turn as history, and the session's settings.config.
      const text = JSON.stringify(lm.requests[1]!.messages);
      expect(text).toContain('first?');
      expect(lm.requests[1]!.config).toMatchObject({ temperature: 0.5 });
    });

    it('runs calls to one session one at a time and different sessions concurrently', async () => {
      const { sessions } = await start();
      let running = 0;
      let maxRunningOneSession = 0;
      const gates: Array<() => void> = [];
      const slow = async (inputs: JsonObject, context: SessionContext): Promise<JsonObject> => {
        if (context.id === 'one') maxRunningOneSession = Math.max(maxRunningOneSession, ++running);
        await new Promise<void>((resolve) => gates.push(resolve));
        if (context.id === 'one') running--;
        return { n: Number(inputs.n), seen: context.history.messages.map((m) => Number(m.n)) };
      };
      const calls = [1, 2, 3].map((n) => sessions.call('one', slow, { n }));
      const others = ['x', 'y'].map((id) => sessions.call(id, slow, { n: 0 }));
      let settled = 0;
      for (const call of [...calls, ...others]) void call.then(() => settled++);
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      // Three sessions are inside the program at once ('one' with a single call) ...
      while (gates.length < 3) await tick();
      expect(settled).toBe(0);
      // ... then each program is let go as it arrives, until every call has returned.
      while (settled < 5) {
        gates.shift()?.();
        await tick();
      }
      const results = await Promise.all(calls);
      expect(maxRunningOneSession).toBe(1);
      expect(results.map((r) => r.seen)).toEqual([[], [1], [1, 2]]);
    });

    it('rehydrates a crashed session on its next call with every turn', async () => {
      const { sessions } = await start();
      for (const question of ['a', 'b', 'c']) await sessions.call('s', echo, { question });
      const pid = (await import('@dspex/runtime')).Registry.of<string, unknown>(rt, 'Sessions.Registry').lookup('s')[0]![0];
      rt.exit(pid, 'kill');
      await awaitDown(rt, pid);
      const next = await sessions.call('s', echo, { question: 'd' });
      expect(next).toEqual({ answer: '#4: d', seen: ['a', 'b', 'c'] });
    });

    it('a program that throws records nothing and the caller gets its error', async () => {
      const { sessions } = await start();
      await sessions.call('e', echo, { question: 'a' });
      await expect(sessions.call('e', () => Promise.reject(new Error('boom')), {})).rejects.toThrow('boom');
      expect((await sessions.get('e')).turnCount).toBe(1);
    });

    it('passivates sessions idle past the TTL (fake clock) and brings them back on the next call', async () => {
      const { sessions } = await start({ ttlMs: 60_000 });
      await sessions.call('old', echo, { question: 'a' });
      now += 30_000;
      await sessions.call('new', echo, { question: 'a' });
      now += 30_000;
      expect(await sessions.sweep()).toBe(1); // 'old' is 60 s idle, 'new' 30 s
      await expect.poll(async () => (await sessions.stats()).live + (await sessions.stats()).passivating).toBe(1);
      expect(await sessions.call('old', echo, { question: 'b' })).toEqual({ answer: '#2: b', seen: ['a'] });
      expect((await sessions.stats()).live).toBe(2);
    });

    it('keeps at most maxLive sessions live, passivating the least recently used', async () => {
      const { sessions } = await start({ maxLive: 2 });
      await sessions.call('a', echo, { question: '1' });
      await sessions.call('b', echo, { question: '1' });
      await sessions.call('a', echo, { question: '2' }); // b is now the least recently used
      await sessions.call('c', echo, { question: '1' });
      const registry = (await import('@dspex/runtime')).Registry.of<string, unknown>(rt, 'Sessions.Registry');
      await expect.poll(() => registry.lookup('b').length).toBe(0);
      expect(registry.lookup('a').length + registry.lookup('c').length).toBe(2);
      expect(await sessions.call('b', echo, { question: '2' })).toEqual({ answer: '#2: 2', seen: ['1'] });
    });

    it('update persists settings and bound values; bound values reach the program', async () => {
      const { sessions, reopen } = await start();
      const updated = await sessions.update('u', () => ({ bound: { user: 'Ada' }, settings: { tone: 'brief' } }));
      expect(updated).toMatchObject({ version: 1, bound: { user: 'Ada' }, settings: { tone: 'brief' } });
      const out = await sessions.call('u', (inputs) => ({ hello: String(inputs.user) }), {});
      expect(out).toEqual({ hello: 'Ada' });
      expect((await (await reopen()).loadSession('u'))?.state).toEqual({ settings: { tone: 'brief' }, bound: { user: 'Ada' } });
    });

    it('a turn written by another writer: update reloads and retries once; call surfaces SessionConflictError', async () => {
      const { sessions, reopen } = await start();
      await sessions.call('w', echo, { question: 'a' });
      const other = await reopen();
      await other.appendTurn('w', { inputs: { question: 'elsewhere' }, outputs: { answer: 'x' } });
      const error = await sessions.call('w', echo, { question: 'b' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionConflictError);
      expect((error as SessionConflictError).code).toBe('DSPEX_SESSION_CONFLICT');
      // The actor reloaded: the next call sees the other writer's turn.
      expect(await sessions.call('w', echo, { question: 'c' })).toEqual({ answer: '#3: c', seen: ['a', 'elsewhere'] });
      await other.saveSession('w', { settings: { by: 'other' }, bound: {} }, (await other.loadSession('w'))!.version);
      const updated = await sessions.update('w', (s) => ({ settings: { ...s.settings, mine: true } }));
      expect(updated.settings).toEqual({ by: 'other', mine: true });
    });

    it('close deletes the session from the store', async () => {
      const { sessions, reopen } = await start();
      await sessions.call('gone', echo, { question: 'a' });
      await sessions.close('gone');
      expect(await (await reopen()).loadSession('gone')).toBeUndefined();
      expect(await sessions.call('gone', echo, { question: 'b' })).toEqual({ answer: '#1: b', seen: [] });
    });
  });
}

describe('sessions: typed errors', () => {
  it('a missing store is a SessionsConfigError naming the option', async () => {
    expect(() => Sessions.childSpec({} as never)).toThrow(SessionsConfigError);
    const rt = new Runtime();
    try {
      const error = await Sessions.start(rt, { store: undefined as never }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionsConfigError);
      expect(error).toMatchObject({ code: 'DSPEX_SESSIONS_CONFIG', field: 'store' });
      await expect(Sessions.connect(rt).call('x', echo, {})).rejects.toBeInstanceOf(SessionsNotRunningError);
    } finally {
      await rt.shutdown();
    }
  });
});
