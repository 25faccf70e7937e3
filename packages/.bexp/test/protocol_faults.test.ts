// A worker that breaks the wire protocol (a frame that does not decode, a length over the limit) is a broken
// worker: the calls in flight on it fail with ProtocolError, it is replaced, and the rest of the pool never notices.

import { describe, expect, it } from 'vitest';
import { ProtocolError, type PythonPool } from '../src/index.js';
import { fixturePython, nextEvent, osAlive, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

interface Who {
  pid: number;
}

async function breakOneWorker(pool: PythonPool, rawHex: string, detail: RegExp): Promise<void> {
  // Two sessions, one per worker: the faulty one and a bystander.
  const faulty = pool.session('faulty');
  const bystander = pool.session('bystander');
  const faultyPid = (await faulty.call<Who>('whoami')).pid;
  const bystanderPid = (await bystander.call<Who>('whoami')).pid;
  expect(faultyPid).not.toBe(bystanderPid);

  const victim = faulty.call('hold', { tag: 'victim' });
  const survivor = bystander.call<{ pid: number }>('hold', { tag: 'survivor' });
  await faulty.call('wait_record', { tag: 'started:victim' });
  await bystander.call('wait_record', { tag: 'started:survivor' });

  const exited = nextEvent(pool, 'worker_exit');
  const restarted = nextEvent(pool, 'worker_start');
  const writer = faulty.call('emit_raw', { hex: rawHex });

  for (const failed of [victim, writer]) {
    const error = await rejectionOf(failed);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'DSPEX_PROTOCOL_ERROR', kind: 'WorkerProtocol' });
  }
  const exit = await exited;
  expect(exit.kind).toBe('protocol');
  expect(exit.detail).toMatch(detail);
  const replacement = await restarted;
  expect(replacement.osPid).not.toBe(faultyPid);
  expect(osAlive(faultyPid)).toBe(false);

  // The other worker's call was never touched: released now, it answers from the same process.
  await bystander.call('release', { tag: 'survivor' });
  expect((await survivor).pid).toBe(bystanderPid);
  expect((await bystander.call<Who>('whoami')).pid).toBe(bystanderPid);

  // The pool serves on both workers again.
  const pids = new Set((await Promise.all(Array.from({ length: 6 }, () => pool.call<{ pid: number }>('barrier', { name: 'after', parties: 3 })))).map((r) => r.pid));
  expect(pids).toEqual(new Set([bystanderPid, replacement.osPid]));
}

describe('protocol faults from a worker', () => {
  it('a malformed frame fails the calls on that worker with ProtocolError and replaces it', async () => {
    const pool = await bridge.pool({ name: 'malformed', size: 2, python: fixturePython() });
    await breakOneWorker(pool, '00000003c1c1c1', /decode/);
  });

  it('a frame over maxFrameBytes fails the calls on that worker with ProtocolError and replaces it', async () => {
    const pool = await bridge.pool({ name: 'oversized-out', size: 2, python: fixturePython({ maxFrameBytes: 4096 }) });
    await breakOneWorker(pool, '00001001', /4097 bytes, over the limit of 4096/);
  });

  it('a frame that decodes to something other than a message is a protocol fault too', async () => {
    const pool = await bridge.pool({ name: 'not-a-map', size: 2, python: fixturePython() });
    await breakOneWorker(pool, '0000000101', /map with a string "t"/);
  });
});
