// A stand-in for an OpenAI-compatible /v1/chat/completions on loopback that answers in ChatAdapter's format:
// every output field the system message names gets "<field>:<hash of the last user message>", so answers
// are deterministic per input. Counts calls; `delayMs` holds each answer; `hold(n)` may return a promise that
// holds the n-th request's answer until it settles; `stream: true` requests get SSE.

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';

export interface LoopbackLM {
  url: string;
  calls: number;
  close(): Promise<void>;
}

export async function startLoopbackLM(options: { delayMs?: number; hold?: (call: number) => Promise<void> | undefined } = {}): Promise<LoopbackLM> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      state.calls++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean; messages: Array<{ role: string; content: string }> };
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const outputsPart = system.split('Your output fields are:')[1]?.split('All interactions')[0] ?? '';
      const fields = [...outputsPart.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const hash = createHash('sha256').update(user).digest('hex').slice(0, 8);
      const content = fields.map((f) => `[[ ## ${f} ## ]]\n${f}:${hash}\n\n`).join('') + '[[ ## completed ## ]]';
      const reply = (): void => {
        if (body.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (let i = 0; i < content.length; i += 12) {
            res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'tiny', choices: [{ index: 0, delta: { content: content.slice(i, i + 12) }, finish_reason: null }] })}\n\n`);
          }
          res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'tiny', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'x', object: 'chat.completion', created: 0, model: 'tiny',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }));
      };
      const held = options.hold?.(state.calls);
      if (held !== undefined) void held.then(reply, reply);
      else if (options.delayMs) setTimeout(reply, options.delayMs);
      else reply();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get calls() { return state.calls; },
    set calls(n: number) { state.calls = n; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
