// The program test/pack/pack_install.test.ts type-checks with plain tsc and runs with plain node in a fresh
// project that installed the three packed tarballs: each package's main API, once. It prints one JSON line.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GenServer, Runtime, Supervisor } from '@dspex/runtime';
import { PythonPools } from '@dspex/python-bridge';
import { ChatAdapter, LM, Predict, Signature, configure } from 'dspex';

const rt = new Runtime();

// @dspex/runtime: a GenServer under a Supervisor.
const Counter = {
  init: (start: number) => ({ ok: start }),
  handleCall: (_request: 'next', _from: unknown, count: number) => ({ reply: count, state: count + 1 }),
};
const tree = await Supervisor.start(rt, {
  strategy: 'one_for_one',
  children: [{ id: 'counter', start: (parent) => GenServer.startLink(parent, Counter, 41, { name: 'counter' }) }],
});
if (!('ok' in tree)) throw new Error('the supervision tree did not start');
const counter = await GenServer.call<number>(rt, 'counter', 'next');

// @dspex/python-bridge: a pool of one Python worker; real DSPy answers through its DummyLM.
const pool = await PythonPools.start(rt, { name: 'general', size: 1 });
const session = pool.session();
await session.call('configure_lm', { dummy: [{ answer: 'Paris' }] });
const { handle } = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
const python = await session.call<{ answer: string }>('call', { handle, kwargs: { question: 'Capital of France?' } });

// dspex: a signature, DSPy's ChatAdapter prompt, and Predict against an OpenAI-compatible server on loopback.
const signature = Signature.parse('question: str -> answer: str');
const messages = new ChatAdapter().format(signature, [], { question: 'What is 2 + 2?' });
const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  request.resume();
  request.on('end', () => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({
      id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'test-model',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]' } }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const lm = await LM.start(rt, { model: 'openai/test-model', apiBase: `http://127.0.0.1:${port}/v1` });
configure({ lm });
const prediction = await new Predict(signature).call({ question: 'What is 2 + 2?' });

await rt.shutdown();
server.close();
console.log(JSON.stringify({
  counter,
  python: python.answer,
  promptStartsWith: messages[0]?.content.slice(0, 40),
  answer: prediction.get<string>('answer'),
}));
