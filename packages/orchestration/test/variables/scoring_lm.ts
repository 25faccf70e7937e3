// A loopback OpenAI-compatible server whose answers depend on the request: it records every request body, and
// answers `question: "echo <word>"` with <word> only when the temperature is 0 and the system message holds
// KEYWORD ("wrong" otherwise). Every output field named in the system message is filled, in ChatAdapter's
// format, or as a JSON object when the prompt asks for one (JSONAdapter).

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export const KEYWORD = 'VERBATIM';

export interface RequestBody {
  model: string;
  temperature?: number;
  messages: Array<{ role: string; content: string }>;
  response_format?: unknown;
}

export interface ScoringLM {
  url: string;
  bodies: RequestBody[];
  close(): Promise<void>;
}

export async function startScoringLM(): Promise<ScoringLM> {
  const bodies: RequestBody[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RequestBody;
      bodies.push(body);
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const outputsPart = system.split('Your output fields are:')[1]?.split('All interactions')[0] ?? '';
      const fields = [...outputsPart.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      const word = /echo (\w+)/.exec(user.split('[[ ## question ## ]]')[1] ?? '')?.[1] ?? '';
      const right = body.temperature === 0 && system.includes(KEYWORD);
      const value = (field: string): string => (field === 'answer' ? (right ? word : 'wrong') : `${field} text`);
      const json = body.messages.some((m) => m.content.includes('Respond with a JSON object'));
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
    bodies,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
