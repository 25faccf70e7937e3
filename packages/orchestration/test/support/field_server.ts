// The loopback OpenAI-compatible /v1/chat/completions the optimizer and variable tests share: it parses each
// request (its body, system and last user message, the output fields the system message names, whether the
// prompt asks for a JSON object) and fills every output field with what `fill` says, in ChatAdapter's format
// or as a JSON object (JSONAdapter). What a test's server knows about its task lives in its `fill`.

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export interface RequestBody {
  model: string;
  temperature?: number;
  messages: Array<{ role: string; content: string }>;
  response_format?: unknown;
}

/** One request as `fill` sees it. */
export interface FieldRequest {
  body: RequestBody;
  system: string;
  /** The last user message. */
  user: string;
  /** The output fields the system message names, in order. */
  fields: string[];
  /** The prompt asks for a JSON object (JSONAdapter). */
  json: boolean;
}

export interface FieldServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the server; `fill(request)` returns the value of each output field for that request. */
export async function startFieldServer(fill: (request: FieldRequest) => (field: string) => string): Promise<FieldServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RequestBody;
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const outputsPart = system.split('Your output fields are:')[1]?.split('All interactions')[0] ?? '';
      const fields = [...new Set([...outputsPart.matchAll(/`(\w+)`/g)].map((m) => m[1]!))];
      const json = body.messages.some((m) => m.content.includes('Respond with a JSON object'));
      const value = fill({ body, system, user, fields, json });
      const content = json
        ? JSON.stringify(Object.fromEntries(fields.map((f) => [f, value(f)])))
        : fields.map((f) => `[[ ## ${f} ## ]]\n${value(f)}\n\n`).join('') + '[[ ## completed ## ]]';
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'x', object: 'chat.completion', created: 0, model: body.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The word a task question `echo <word>` asks for ('' when the question is not one). */
export function echoedWord(user: string): string {
  return /echo (\w+)/.exec(user.split('[[ ## question ## ]]')[1] ?? '')?.[1] ?? '';
}
