// The bench's loopback model servers: one OpenAI-compatible HTTP server per strategy on 127.0.0.1, answering
// each task type with that strategy's seeded accuracy, cost and latency. A question reads `Q<index> (<task>): ...`;
// the right answer is `A<index>`. Whether a strategy gets request i right is a hash of (seed, strategy, i), so
// a request asked twice gets the same answer. Cost comes back as usage (completion tokens = cost units).

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface TaskProfile {
  accuracy: number;
  cost: number;
  latencyMs: number;
}

/** A strategy's profile per task; `drift` overrides it from request `from` on. */
export interface StrategyProfile {
  tasks: Record<string, TaskProfile>;
  drift?: { task: string; from: number; accuracy: number };
}

export function accuracyAt(profile: StrategyProfile, task: string, index: number): number {
  const d = profile.drift;
  return d !== undefined && d.task === task && index >= d.from ? d.accuracy : profile.tasks[task]!.accuracy;
}

export function uniform(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('/')).digest().readUInt32BE(0) / 2 ** 32;
}

export async function startStrategyServer(name: string, profile: StrategyProfile, seed: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: Array<{ role: string; content: string }> };
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const [, index = '0', task = ''] = /Q(\d+) \((\w+)\)/.exec(user) ?? [];
      const i = Number(index);
      const t = profile.tasks[task] ?? { accuracy: 0, cost: 1, latencyMs: 1 };
      const right = uniform(seed, name, i) < accuracyAt(profile, task, i);
      const content = `[[ ## answer ## ]]\n${right ? `A${i}` : 'I am not sure'}\n\n[[ ## completed ## ]]`;
      const latency = t.latencyMs * (0.8 + 0.4 * uniform(seed, name, i, 'latency'));
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'x', object: 'chat.completion', created: 0, model: name,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          usage: { prompt_tokens: 0, completion_tokens: t.cost, total_tokens: t.cost },
        }));
      }, latency);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}
