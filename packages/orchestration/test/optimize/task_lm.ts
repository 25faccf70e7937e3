// A loopback OpenAI-compatible server for the proposer tests, whose answers depend on what the prompt holds.
// Task prompts (`question: "echo <word>"`) are answered with <word> only when `right(prompt)` says so ("wrong"
// otherwise). DSPy's instruction-proposer prompts (those asking for `proposed_instruction`) get the next of
// `proposals`, in order; any other field DSPy's proposer asks for (observations, summary) gets filler text.

import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export interface Prompt {
  system: string;
  messages: Array<{ role: string; content: string }>;
}

export interface TaskLM {
  url: string;
  /** Every prompt, in arrival order. */
  prompts: Prompt[];
  /** Task prompts only (those with a question). */
  taskPrompts(): Prompt[];
  /** Proposer prompts only. */
  proposerPrompts(): Prompt[];
  close(): Promise<void>;
}

const isProposer = (p: Prompt): boolean => p.system.includes('`proposed_instruction`');
const isTask = (p: Prompt): boolean => !isProposer(p) && p.system.includes('`question`') && p.system.includes('`answer`');

export async function startTaskLM(options: { right: (prompt: Prompt) => boolean; proposals?: readonly string[] }): Promise<TaskLM> {
  const prompts: Prompt[] = [];
  let proposed = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: Array<{ role: string; content: string }> };
      const prompt = { system: body.messages.find((m) => m.role === 'system')?.content ?? '', messages: body.messages };
      prompts.push(prompt);
      const outputsPart = prompt.system.split('Your output fields are:')[1]?.split('All interactions')[0] ?? '';
      const fields = [...new Set([...outputsPart.matchAll(/`(\w+)`/g)].map((m) => m[1]!))];
      const user = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      const word = /echo (\w+)/.exec(user.split('[[ ## question ## ]]')[1] ?? '')?.[1] ?? '';
      const proposal = isProposer(prompt) ? (options.proposals ?? [])[proposed++ % Math.max(1, options.proposals?.length ?? 1)] ?? 'No proposal.' : '';
      const value = (field: string): string => {
        if (field === 'proposed_instruction') return proposal;
        if (field === 'answer') return options.right(prompt) ? word : 'wrong';
        return `${field} text`;
      };
      const content = fields.map((f) => `[[ ## ${f} ## ]]\n${value(f)}\n\n`).join('') + '[[ ## completed ## ]]';
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
    prompts,
    taskPrompts: () => prompts.filter(isTask),
    proposerPrompts: () => prompts.filter(isProposer),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
