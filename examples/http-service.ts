// A Node HTTP service embedding the DSPex tree: `POST /ask` answers a question with a native ChainOfThought on
// the embedded model, or with a DSPy program in a Python worker (`"program": "python"`); `?stream=1` (or
// `Accept: text/event-stream`) streams the model's tokens as Server-Sent Events. SIGTERM drains: the server
// stops accepting, in-flight requests finish within DRAIN_MS, then the tree stops and the process exits 0.
//
//   Service                 Supervisor one_for_one
//   ├── DSPex               the application tree (LM clients, Python pools, the embedded model)
//   └── Http                GenServer trapping exits: owns the node:http server, drains it in terminate
//
// Children stop right to left, so Http drains while the models it calls still run. Every error reaches the
// client as a typed JSON body `{ error: { code, message } }`: 503 when something is unavailable (a worker or
// the model server died, the service is draining), 504 on a timeout, 502 when Python raised, 500 otherwise.
//
// Run it: `npx pnpm@9 --filter @dspex/examples serve` (PORT, default 8080), then
//   curl -s localhost:8080/ask -d '{"question":"What is the capital of France?"}'
//   curl -sN 'localhost:8080/ask?stream=1' -d '{"question":"Name a colour."}'
// It writes one JSON line per lifecycle event to stdout (`listening`, `request`, `drained`, `stopped`), which
// test/http_service.test.ts waits on.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GenServer, Runtime, Supervisor, type ChildSpec, type GenServerBehavior } from '@dspex/runtime';
import { DSPex, type DSPexHandle } from '@dspex/orchestration';
import { LocalLM } from '@dspex/local-lm';
import { ChainOfThought, Example, JSONAdapter, Predict, configure, type ProgramState } from 'dspex';
import { pino } from 'pino';

const PORT = Number(process.env.PORT ?? 8080);
/** How long in-flight requests may run after SIGTERM before their connections are closed. */
const DRAIN_MS = Number(process.env.DRAIN_MS ?? 20_000);
/** The longest one request may take; past it the client gets 504. */
const REQUEST_TIMEOUT_MS = Number(process.env.REQUEST_TIMEOUT_MS ?? 60_000);

const emit = (event: string, fields: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

/** An error as the client sees it: an HTTP status and a stable code. */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const UNAVAILABLE = new Set(['DSPEX_WORKER_CRASHED', 'DSPEX_SESSION_WORKER_LOST', 'DSPEX_POOL_CLOSED', 'DSPEX_POOL_SATURATED', 'DSPEX_WORKER_OVER_MEMORY', 'DSPEX_WORKER_STARTUP_FAILED', 'DSPEX_LM_NETWORK', 'DSPEX_LM_CIRCUIT_OPEN', 'DSPEX_LM_HTTP', 'DSPEX_LM_RATE_LIMITED', 'DSPEX_NOPROC', 'DSPEX_CALL_EXIT', 'DSPEX_APP_NOT_RUNNING', 'DSPEX_DRAINING']);
const TIMEOUTS = new Set(['DSPEX_CALL_TIMEOUT', 'DSPEX_QUEUE_TIMEOUT', 'DSPEX_LM_TIMEOUT', 'DSPEX_REQUEST_TIMEOUT']);

/** Maps any error to the status and `{ code, message }` the client gets. */
function toHttpError(error: unknown, deadline: AbortSignal): HttpError {
  if (error instanceof HttpError) return error;
  if (deadline.aborted) return new HttpError(504, 'DSPEX_REQUEST_TIMEOUT', `no answer within ${REQUEST_TIMEOUT_MS} ms; try again, or ask a shorter question`);
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'DSPEX_INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  if (TIMEOUTS.has(code)) return new HttpError(504, code, message);
  if (UNAVAILABLE.has(code)) return new HttpError(503, code, `${message} (the service restarts what failed: retry the request)`);
  if (code === 'DSPEX_PYTHON_EXCEPTION') return new HttpError(502, code, message);
  return new HttpError(500, code, message);
}

async function readQuestion(req: IncomingMessage): Promise<{ question: string; program: 'native' | 'python' }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: { question?: unknown; program?: unknown };
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as typeof body;
  } catch {
    throw new HttpError(400, 'DSPEX_BAD_REQUEST', 'the body is not JSON: send {"question": "..."}');
  }
  if (typeof body.question !== 'string' || body.question.trim() === '') throw new HttpError(400, 'DSPEX_BAD_REQUEST', 'send {"question": "..."} with a non-empty question');
  if (body.program !== undefined && body.program !== 'native' && body.program !== 'python') throw new HttpError(400, 'DSPEX_BAD_REQUEST', 'program is "native" (default) or "python"');
  return { question: body.question, program: body.program ?? 'native' };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** What the Http server needs from the rest of the tree. */
interface Service {
  rt: Runtime;
  app: DSPexHandle;
  qa: ChainOfThought<'question -> answer'>;
  /** The Python side's program as DSPy JSON: a Predict with two demos, which show a 135M model the JSON shape. */
  pythonProgram: ProgramState;
}

/** A native ChainOfThought on the embedded model, or dspy.Predict in a Python worker of the general pool. */
async function answer(service: Service, question: string, program: 'native' | 'python', signal: AbortSignal): Promise<string> {
  if (program === 'native') return String((await service.qa.call({ question }, { signal })).get('answer'));
  const pool = service.app.pools.general;
  if (pool === undefined) throw new HttpError(503, 'DSPEX_POOL_CLOSED', 'the service runs without a Python pool');
  const { baseUrl } = await LocalLM.info(service.rt);
  const session = pool.session(undefined, { affinity: 'strict_queue' }); // stays on one worker: its objects live there
  try {
    await session.call('configure_lm', { model: 'openai/smollm2-135m-instruct', api_base: baseUrl, api_key: 'local', cache: false, temperature: 0, max_tokens: 64, adapter: 'json' }, { signal });
    const { handle } = await session.call<{ handle: string }>('load', { class: 'dspy.Predict', args: ['question -> answer'], state: service.pythonProgram }, { signal });
    emit('python_call', { worker: (await session.call<{ pid: number }>('info', {}, { signal })).pid });
    const prediction = await session.call<{ answer?: unknown }>('call', { handle, kwargs: { question } }, { signal });
    return String(prediction.answer);
  } finally {
    void session.close().catch(() => undefined);
  }
}

/** Streams the embedded model's tokens as SSE: `token` events, then `answer`, or `error` with the typed body. */
async function streamAnswer(service: Service, question: string, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const lm = await service.app.lm('local');
  const tokens = lm.stream({ messages: [{ role: 'user', content: question }], config: { temperature: 0, max_tokens: 64 }, signal });
  let text = '';
  for await (const chunk of tokens) {
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (chunk.delta === '') continue;
    text += chunk.delta;
    res.write(`event: token\ndata: ${JSON.stringify({ delta: chunk.delta })}\n\n`);
  }
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.end(`event: answer\ndata: ${JSON.stringify({ answer: text })}\n\n`);
}

/** The tree's OS processes, for operators (and the chaos test): Python workers and the model server. */
async function health(service: Service): Promise<unknown> {
  const stats = await service.app.pools.general?.stats();
  const model = await LocalLM.info(service.rt).catch(() => undefined);
  return { ok: true, pid: process.pid, pythonWorkers: stats?.workerOsPids ?? [], modelServer: model?.osPid ?? null, inflight: stats?.inflight ?? 0 };
}

interface HttpState {
  server: Server;
  inflight: Set<Promise<void>>;
  draining: { value: boolean };
}

/** Owns the listening socket. It traps exits (see GenServer.start below), so `terminate` runs on shutdown and drains. */
const Http: GenServerBehavior<HttpState, { service: Service; port: number }, 'port', number> = {
  async init({ service, port }) {
    const inflight = new Set<Promise<void>>();
    const draining = { value: false };
    const server = createServer((req, res) => {
      const done = handle(service, req, res, draining.value).finally(() => inflight.delete(done));
      inflight.add(done);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return { ok: { server, inflight, draining } };
  },
  handleCall: (_request, _from, state) => ({ reply: (state.server.address() as { port: number }).port, state }),
  async terminate(_reason, { server, inflight, draining }) {
    draining.value = true;
    const closed = once(server, 'close');
    server.close(); //                   no new connections
    server.closeIdleConnections(); //    keep-alive sockets with nothing running
    const all = Promise.allSettled([...inflight]);
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), DRAIN_MS)))]);
    clearTimeout(timer);
    server.closeAllConnections(); //     past DRAIN_MS: whatever still runs is cut
    await closed;
    emit('drained', { late });
  },
};

async function handle(service: Service, req: IncomingMessage, res: ServerResponse, draining: boolean): Promise<void> {
  const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    if (draining) {
      res.setHeader('connection', 'close');
      throw new HttpError(503, 'DSPEX_DRAINING', 'the service is stopping; retry on another instance');
    }
    if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, await health(service));
    if (req.method !== 'POST' || url.pathname !== '/ask') throw new HttpError(404, 'DSPEX_NOT_FOUND', 'POST /ask or GET /healthz');
    const { question, program } = await readQuestion(req);
    const stream = url.searchParams.get('stream') === '1' || (req.headers.accept ?? '').includes('text/event-stream');
    emit('request', { program: stream ? 'stream' : program });
    if (stream) return await streamAnswer(service, question, res, deadline);
    sendJson(res, 200, { answer: await answer(service, question, program, deadline), program });
  } catch (error) {
    const failure = toHttpError(error, deadline);
    const body = { error: { code: failure.code, message: failure.message } };
    // Only a stream has sent its headers before it is done: it ends with an `error` event instead of a status.
    if (res.headersSent) res.end(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
    else sendJson(res, failure.status, body);
  }
}

// What the process holds before the tree starts (its own stdout/stderr handles), so that the check after
// shutdown reports only what the service opened and did not close.
const atStart = (process.stdout, process.stderr, process.getActiveResourcesInfo());
function openSinceStart(): string[] {
  const open = process.getActiveResourcesInfo();
  for (const kind of atStart) {
    const at = open.indexOf(kind);
    if (at >= 0) open.splice(at, 1);
  }
  return open;
}

const rt = new Runtime({ logger: pino({ level: process.env.DSPEX_LOG_LEVEL ?? 'silent' }) });
const { spec, app } = DSPex.childSpec(rt, { pools: { general: { size: 2, start: 'eager' }, optimizer: false, neural: false } });
const demos = new Predict('question -> answer');
demos.demos = [new Example({ question: 'What is the capital of Italy?', answer: 'Rome' }), new Example({ question: 'What colour is grass?', answer: 'Green' })];
const service: Service = { rt, app, qa: new ChainOfThought('question -> answer', { config: { temperature: 0, max_tokens: 64 } }), pythonProgram: await demos.save() };
const httpSpec: ChildSpec = { id: 'Http', shutdown: DRAIN_MS + 5_000, start: (parent) => GenServer.startLink(parent, Http, { service, port: PORT }, { name: 'Http', trapExit: true }) };
// Http is not started with the tree: it listens only once the model and the Python workers answer.
const started = await Supervisor.start(rt, { strategy: 'one_for_one', children: [spec] }, { name: 'Service' });
if (!('ok' in started)) throw new Error(`the service failed to start: ${JSON.stringify(started)}`);
const lm = await app.lm('local');
configure({ lm, adapter: new JSONAdapter() });
await LocalLM.info(rt);
await app.pools.general?.call('ping');
const http = await Supervisor.startChild(rt, started.ok, httpSpec);
if (!('ok' in http)) throw new Error(`the HTTP server failed to start: ${JSON.stringify(http)}`);
emit('listening', { port: await GenServer.call(rt, GenServer.ref<typeof Http>('Http'), 'port'), pid: process.pid });

process.once('SIGTERM', () => {
  emit('stopping');
  // rt.shutdown stops Service's children right to left: Http drains first, then DSPex stops the Python workers
  // and the model server and waits until their processes are gone.
  void rt.shutdown(DRAIN_MS + 30_000).then(() => {
    emit('stopped');
    // Everything of ours is down now: no process of the tree, no timer, no socket. The process exits on its own
    // when the loop is empty; say so if something still holds it.
    const lingering = openSinceStart();
    if (lingering.length > 0) process.stderr.write(`http-service: open after shutdown: ${lingering.join(', ')}\n`);
  });
});
