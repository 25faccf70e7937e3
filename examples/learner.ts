// The learner choosing a model per request: three "models" (loopback OpenAI-compatible servers on 127.0.0.1,
// each good at a different task type, at different prices) answer math, extract and prove questions through
// dspex's Predict. The learner sees the task tag, picks a model, gets the latency and cost, then the metric as
// feedback. It prints the learner's choices per task as they converge, then a table against always using one model.
// Run it: `npx pnpm@9 --filter @dspex/examples learner`.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Learners, defineLearner, variable } from '@dspex/orchestration';
import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { ChatAdapter, LM, Predict, configure } from 'dspex';

const TASKS = ['math', 'extract', 'prove'] as const;
/** P(right answer) and price per request, by model and task. */
const MODELS: Record<string, { price: number; accuracy: Record<string, number> }> = {
  small: { price: 1, accuracy: { math: 0.95, extract: 0.55, prove: 0.25 } },
  medium: { price: 4, accuracy: { math: 0.88, extract: 0.93, prove: 0.62 } },
  large: { price: 12, accuracy: { math: 0.86, extract: 0.9, prove: 0.93 } },
};
const REQUESTS = 900;
const unit = (...parts: Array<string | number>): number => createHash('sha256').update(parts.join('/')).digest().readUInt32BE(0) / 2 ** 32;

/** A model server: answers `Q<i> (<task>)` right (`A<i>`) with its accuracy for the task; usage carries the price. */
async function modelServer(name: string): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const user = (JSON.parse(body) as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!.content;
      const [, i = '0', task = 'math'] = /Q(\d+) \((\w+)\)/.exec(user) ?? [];
      const right = unit(name, i) < MODELS[name]!.accuracy[task]!;
      const content = `[[ ## answer ## ]]\n${right ? `A${i}` : 'not sure'}\n\n[[ ## completed ## ]]`;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'x', object: 'chat.completion', created: 0, model: name,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
        usage: { prompt_tokens: 0, completion_tokens: MODELS[name]!.price, total_tokens: MODELS[name]!.price },
      })), 1 + MODELS[name]!.price / 4);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`, close: () => { server.closeAllConnections(); server.close(); } };
}

const rt = new Runtime();
const names = Object.keys(MODELS);
const servers = await Promise.all(names.map(modelServer));
const lms = Object.fromEntries(await Promise.all(names.map(async (n, k) => [n, await LM.start(rt, { model: `openai/${n}`, apiBase: servers[k]!.url, apiKey: 'unused', cache: { memory: false } })] as const)));
configure({ adapter: new ChatAdapter(), trackUsage: true });
const qa = new Predict('question -> answer');
const ask = async (model: string, i: number, task: string) => {
  const prediction = await qa.call({ question: `Q${i} (${task}): answer it.` }, { lm: lms[model]! });
  const cost = Object.values(prediction.lmUsage ?? {}).reduce((s, u) => s + u.completionTokens, 0);
  return { quality: prediction.get('answer') === `A${i}` ? 1 : 0, cost };
};

const dir = mkdtempSync(join(tmpdir(), 'dspex-learner-example-'));
const store = await openStore({ sqlite: { dir } });
const learner = await (await Learners.start(rt, { store })).learner(
  defineLearner('router', { decisions: { model: variable.lm({ choices: names }) }, objective: { costWeight: 0.01 }, seed: 1 }),
);

const log: Array<{ task: string; model: string; quality: number; cost: number }> = [];
for (let i = 0; i < REQUESTS; i++) {
  const task = TASKS[i % 3]!;
  const { decision, result } = await learner.run({ task }, (d) => ask(d.values.model as string, i, task), { cost: (r) => r.cost });
  await learner.feedback(decision.requestId, result.quality);
  log.push({ task, model: decision.values.model as string, ...result });
  if ((i + 1) % 150 === 0) {
    const recent = log.slice(-150);
    const shares = TASKS.map((t) => {
      const picks = recent.filter((r) => r.task === t);
      return `${t}: ${names.map((n) => `${n} ${Math.round((100 * picks.filter((r) => r.model === n).length) / picks.length)}%`).join(' ')}`;
    });
    console.log(`after ${String(i + 1).padStart(3)} requests | ${shares.join(' | ')}`);
  }
}
const last = (await learner.explain(log.length > 0 ? (await learner.choose({ task: 'prove' })).requestId : '')).why;
console.log(`\nnext 'prove' request: ${last}\n`);

// Against always using one model, on the same questions (asked again: the servers answer the same way).
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows = [{ strategy: 'learner', quality: mean(log.map((r) => r.quality)), cost: mean(log.map((r) => r.cost)) }];
for (const n of names) {
  const answers = await Promise.all(log.map((r, i) => ask(n, i, r.task)));
  rows.push({ strategy: `always ${n}`, quality: mean(answers.map((a) => a.quality)), cost: mean(answers.map((a) => a.cost)) });
}
console.log('strategy       quality  cost/request');
for (const r of rows) console.log(`${r.strategy.padEnd(14)} ${(100 * r.quality).toFixed(1).padStart(6)}  ${r.cost.toFixed(2).padStart(6)}`);

await store.close();
rmSync(dir, { recursive: true, force: true });
servers.forEach((s) => s.close());
await rt.shutdown();
