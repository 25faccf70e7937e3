// Callbacks: Python code calling TypeScript functions registered with session.registerTool, up to a real
// dspy.ReAct (driven by DSPy's DummyLM) that picks a TypeScript tool and calls it with the arguments it chose.

import { describe, expect, it } from 'vitest';
import { PythonException } from '../src/index.js';
import { deferred, fixturePython, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

describe('Node tools called from Python', () => {
  it('calls a TypeScript tool with the arguments Python passed and returns its value to Python', async () => {
    const pool = await bridge.pool({ name: 'tools', size: 1, python: fixturePython() });
    const session = pool.session('tools');
    const calls: Record<string, unknown>[] = [];
    session.registerTool('lookup', (args) => {
      calls.push(args);
      return { found: [`${String(args.query)}!`], score: 0.5 };
    });
    expect(await session.call('ask_tool', { name: 'lookup', args: { query: 'dspy', k: 2 } })).toEqual({ found: ['dspy!'], score: 0.5 });
    expect(calls).toEqual([{ query: 'dspy', k: 2 }]);
  });

  it('waits for an async tool, and the Python call waits with it', async () => {
    const pool = await bridge.pool({ name: 'asynctools', size: 1, python: fixturePython() });
    const session = pool.session('async');
    const invoked = deferred<Record<string, unknown>>();
    const answer = deferred<string>();
    session.registerTool('slow', (args) => {
      invoked.resolve(args);
      return answer.promise;
    });
    const call = session.call('ask_tool', { name: 'slow', args: { n: 1 } });
    expect(await invoked.promise).toEqual({ n: 1 });
    answer.resolve('late answer');
    expect(await call).toBe('late answer');
  });

  it('raises CallbackError in Python when the tool throws, is missing, or returns what cannot be sent', async () => {
    const pool = await bridge.pool({ name: 'badtools', size: 1, python: fixturePython() });
    const session = pool.session('bad');
    session.registerTool('broken', () => {
      throw new RangeError('index out of range');
    });
    session.registerTool('leaky', () => () => 'a function');
    const cases = [
      ['broken', 'RangeError: index out of range'],
      ['missing', 'UnknownTool'],
      ['leaky', 'Unencodable'],
    ] as const;
    for (const [name, text] of cases) {
      const error = await rejectionOf(session.call('ask_tool', { name, args: {} }));
      expect(error, name).toBeInstanceOf(PythonException);
      expect((error as PythonException).pythonType, name).toBe('CallbackError');
      expect((error as PythonException).pythonMessage, name).toContain(text);
    }
    // A tool of one session is not visible from another.
    session.registerTool('mine', () => 'ok');
    expect(await session.call('ask_tool', { name: 'mine', args: {} })).toBe('ok');
    const other = await rejectionOf(pool.session('other').call('ask_tool', { name: 'mine', args: {} }));
    expect((other as PythonException).pythonMessage).toContain('UnknownTool');
  });
});

describe('dspy.ReAct with a TypeScript tool', () => {
  it('runs the tool the LM chose, with the arguments it chose, and answers from its observation', async () => {
    const pool = await bridge.pool({ name: 'react', size: 1 });
    const session = pool.session('react');
    const searches: Record<string, unknown>[] = [];
    // defineTool registers the function and gives Python its schema, which ReAct shows the LM.
    await session.defineTool(
      'search',
      (args) => {
        searches.push(args);
        return `Paris is the capital of France (results for "${String(args.query)}").`;
      },
      { description: 'Searches an encyclopedia.', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
    );
    await session.call('configure_lm', {
      dummy: [
        { next_thought: 'I should look it up.', next_tool_name: 'search', next_tool_args: { query: 'capital of France' } },
        { next_thought: 'I have the answer.', next_tool_name: 'finish', next_tool_args: {} },
        { reasoning: 'The search result says Paris.', answer: 'Paris' },
      ],
    });
    const { handle } = await session.call<{ handle: string }>('create', {
      class: 'dspy.ReAct',
      args: ['question -> answer'],
      kwargs: { tools: [{ $tool: 'search' }], max_iters: 3 },
    });
    const prediction = await session.call<{ answer: string; trajectory: Record<string, unknown> }>('call', {
      handle,
      kwargs: { question: 'What is the capital of France?' },
    });
    expect(searches).toEqual([{ query: 'capital of France' }]);
    expect(prediction.answer).toBe('Paris');
    expect(prediction.trajectory).toMatchObject({
      tool_name_0: 'search',
      tool_args_0: { query: 'capital of France' },
      observation_0: 'Paris is the capital of France (results for "capital of France").',
      tool_name_1: 'finish',
    });
  });
});
