// The embedded LM server: a Node process of its own (run as a runtime Port by LocalLM), so a crash in
// native code cannot take the runtime down. It serves OpenAI's /v1/chat/completions on 127.0.0.1 at a free
// port, prints one JSON ready line on stdout, logs to stderr, and exits when stdin closes (its parent died).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { BadRequest, Engine, type ChatMessage, type EngineOptions } from './engine.js';

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MODEL_ID = 'smollm2-135m-instruct';

function fail(res: ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type } }));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BadRequest('the body is not valid JSON');
  }
}

/** OpenAI content is a string or a list of parts; only text parts mean anything to this model. */
function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p !== null && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  return '';
}

function messagesOf(body: Record<string, unknown>): ChatMessage[] {
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new BadRequest('messages must be a non-empty array');
  return body.messages.map((raw, i) => {
    const m = (raw ?? {}) as Record<string, unknown>;
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') throw new BadRequest(`messages[${i}].role ${String(m.role)} is not supported`);
    return { role, content: text(m.content), ...(typeof m.tool_call_id === 'string' ? { toolCallId: m.tool_call_id } : {}) };
  });
}

function jsonOf(body: Record<string, unknown>): Record<string, unknown> | 'json' | undefined {
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'json';
  if (format.type === 'json_schema' && format.json_schema?.schema !== null && typeof format.json_schema?.schema === 'object') return format.json_schema.schema as Record<string, unknown>;
  throw new BadRequest('response_format must be text, json_object, or json_schema with a schema object');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

async function completions(engine: Engine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new BadRequest('the body must be a JSON object');
  const body = raw as Record<string, unknown>;
  const messages = messagesOf(body);
  const n = Math.max(1, Math.floor(numberOr(body.n, 1)));
  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop.filter((s): s is string => typeof s === 'string' && s !== '') : [];
  const json = jsonOf(body);
  const abort = new AbortController();
  res.on('close', () => !res.writableFinished && abort.abort());
  const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const created = Math.floor(Date.now() / 1000);
  const stream = body.stream === true;
  const send = (payload: unknown): void => void res.write(`data: ${JSON.stringify(payload)}\n\n`);
  if (stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const choices: unknown[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  // n outputs are generated one after another on one sequence, as the brief of this server asks.
  for (let index = 0; index < n; index++) {
    if (stream) send({ id, object: 'chat.completion.chunk', created, model: MODEL_ID, choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    const out = await engine.generate(messages, {
      maxTokens: Math.max(1, Math.floor(numberOr(body.max_completion_tokens ?? body.max_tokens, 512))),
      temperature: numberOr(body.temperature, 0),
      ...(typeof body.top_p === 'number' ? { topP: body.top_p } : {}),
      ...(typeof body.seed === 'number' ? { seed: body.seed } : {}),
      stop,
      ...(json === undefined ? {} : { json }),
      signal: abort.signal,
      ...(stream ? { onText: (delta: string) => send({ id, object: 'chat.completion.chunk', created, model: MODEL_ID, choices: [{ index, delta: { content: delta }, finish_reason: null }] }) } : {}),
    });
    promptTokens = out.promptTokens;
    completionTokens += out.completionTokens;
    if (stream) send({ id, object: 'chat.completion.chunk', created, model: MODEL_ID, choices: [{ index, delta: {}, finish_reason: out.finishReason }] });
    choices.push({ index, message: { role: 'assistant', content: out.text }, finish_reason: out.finishReason });
  }
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  if (stream) {
    const options = body.stream_options as { include_usage?: unknown } | undefined;
    if (options?.include_usage === true) send({ id, object: 'chat.completion.chunk', created, model: MODEL_ID, choices: [], usage });
    res.end('data: [DONE]\n\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, object: 'chat.completion', created, model: MODEL_ID, choices, usage }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      threads: { type: 'string' },
      'context-size': { type: 'string' },
      sequences: { type: 'string' },
      gpu: { type: 'string', default: 'auto' },
    },
  });
  if (values.model === undefined) throw new Error('--model <path to .gguf> is required');
  const gpu = values.gpu === 'false' || values.gpu === 'cpu' ? false : (values.gpu as EngineOptions['gpu']);
  const started = performance.now();
  const engine = await Engine.load({
    modelPath: values.model,
    gpu,
    ...(values.threads === undefined ? {} : { threads: Number(values.threads) }),
    ...(values['context-size'] === undefined ? {} : { contextSize: Number(values['context-size']) }),
    ...(values.sequences === undefined ? {} : { sequences: Number(values.sequences) }),
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (req.method === 'GET' && path === '/v1/models') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: MODEL_ID, object: 'model', owned_by: 'dspex' }] }));
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      completions(engine, req, res).catch((error: unknown) => {
        if (error instanceof BadRequest) return fail(res, 400, error.message);
        process.stderr.write(`local_lm: generation failed: ${(error as Error).stack ?? String(error)}\n`);
        fail(res, 500, `generation failed: ${(error as Error).message}`, 'server_error');
      });
      return;
    }
    fail(res, 404, `no route ${req.method ?? ''} ${path ?? ''}`);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ event: 'ready', port, gpu: engine.gpu, model: values.model, loadMs: Math.round(performance.now() - started) })}\n`);
  });
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections(); // aborts generations in flight (their responses close)
    // Disposing waits for a generation to reach a safe point; never let that keep an orphan alive.
    setTimeout(() => process.exit(0), 1500).unref();
    void engine.dispose().finally(() => process.exit(0));
  };
  // The parent holds our stdin: EOF means it is gone (or closed the port), and we must not outlive it.
  process.stdin.on('end', shutdown).on('error', shutdown).resume();
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  // The parent reads this line as the reason (LocalLMStartError's message); the stack goes to stderr.
  process.stdout.write(`${JSON.stringify({ event: 'error', message: (error as Error).message ?? String(error) })}\n`);
  process.stderr.write(`local_lm: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
