// An OpenAI-compatible loopback server for the Python optimizer tests whose answers depend on the whole prompt:
// DSPy's instruction proposers get every field they ask for (with INSTRUCTION as the proposed instruction), and
// the task is answered correctly only when the system prompt carries that instruction. So an optimizer that
// finds the instruction raises the score, and its result visibly differs from the program it started from.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const INSTRUCTION = 'Add the two numbers and answer with digits only.';

interface Message {
  role?: string;
  content?: unknown;
}

function text(message: Message | undefined): string {
  return typeof message?.content === 'string' ? message.content : '';
}

/** ChatAdapter sections for `fields`, as DSPy's format_field_with_value writes them. */
function sections(fields: Record<string, string>): string {
  return `${Object.entries(fields).map(([name, value]) => `[[ ## ${name} ## ]]\n${value}`).join('\n\n')}\n\n[[ ## completed ## ]]`;
}

function reply(messages: Message[]): string {
  const system = text(messages.find((m) => m.role === 'system'));
  const last = text(messages[messages.length - 1]);
  const isTask = /`question`/.test(system) && /`answer`/.test(system) && !/proposed_instruction|observations|summary|description/.test(system);
  if (!isTask) {
    return sections({ observations: 'Arithmetic questions.', summary: 'Sums of equal numbers.', program_description: 'Adds numbers.', module_description: 'Adds numbers.', proposed_instruction: INSTRUCTION });
  }
  const match = /\[\[ ## question ## \]\]\nQ\d+: what is (\d+) \+ (\d+)\?/.exec(last);
  const right = match === null ? 'unknown' : String(Number(match[1]) + Number(match[2]));
  return sections({ answer: system.includes(INSTRUCTION) ? right : 'wrong' });
}

export interface PromptServer {
  url: string;
  requests: () => number;
  close(): Promise<void>;
}

export async function startPromptServer(): Promise<PromptServer> {
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string; messages?: Message[] };
      const completion = {
        id: `chatcmpl-${requests}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: body.model ?? 'fake',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: reply(body.messages ?? []) } }],
        usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
