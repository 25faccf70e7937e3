// Every call answered (issue 8, section 3): an exception Python cannot send as it is (not UTF-8, 80 MB) arrives
// as a typed error with an escaped, cut message; misuse of the API rejects the promise instead of throwing; and
// after every call both call tables, Node's and Python's, are empty again.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BridgeError, CallCancelled, CallTimeout, InvalidCall, PythonException, type PythonPool } from '../src/index.js';
import { fixturePython, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();
const python = fixturePython({ commands: ['bridge_runaway_fixtures'] });

interface PythonTable {
  calls: number;
  callbacks: number;
  unreleased: number;
  waiting_for_thread: number;
}

/**
 * Both call tables are empty. A cancelled call leaves Node's `cancelling` entry until Python's `released` comes,
 * so wait for that frame (each probe is a round trip on the same pipe, behind it), then assert everything.
 */
async function expectTablesEmpty(pool: PythonPool): Promise<void> {
  let python = await pool.call<PythonTable>('python_call_table');
  while (python.unreleased > 0 || pool.callTables().some((t) => t.cancelling > 0)) python = await pool.call<PythonTable>('python_call_table');
  expect(python).toEqual({ calls: 0, callbacks: 0, unreleased: 0, waiting_for_thread: 0 });
  expect(pool.callTables().map(({ calls, cancelling, closing }) => ({ calls, cancelling, closing }))).toEqual(pool.callTables().map(() => ({ calls: 0, cancelling: 0, closing: 0 })));
  expect(await pool.stats()).toMatchObject({ inflight: 0, queued: 0 });
  expect((await pool.call<{ call_table: PythonTable }>('info')).call_table.calls).toBe(0);
}

describe('replies Python cannot send as they are', () => {
  it('an exception message that is not UTF-8 is answered, escaped, even with no timeout', async () => {
    const pool = await bridge.pool({ name: 'badutf8', size: 1, python });
    const error = await rejectionOf(pool.call('raise_bad_utf8', {}, { timeoutMs: Infinity }));
    expect(error).toBeInstanceOf(PythonException);
    expect(error).toMatchObject({ pythonType: 'OSError', pythonMessage: 'cannot open caf\\udce9' });
    expect((error as PythonException).traceback).toContain('raise_bad_utf8');
    await expectTablesEmpty(pool);
  });

  it('an 80 MB exception message arrives cut at 64 Ki characters, saying it was cut', async () => {
    const pool = await bridge.pool({ name: 'huge', size: 1, python });
    const chars = 80 * 1024 * 1024;
    const error = (await rejectionOf(pool.call('raise_huge', { chars }, { timeoutMs: Infinity }))) as PythonException;
    expect(error.pythonType).toBe('ValueError');
    expect(error.pythonMessage).toBe(`${'x'.repeat(65536)} [dspex_bridge: cut, ${chars - 65536} more characters]`);
    // The traceback names the raising frame and ends with a short cut of the message.
    expect(error.traceback).toContain('raise_huge');
    expect(error.traceback).toMatch(/ValueError: x{1000} \[dspex_bridge: cut, \d+ more characters\]\n$/);
    await expectTablesEmpty(pool);
  });
});

describe('misuse of the API', () => {
  it('rejects the promise with InvalidCall (never throws), for calls, session calls and streams', async () => {
    const pool = await bridge.pool({ name: 'misuse', size: 1, python });
    const session = pool.session();
    const bad = (call: () => Promise<unknown>): Promise<Error> => {
      let promise: Promise<unknown>;
      expect(() => (promise = call())).not.toThrow();
      return rejectionOf(promise!);
    };
    const misuses: [string, () => Promise<unknown>][] = [
      ['empty command', () => pool.call('')],
      ['non-string command', () => pool.call(42 as unknown as string)],
      ['array args', () => pool.call('ping', [1, 2] as unknown as Record<string, unknown>)],
      ['string args', () => pool.call('ping', 'x' as unknown as Record<string, unknown>)],
      ['null args', () => pool.call('ping', null as unknown as Record<string, unknown>)],
      ['Map args', () => pool.call('ping', new Map() as unknown as Record<string, unknown>)],
      ['negative timeout', () => pool.call('ping', {}, { timeoutMs: -1 })],
      ['NaN timeout', () => pool.call('ping', {}, { timeoutMs: Number.NaN })],
      ['non-boolean idempotent', () => pool.call('ping', {}, { idempotent: 'yes' as unknown as boolean })],
      ['non-signal', () => pool.call('ping', {}, { signal: {} as AbortSignal })],
      ['non-object options', () => pool.call('ping', {}, 5 as unknown as object)],
      ['session: empty command', () => session.call('')],
      ['stream: zero window', () => pool.stream('count_to', { n: 1 }, { window: 0 }).result],
      ['stream: empty command', () => pool.stream('').result],
    ];
    for (const [what, call] of misuses) {
      const error = await bad(call);
      expect(error, what).toBeInstanceOf(InvalidCall);
      expect(error, what).toMatchObject({ code: 'DSPEX_INVALID_CALL' });
    }
    const stream = pool.stream('', {});
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(InvalidCall);
    await expectTablesEmpty(pool);
  });
});

type CallKind = 'ok' | 'raise_bad_utf8' | 'raise_big' | 'unknown' | 'cancel' | 'timeout' | 'misuse';

/** One call of a kind; resolves with how it settled. Every outcome is a value or a typed BridgeError. */
async function run(pool: PythonPool, kind: CallKind, i: number): Promise<string> {
  try {
    switch (kind) {
      case 'ok':
        expect(await pool.call('ping', { i })).toEqual({ i });
        return 'ok';
      case 'raise_bad_utf8':
        await pool.call('raise_bad_utf8', {}, { timeoutMs: Infinity });
        break;
      case 'raise_big':
        await pool.call('raise_huge', { chars: 100_000 + i }, { timeoutMs: Infinity });
        break;
      case 'unknown':
        await pool.call(`no_such_command_${i}`);
        break;
      case 'cancel': {
        const controller = new AbortController();
        const call = pool.call('hold', { tag: `prop-${i}-${Math.random()}` }, { signal: controller.signal });
        queueMicrotask(() => controller.abort());
        expect(await rejectionOf(call)).toBeInstanceOf(CallCancelled);
        return 'cancelled';
      }
      case 'timeout':
        expect(await rejectionOf(pool.call('ignore_cancel_briefly', { ms: 50 }, { timeoutMs: 10 }))).toBeInstanceOf(CallTimeout);
        return 'timeout';
      case 'misuse':
        await pool.call('', {});
        break;
    }
  } catch (error) {
    expect(error).toBeInstanceOf(BridgeError);
    return (error as BridgeError).code;
  }
  throw new Error(`${kind} should have failed`);
}

describe('every call answered, as a property', () => {
  it('any mix of calls, concurrent: each settles with a value or a typed error, and both tables end empty', async () => {
    const pool = await bridge.pool({ name: 'answered', size: 2, python });
    const kinds = fc.constantFrom<CallKind>('ok', 'raise_bad_utf8', 'raise_big', 'unknown', 'cancel', 'timeout', 'misuse');
    await fc.assert(
      fc.asyncProperty(fc.array(kinds, { minLength: 1, maxLength: 12 }), async (batch) => {
        const outcomes = await Promise.all(batch.map((kind, i) => run(pool, kind, i)));
        expect(outcomes).toHaveLength(batch.length);
        await expectTablesEmpty(pool);
      }),
      { numRuns: 15, verbose: true },
    );
  });
});
