// A loopback OpenAI-compatible server whose answers depend on three variables, with a gradient a search can
// follow: `question: "echo <word> <k>"` (k = 1..10) is answered with <word> only when |temperature − 0.7| ≤
// 0.05·k, max_tokens ≥ 16·k and the system message holds KEYWORD ("wrong" otherwise). So on a dev set of k = 1..10
// the score rises as the temperature nears 0.7 and the token budget grows; usage reports max_tokens completion
// tokens, so quality costs tokens.

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export const KEYWORD = 'VERBATIM';
export const TARGET_TEMPERATURE = 0.7;

export interface TunableLM {
  url: string;
  calls: number;
  close(): Promise<void>;
}

export async function startTunableLM(): Promise<TunableLM> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      state.calls++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; temperature?: number; max_tokens?: number; messages: Array<{ role: string; content: string }> };
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const [, word = '', k = '10'] = /echo (\w+) (\d+)/.exec(user.split('[[ ## question ## ]]')[1] ?? '') ?? [];
      const level = Number(k);
      const maxTokens = body.max_tokens ?? 0;
      const right = system.includes(KEYWORD) && Math.abs((body.temperature ?? 1) - TARGET_TEMPERATURE) <= 0.05 * level + 1e-9 && maxTokens >= 16 * level;
      const content = `[[ ## answer ## ]]\n${right ? word : 'wrong'}\n\n[[ ## completed ## ]]`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'x', object: 'chat.completion', created: 0, model: body.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          usage: { prompt_tokens: 10, completion_tokens: maxTokens, total_tokens: 10 + maxTokens },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get calls() {
      return state.calls;
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
