// An OpenAI-compatible chat-completions server on loopback with a fixed latency and canned answers in the
// ChatAdapter format. The evaluate benchmark runs it as its own process (`node --import tsx openai_server.ts
// --latency-ms 100` prints `{"port": N}`); tests start it in-process and may hold requests until released.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface FakeOpenAIOptions {
  /** Every response is sent this long after its request arrived (default 0). */
  latencyMs?: number;
  /** The answer to a question (default: `What is A + B?` gives the sum, anything else "unknown"). */
  answer?: (question: string) => string;
  /** When it returns a promise, the response waits for it too (tests hold requests in flight with this). */
  hold?: (question: string) => Promise<void> | undefined;
  /** Answer this question with an HTTP error status instead (default: none). */
  failWith?: (question: string) => number | undefined;
  port?: number;
}

export interface FakeOpenAIStats {
  /** Requests received. */
  requests: number;
  /** Most requests held at once (arrived, not yet answered): the concurrency the client really reached. */
  maxInFlight: number;
  /** TCP connections accepted. */
  connections: number;
  /** CPU time the server process used (user + system, µs). */
  cpuUs: number;
}

export interface FakeOpenAI {
  readonly url: string;
  readonly port: number;
  /** Requests received so far. */
  readonly received: () => number;
  /** Counters since the start or the last reset (also served as GET /stats, `?reset=1` to reset). */
  stats(reset?: boolean): FakeOpenAIStats;
  close(): Promise<void>;
}

const QUESTION = /\[\[ ## question ## \]\]\n([\s\S]*?)(?:\n\n|$)/;

/** The benchmark's canned rule: arithmetic questions get their sum. */
export function defaultAnswer(question: string): string {
  const match = /What is (\d+) \+ (\d+)\?/.exec(question);
  return match === null ? 'unknown' : String(Number(match[1]) + Number(match[2]));
}

/** The ChatAdapter reply DSPy and dspex both parse. */
export function chatAdapterReply(answer: string): string {
  return `[[ ## answer ## ]]\n${answer}\n\n[[ ## completed ## ]]`;
}

export function questionOf(body: { messages?: Array<{ role?: string; content?: unknown }> }): string {
  const messages = body.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'user' || typeof message.content !== 'string') continue;
    const match = QUESTION.exec(message.content);
    if (match !== null) return match[1]!.trim();
  }
  return '';
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const latencyMs = options.latencyMs ?? 0;
  const answer = options.answer ?? defaultAnswer;
  let received = 0;
  let counters = { requests: 0, maxInFlight: 0, connections: 0 };
  let cpuSince = process.cpuUsage();
  let inFlight = 0;
  const stats = (reset = false): FakeOpenAIStats => {
    const cpu = process.cpuUsage(cpuSince);
    const current = { ...counters, cpuUs: cpu.user + cpu.system };
    if (reset) {
      counters = { requests: 0, maxInFlight: inFlight, connections: 0 };
      cpuSince = process.cpuUsage();
    }
    return current;
  };
  const respond = (request: IncomingMessage, response: ServerResponse, raw: string): void => {
    if (request.method === 'GET' && request.url?.startsWith('/stats') === true) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats(request.url.includes('reset=1'))));
      return;
    }
    const arrived = performance.now();
    received++;
    counters.requests++;
    counters.maxInFlight = Math.max(counters.maxInFlight, ++inFlight);
    response.once('finish', () => inFlight--);
    let body: { model?: string; messages?: Array<{ role?: string; content?: unknown }> };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json"}}');
      return;
    }
    const question = questionOf(body);
    const send = (): void => {
      const status = options.failWith?.(question);
      if (status !== undefined) {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `scripted failure for ${question}` } }));
        return;
      }
      const completion = {
        id: `chatcmpl-${received}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: body.model ?? 'fake',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: chatAdapterReply(answer(question)) } }],
        usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
    };
    const held = options.hold?.(question);
    const afterLatency = (): void => {
      const left = latencyMs - (performance.now() - arrived);
      if (left > 0) setTimeout(send, left);
      else send();
    };
    if (held === undefined) afterLatency();
    else held.then(afterLatency, afterLatency);
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => respond(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', () => void counters.connections++);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', 1024, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    received: () => received,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Faults on the first request of each question, chosen by a seeded hash of the question (the straggler scenario). */
export interface FirstRequestFaults {
  seed: number;
  /** Share of questions whose first request hangs for hangMs before it is answered. */
  hang: number;
  hangMs: number;
  /** Share of questions whose first request answers 500. */
  fail: number;
}

/** FNV-1a of seed and text, as a number in [0, 1). */
function seededUnit(seed: number, text: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 0x1_0000_0000;
}

/** The hold and failWith hooks of a fault plan that can be switched on later (null: no faults). */
export function firstRequestFaults(plan: () => FirstRequestFaults | null): Pick<FakeOpenAIOptions, 'hold' | 'failWith'> {
  const seen = new Set<string>();
  const fault = new Map<string, 'hang' | 'fail'>();
  const decide = (question: string): 'hang' | 'fail' | undefined => {
    const faults = plan();
    if (faults === null || seen.has(question)) return undefined;
    seen.add(question);
    const u = seededUnit(faults.seed, question);
    return u < faults.hang ? 'hang' : u < faults.hang + faults.fail ? 'fail' : undefined;
  };
  return {
    hold: (question) => {
      const kind = decide(question);
      if (kind === undefined) return undefined;
      fault.set(question, kind);
      return kind === 'hang' ? new Promise<void>((resolve) => setTimeout(resolve, plan()!.hangMs).unref()) : undefined;
    },
    failWith: (question) => {
      const kind = fault.get(question);
      fault.delete(question);
      return kind === 'fail' ? 500 : undefined;
    },
  };
}

// Run as a process: print the port as one JSON line, serve until stdin closes or SIGTERM. A JSON line on stdin
// such as {"faults": {"seed": 1, "hang": 0.02, "hangMs": 30000, "fail": 0.01}} switches first-request faults on.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--latency-ms');
  const latencyMs = at === -1 ? 100 : Number(process.argv[at + 1]);
  let faults: FirstRequestFaults | null = null;
  const fake = await startFakeOpenAI({ latencyMs, ...firstRequestFaults(() => faults) });
  process.stdout.write(`${JSON.stringify({ port: fake.port, url: fake.url })}\n`);
  const stop = (): void => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  let pending = '';
  process.stdin.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line.startsWith('{')) faults = (JSON.parse(line) as { faults: FirstRequestFaults | null }).faults;
      process.stdout.write(`${JSON.stringify({ faults })}\n`);
    }
  });
}
