// Session.close() and the calls around it (issue 9, section 4): a closed Session takes no more calls; a call made
// right after the close through the same session id runs after the close, in a fresh session; a call running at
// the close finishes with its Python objects and Node tools; calls still queued at the close are refused.

import { describe, expect, it } from 'vitest';
import { CallCancelled, PythonException, SessionClosed } from '../src/index.js';
import { fixturePython, nextEvent, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();
const python = fixturePython({ commands: ['session_order_fixtures'] });

describe('Session.close()', () => {
  it('refuses later calls, streams and tools of the closed Session with SessionClosed; a second close does nothing', async () => {
    const pool = await bridge.pool({ name: 'closed', size: 1, python });
    const session = pool.session('s');
    await session.call('order_put', { key: 'a', value: 1 });
    await session.close();
    const refused = await rejectionOf(session.call('order_keys'));
    expect(refused).toBeInstanceOf(SessionClosed);
    expect((refused as SessionClosed).code).toBe('DSPEX_SESSION_CLOSED');
    expect(refused.message).toContain('pool.session()');
    expect(await rejectionOf(session.stream('order_keys').result)).toBeInstanceOf(SessionClosed);
    expect(() => session.registerTool('t', () => 1)).toThrow(SessionClosed);
    await session.close();
  });

  it('orders a call made right after close() through the same id after the close, on the same worker', async () => {
    const pool = await bridge.pool({ name: 'order', size: 1, python });
    const first = pool.session('s');
    expect(await first.call('order_put', { key: 'a', value: 1 })).toEqual(['a']);
    const freed = nextEvent(pool, 'session_closed', (e) => e.session === 's');
    const closing = first.close();
    // Not awaiting the close: both reach the worker in the order they were made.
    const again = pool.session('s');
    const [keys, put] = await Promise.all([again.call('order_keys'), again.call('order_put', { key: 'b', value: 2 }), closing]);
    expect(keys).toEqual([]);
    expect(put).toEqual(['b']);
    expect((await freed).objects).toBe(1);
    expect(await again.call('order_keys')).toEqual(['b']);
  });

  it('lets a call running at the close finish with its objects and tools; then both are freed', async () => {
    const pool = await bridge.pool({ name: 'running', size: 1, python });
    const session = pool.session('s');
    session.registerTool('echo', (args) => ({ echoed: args }));
    const running = session.call('order_hold_then_tool', { gate: 'run1', tool: 'echo' });
    expect(await pool.call('order_wait_put', { gate: 'run1' })).toBe(true);
    await session.close();
    await pool.call('order_open', { gate: 'run1' });
    expect(await running).toEqual({ echoed: { from: 'python' } });
    // Settled: the session's tools are gone (a new Session with the id starts empty).
    const noTool = await rejectionOf(pool.session('s').call('ask_tool', { name: 'echo', args: {} }));
    expect((noTool as PythonException).pythonMessage).toContain('UnknownTool');
  });

  it('refuses the calls of the session still waiting in the queue with SessionClosed', async () => {
    const pool = await bridge.pool({ name: 'queued', size: 1, python, callsPerWorker: 1 });
    const controller = new AbortController();
    const busy = pool.call('hold', { tag: 'q1' }, { signal: controller.signal }); // takes the worker's one slot
    const session = pool.session('s');
    const queued = session.call('order_keys');
    await session.close();
    const refused = await rejectionOf(queued);
    expect(refused).toBeInstanceOf(SessionClosed);
    expect(refused.message).toContain('order_keys was not run');
    controller.abort();
    expect(await rejectionOf(busy)).toBeInstanceOf(CallCancelled);
  });
});
