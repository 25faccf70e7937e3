// Tool and ReAct: DSPy's tool rendering and argument checks, the agent loop (trajectory, finish, error
// observations, max_iters, context-window truncation), and whole runs compared message-for-message with DSPy.

import { afterEach, describe, expect, test } from 'vitest';
import { AdapterParseError } from '../src/adapters/errors.js';
import { resetSettings, withSettings } from '../src/program/settings.js';
import { ToolArgumentError, TrajectoryOverflowError } from '../src/primitives/errors.js';
import { JSONAdapter } from '../src/adapters/json_adapter.js';
import { ReAct } from '../src/predict/react.js';
import { Tool } from '../src/predict/tool.js';
import { ScriptedLM } from './support/scripted_lm.js';
import { moduleWarnings } from './support/warnings.js';
import { dspy, dspyUnavailable, servicesRequired } from './support/dspy_reference.js';

afterEach(() => resetSettings());

const getWeather = new Tool(({ city }: { city: string }) => `Sunny in ${city}`, {
  name: 'get_weather',
  desc: 'Get the weather for a city.',
  args: { city: { type: 'string' } },
});
const add = new Tool(async ({ a, b }: { a: number; b: number }) => a + b, {
  name: 'add',
  desc: 'Add two integers.',
  args: { a: { type: 'integer' }, b: { type: 'integer' } },
});

const step = (thought: string, tool: string, args: Record<string, unknown>): Record<string, unknown> => ({ next_thought: thought, next_tool_name: tool, next_tool_args: args });

describe('Tool', () => {
  test('renders as DSPy prints a tool in ReAct instructions', () => {
    expect(getWeather.toString()).toBe("get_weather, whose description is <desc>Get the weather for a city.</desc>. It takes arguments {'city': {'type': 'string'}}.");
    const multiline = new Tool(() => 1, { name: 'two_lines', desc: 'First.\nSecond.', args: { flag: { type: 'boolean', default: true } } });
    expect(multiline.toString()).toBe("two_lines, whose description is <desc>First.  Second.</desc>. It takes arguments {'flag': {'type': 'boolean', 'default': True}}.");
    expect(new Tool(function lookup() { return 1; }).toString()).toBe('lookup. It takes arguments {}.');
  });

  test('validates arguments before running, with DSPy/jsonschema wording', async () => {
    await expect(add.call({ a: 2, b: 3 })).resolves.toBe(5);
    await expect(add.call({ a: 2, b: 'three' })).rejects.toThrow("Arg b is invalid: 'three' is not of type 'integer'");
    await expect(add.call({ a: 2, b: 3, c: 4 })).rejects.toThrow("Arg c is not in the tool's args.");
    await expect(add.call({ a: 2 })).rejects.toThrow("add() missing 1 required argument: 'b'");
    await expect(add.call({ a: 2 })).rejects.toBeInstanceOf(ToolArgumentError);
  });

  test('fromJsonSchema takes an object schema: properties become args, $refs are inlined, required is kept', async () => {
    const tool = Tool.fromJsonSchema(({ place }: { place: { name: string } }) => place.name, {
      name: 'visit',
      description: 'Visit a place.',
      parameters: {
        type: 'object',
        properties: { place: { $ref: '#/$defs/Place' }, note: { type: 'string' } },
        required: ['place'],
        $defs: { Place: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      },
    });
    expect(tool.args['place']).toEqual({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] });
    await expect(tool.call({ place: { name: 'Rome' } })).resolves.toBe('Rome');
    await expect(tool.call({ place: {} })).rejects.toThrow("Arg place is invalid: 'name' is a required property");
    expect(tool.toDefinition()).toEqual({ name: 'visit', description: 'Visit a place.', parameters: { type: 'object', properties: tool.args, required: ['place'] } });
  });
});

describe('ReAct', () => {
  test('builds DSPy\'s react and extract predictors', () => {
    const react = new ReAct('question -> answer', [getWeather]);
    expect(react.namedPredictors().map(([name]) => name)).toEqual(['react', 'extract.predict']);
    expect(react.react.signature.toString()).toBe("question, trajectory: str -> next_thought: str, next_tool_name: Literal['get_weather', 'finish'], next_tool_args: dict[str, Any]");
    expect(react.extract.predict.signature.toString()).toBe('question, trajectory: str -> reasoning: str, answer');
    expect(react.maxIters).toBe(20);
  });

  test('runs tools until finish and extracts the outputs from the trajectory', async () => {
    const lm = new ScriptedLM([
      step('Check the weather.', 'get_weather', { city: 'Paris' }),
      step('Add.', 'add', { a: 2, b: 3 }),
      step('Done.', 'finish', {}),
      { reasoning: 'It is sunny.', answer: 'Sunny, 5' },
    ]);
    const react = new ReAct('question -> answer', [getWeather, add]);
    const prediction = await react.call({ question: 'Weather in Paris, and 2+3?' }, { lm });
    expect(prediction.toDict()).toEqual({
      trajectory: {
        thought_0: 'Check the weather.', tool_name_0: 'get_weather', tool_args_0: { city: 'Paris' }, observation_0: 'Sunny in Paris',
        thought_1: 'Add.', tool_name_1: 'add', tool_args_1: { a: 2, b: 3 }, observation_1: 5,
        thought_2: 'Done.', tool_name_2: 'finish', tool_args_2: {}, observation_2: 'Completed.',
      },
      reasoning: 'It is sunny.',
      answer: 'Sunny, 5',
    });
    expect(lm.history).toHaveLength(4);
    // The extract call sees the whole trajectory as its `trajectory` input.
    expect(lm.messages(-1)[1]!.content).toContain(react.formatTrajectory(prediction.get('trajectory')));
  });

  test('a tool that throws, or bad arguments, become error observations and the loop goes on', async () => {
    const failing = new Tool(() => {
      throw new RangeError('station offline');
    }, { name: 'get_weather', desc: 'Get the weather.', args: {} });
    const lm = new ScriptedLM([step('Try.', 'get_weather', {}), step('Add.', 'add', { a: 'x', b: 1 }), step('Done.', 'finish', {}), { reasoning: 'r', answer: 'a' }]);
    const prediction = await new ReAct('question -> answer', [failing, add]).call({ question: 'q' }, { lm });
    const trajectory = prediction.get<Record<string, unknown>>('trajectory');
    expect(trajectory['observation_0']).toBe('Execution error in get_weather: \nRangeError: station offline');
    expect(trajectory['observation_1']).toBe("Execution error in add: \nToolArgumentError: Arg a is invalid: 'x' is not of type 'integer'");
    expect(trajectory['tool_name_2']).toBe('finish');
  });

  test('stops after maxIters (module default or per call), then extracts', async () => {
    const lm = new ScriptedLM((messages) => (messages[0]!.content.includes('next_thought') ? step('again', 'add', { a: 1, b: 1 }) : { reasoning: 'r', answer: '2' }));
    const react = new ReAct('question -> answer', [add], { maxIters: 3 });
    const prediction = await react.call({ question: 'q' }, { lm });
    expect(Object.keys(prediction.get<object>('trajectory'))).toHaveLength(12);
    expect(lm.history).toHaveLength(4);
    await react.call({ question: 'q' }, { lm, maxIters: 1 });
    expect(lm.history).toHaveLength(6);
  });

  test('on a context-window overflow the oldest tool call is dropped and the call retried', async () => {
    const overflow = Object.assign(new Error('prompt too long'), { code: 'DSPEX_LM_CONTEXT_WINDOW_EXCEEDED' });
    const calls = (text: string): number => (text.match(/## observation_\d+ ##/g) ?? []).length;
    let step3Seen = false;
    const lm = new ScriptedLM((messages) => {
      const user = messages[messages.length - 1]!.content;
      if (calls(user) >= 3) throw overflow;
      if (!messages[0]!.content.includes('next_thought')) return { reasoning: 'r', answer: 'done' };
      if (user.includes('thought_3')) step3Seen = true;
      return step3Seen ? step('stop', 'finish', {}) : step('more', 'add', { a: 1, b: 2 });
    });
    const truncated = moduleWarnings(['DSPEX_REACT_TRAJECTORY_TRUNCATED'], 3);
    const prediction = await new ReAct('question -> answer', [add]).call({ question: 'q' }, { lm });
    expect(await truncated).toHaveLength(3);
    // Call 0 was dropped at step 3, call 1 at step 4, call 2 before the extract: three calls at most fit.
    const trajectory = prediction.get<Record<string, unknown>>('trajectory');
    expect(Object.keys(trajectory)).toEqual(['thought_3', 'tool_name_3', 'tool_args_3', 'observation_3', 'thought_4', 'tool_name_4', 'tool_args_4', 'observation_4']);
    expect(trajectory['tool_name_4']).toBe('finish');
    expect(prediction.answer).toBe('done');
  });

  test('a single tool call that overflows ends the loop; the extract then fails with TrajectoryOverflowError', async () => {
    const overflow = Object.assign(new Error('prompt too long'), { code: 'DSPEX_LM_CONTEXT_WINDOW_EXCEEDED' });
    const lm = new ScriptedLM((messages) => {
      if (messages[messages.length - 1]!.content.includes('observation_0')) throw overflow;
      return step('go', 'add', { a: 1, b: 2 });
    });
    const rejection = new ReAct('question -> answer', [add]).call({ question: 'q' }, { lm });
    await expect(rejection).rejects.toBeInstanceOf(TrajectoryOverflowError);
    await expect(rejection).rejects.toMatchObject({ code: 'DSPEX_TRAJECTORY_OVERFLOW' });
  });

  test('an unknown tool name fails parsing and rejects with AdapterParseError, as in DSPy 3.4.1', async () => {
    const lm = new ScriptedLM([step('t', 'nope', {}), { reasoning: 'r', answer: 'a' }]);
    await expect(new ReAct('question -> answer', [add]).call({ question: 'q' }, { lm })).rejects.toBeInstanceOf(AdapterParseError);
  });
});

const unavailable = dspyUnavailable();
const describeDspy = unavailable && !servicesRequired() ? describe.skip : describe;
if (unavailable && !servicesRequired()) console.warn(`skipping ReAct comparisons with DSPy: ${unavailable}`);


describeDspy('ReAct against real DSPy 3.4.1', () => {
  test.each(['chat', 'json'] as const)('every prompt of a whole run matches DSPy (%s adapter)', async (adapter) => {
    if (unavailable) throw new Error(unavailable);
    const answers = [
      step('Weather first.', 'get_weather', { city: 'Paris' }),
      step('Now add.', 'add', { a: 2, b: 3 }),
      step('Done.', 'finish', {}),
      { reasoning: 'Sunny and five.', answer: 'Sunny; 5' },
    ];
    const reference = await dspy({ action: 'run', adapter, program: { kind: 'ReAct', signature: 'question -> answer', tools: ['get_weather', 'add'] }, inputs: { question: 'Weather in Paris and 2+3?' }, answers });
    const lm = new ScriptedLM(answers, { format: adapter });
    const react = new ReAct('question -> answer', [getWeather, add]);
    const run = (): Promise<unknown> => react.call({ question: 'Weather in Paris and 2+3?' }, { lm });
    const prediction = (await (adapter === 'json' ? withSettings({ adapter: new JSONAdapter() }, run) : run())) as { toDict(): unknown };
    expect(prediction.toDict()).toEqual(reference.prediction);
    const native = lm.history.map((entry) => entry.request.messages.map((m) => ({ role: m.role, content: m.content })));
    const expected = reference.history!.map((messages) => messages.map((m) => ({ role: m.role, content: m.content })));
    expect(native).toEqual(expected);
  });
});
