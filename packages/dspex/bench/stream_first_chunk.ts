// Time to the first field chunk through `program.stream()` against the first content delta of the raw LM
// stream, on a loopback server that waits before its first token; both read the same SSE event, so the
// difference is what streaming adds (prompt formatting, the field parser, the event queue). Same run, p50.

import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '@dspex/runtime';
import { LM } from '../src/clients/lm.js';
import { Predict } from '../src/predict/predict.js';

const sse = (content: string | null): string =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: content === null ? 'stop' : null }] })}\n\n`;

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function measureStreamFirstChunk(rt: Runtime, iterations: number, firstTokenDelayMs = 5): Promise<{ rawMs: number; programMs: number; overheadMs: number }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      setTimeout(() => {
        res.write(sse('[[ ## answer ## ]]\nParis'));
        res.write(sse(' is the capital.\n\n[[ ## completed ## ]]'));
        res.write(sse(null));
        res.end('data: [DONE]\n\n');
      }, firstTokenDelayMs);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lm = await LM.start(rt, { name: 'bench-stream', model: 'openai/bench', apiBase, retries: 0 });
  const program = new Predict('question -> answer', { cache: false });
  program.setLm(lm);
  const request = { messages: [{ role: 'user' as const, content: 'Capital of France?' }], config: { cache: false } };
  const raw: number[] = [];
  const streamed: number[] = [];
  try {
    for (let i = 0; i < iterations + 5; i++) {
      let started = performance.now();
      for await (const chunk of lm.stream(request)) {
        if (chunk.delta !== '') {
          if (i >= 5) raw.push(performance.now() - started);
          break;
        }
      }
      started = performance.now();
      for await (const event of program.stream({ question: 'Capital of France?' })) {
        if (event.type === 'field') {
          if (i >= 5) streamed.push(performance.now() - started);
          break;
        }
      }
    }
  } finally {
    await lm.stop();
    server.closeAllConnections();
    server.close();
  }
  const rawMs = p50(raw);
  const programMs = p50(streamed);
  return { rawMs, programMs, overheadMs: programMs - rawMs };
}
