// examples/http-service.ts under fire: the service runs as a child process on an ephemeral port; concurrent
// clients ask natively, through Python and as SSE streams while a Python worker (mid-call) and the model server
// (mid-stream) are SIGKILLed. Every client must get a 200 answer or a typed error (a 5xx JSON body, or an SSE
// `error` event once the stream had started): no hang, no connection cut without a response. Then SIGTERM: the
// service drains, exits 0 on its own (no process.exit: nothing may hold its event loop), and leaves no process
// behind. Waits on the service's stdout events, never on time.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';

const examples = join(import.meta.dirname, '..', 'examples');

interface ServiceEvent {
  event: string;
  [field: string]: unknown;
}

/** The service's stdout as events; `next(name)` resolves with the first event of that name not taken yet. */
class Events {
  private readonly seen: ServiceEvent[] = [];
  private readonly waiters: Array<{ name: string; resolve: (e: ServiceEvent) => void }> = [];
  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const event = JSON.parse(line) as ServiceEvent;
      const waiter = this.waiters.findIndex((w) => w.name === event.event);
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]!.resolve(event);
      else this.seen.push(event);
    });
  }
  next(name: string): Promise<ServiceEvent> {
    const found = this.seen.findIndex((e) => e.event === name);
    if (found >= 0) return Promise.resolve(this.seen.splice(found, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }
}

type Outcome = { status: number; body: string } | { reset: string };

/** One HTTP exchange; `onData` sees each chunk of the body as it arrives. A socket error is recorded, not thrown. */
function exchange(port: number, method: string, path: string, body?: unknown, onData: (chunk: string) => void = () => undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        onData(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (error) => resolve({ reset: error.message }));
    });
    req.on('error', (error) => resolve({ reset: error.message }));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** The service's process tree: every descendant of `root`, read from /proc. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parentOf) if (found.has(parent) && !found.has(pid)) (found.add(pid), (grew = true));
  }
  found.delete(root);
  return [...found];
}

let service: ChildProcess | undefined;
const known = new Set<number>();
afterAll(() => {
  // Only after a failure is anything left: take it down so the suite does not leak processes.
  if (service?.exitCode === null) service.kill('SIGKILL');
  for (const pid of known) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

it('answers every client (200 or a typed 5xx) while a Python worker and the model server die, then drains on SIGTERM and leaves nothing', async () => {
  service = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'http-service.ts'], {
    cwd: examples,
    env: { ...process.env, PORT: '0', DRAIN_MS: '30000', DSPEX_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  service.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    process.stderr.write(text);
  });
  const exited = new Promise<number | null>((resolve) => service!.once('exit', (code) => resolve(code)));
  const events = new Events(service);
  const { port } = (await Promise.race([events.next('listening'), exited.then((code) => Promise.reject(new Error(`the service exited with ${code} before listening`)))])) as unknown as { port: number };

  const healthz = await exchange(port, 'GET', '/healthz');
  const health = JSON.parse((healthz as { body: string }).body) as { pythonWorkers: number[]; modelServer: number };
  expect(health.pythonWorkers.length).toBe(2);
  expect(health.modelServer).toBeGreaterThan(0);

  // The model server dies once a stream has started (its first token arrived); a Python worker dies once it
  // has a call in flight (the service reports the session's worker right before the call).
  let modelKilled = false;
  const onToken = (chunk: string): void => {
    if (modelKilled || !chunk.includes('event: token')) return;
    modelKilled = true;
    process.kill(health.modelServer, 'SIGKILL');
  };
  const pythonKilled = events.next('python_call').then(({ worker }) => {
    process.kill(worker as number, 'SIGKILL');
    return worker as number;
  });

  const questions = ['What is the capital of France?', 'What colour is the sky?', 'How many legs has a cat?'];
  const clients: Array<{ kind: string; outcome: Promise<Outcome> }> = [
    ...questions.map((question) => ({ kind: 'stream', outcome: exchange(port, 'POST', '/ask?stream=1', { question }, onToken) })),
    ...questions.map((question) => ({ kind: 'python', outcome: exchange(port, 'POST', '/ask', { question, program: 'python' }) })),
    ...questions.map((question) => ({ kind: 'native', outcome: exchange(port, 'POST', '/ask', { question }) })),
  ];
  const outcomes = await Promise.all(clients.map(async ({ kind, outcome }) => ({ kind, outcome: await outcome })));
  await pythonKilled;
  expect(modelKilled).toBe(true);

  for (const { kind, outcome } of outcomes) {
    expect(outcome, `${kind}: the connection ended without a response`).not.toHaveProperty('reset');
    const { status, body } = outcome as { status: number; body: string };
    // A stream answers 200 and ends with an `answer` or `error` event once it has started; one whose model call
    // begins while the model server is down fails before its headers, with a typed 5xx like the others.
    if (kind === 'stream' && status === 200) {
      const last = body.trim().split('\n\n').at(-1)!;
      expect(last).toMatch(/^event: (answer|error)\ndata: /);
      const data = JSON.parse(last.slice(last.indexOf('data: ') + 6)) as { answer?: string; error?: { code: string; message: string } };
      if (last.startsWith('event: error')) expect(data.error).toEqual({ code: expect.stringMatching(/^DSPEX_/), message: expect.any(String) });
      else expect(typeof data.answer).toBe('string');
    } else if (status === 200) {
      expect(typeof (JSON.parse(body) as { answer: unknown }).answer).toBe('string');
    } else {
      expect(status, body).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(body)).toEqual({ error: { code: expect.stringMatching(/^DSPEX_/), message: expect.any(String) } });
    }
  }
  // At least one Python call was cut by its worker's death and told so with a 5xx (or retried and answered).
  const pythonStatuses = await Promise.all(clients.filter((c) => c.kind === 'python').map(async (c) => ((await c.outcome) as { status: number }).status));
  expect(pythonStatuses.every((s) => s === 200 || s >= 500)).toBe(true);

  // Every process of the tree now (the restarted worker and model server included) must be gone after SIGTERM.
  for (const pid of descendants(service.pid!)) known.add(pid);
  expect(known.size).toBeGreaterThanOrEqual(3);
  service.kill('SIGTERM');
  await events.next('drained');
  await events.next('stopped');
  // The service exits on its own once the tree is down: nothing of ours (a timer, a socket) holds the loop.
  expect(await exited).toBe(0);
  expect(stderr).not.toContain('open after shutdown');
  expect([...known].filter(alive)).toEqual([]);
}, 180_000);
