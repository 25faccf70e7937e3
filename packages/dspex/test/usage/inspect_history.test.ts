// inspectHistory's text against real DSPy's pretty_print_history for the same entries (plain, as DSPy writes to
// a file, and coloured, as it prints to stdout), and the history's bounds and secrets.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LM } from '../../src/clients/index.js';
import type { LMMessage, LMOutput } from '../../src/primitives/lm.js';
import { configure, resetSettings } from '../../src/program/settings.js';
import { HistoryBuffer, RecordedCall, clearGlobalHistory, globalHistory, pyIsoTimestamp, type HistoryEntry } from '../../src/history/history.js';
import { formatHistory, inspectHistory } from '../../src/history/inspect_history.js';
import { PYTHON, dspyUnavailable, servicesRequired } from '../support/dspy_reference.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from '../clients/helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

function entry(messages: LMMessage[], outputs: LMOutput[], timestamp: string): HistoryEntry {
  const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
  return { prompt: null, messages, kwargs: {}, response: { outputs, usage, model: 'm', cached: false }, outputs, usage, cost: null, timestamp, uuid: 'u', model: 'openai/m', responseModel: 'm', modelType: 'chat' };
}

/** The same entries as DSPy holds them: content parts as lists, outputs as strings or dicts with tool_calls. */
function dspyEntry(item: HistoryEntry): Record<string, unknown> {
  const records = item.outputs.some((o) => (o.toolCalls?.length ?? 0) > 0);
  return {
    prompt: item.prompt,
    messages: item.messages.map((m) => ({
      role: m.role,
      content: m.contentParts ?? m.content,
      ...(m.toolCalls ? { tool_calls: m.toolCalls.map((c) => ({ name: c.name, args: c.args })) } : {}),
    })),
    outputs: item.outputs.map((o) =>
      records ? { text: o.text, ...(o.toolCalls ? { tool_calls: o.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}) } : o.text,
    ),
    timestamp: item.timestamp,
  };
}

const ENTRIES: HistoryEntry[] = [
  entry([{ role: 'system', content: '  Your input fields are:\n1. `question` (str)\n' }, { role: 'user', content: '[[ ## question ## ]]\nWhat is 2+2?\n\n' }], [{ text: '[[ ## answer ## ]]\n4\n\n[[ ## completed ## ]]  ' }], '2025-06-01T10:00:00.123000'),
  entry([{ role: 'user', content: 'pick' }], [{ text: 'a' }, { text: 'b' }, { text: 'c' }], '2025-06-01T10:00:01'),
  entry(
    [
      {
        role: 'user',
        content: 'see',
        contentParts: [
          { type: 'text', text: ' Describe this: ' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          { type: 'input_audio', input_audio: { format: 'wav', data: 'UklGRg==' } },
          { type: 'file', file: { filename: 'a.pdf', file_id: 'f1', file_data: 'JVBERi0=' } },
        ],
      },
      { role: 'assistant', content: 'calling', toolCalls: [{ id: 'c1', name: 'search', args: { query: 'café', k: 2 } }] },
      { role: 'tool', content: 'result' },
    ],
    [{ text: '', toolCalls: [{ id: 'c2', name: 'lookup', args: { id: [1, 2] } }] }],
    '2025-06-01T10:00:02.500000',
  ),
  entry([{ role: 'user', content: 'both' }], [{ text: 'Thinking', toolCalls: [{ id: 'c3', name: 'finish', args: {} }] }, { text: 'x' }], '2025-06-01T10:00:03.000001'),
];
const NS = [1, 2, 3, 4, 10, 0, -1];

describe('inspectHistory text against DSPy', () => {
  let reference: { plain: Record<string, string>; colored: Record<string, string> } | undefined;
  beforeAll(async () => {
    const missing = dspyUnavailable();
    if (missing !== null) {
      if (servicesRequired()) throw new Error(missing);
      return;
    }
    reference = await new Promise((resolve, reject) => {
      const child = execFile(PYTHON, [join(here, 'inspect_history_reference.py')], { env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as typeof reference);
      });
      child.stdin!.end(JSON.stringify({ entries: ENTRIES.map(dspyEntry), ns: NS }));
    });
  }, 60_000);

  for (const n of NS) {
    it(`n = ${n}: byte for byte, plain and coloured`, ({ skip }) => {
      if (reference === undefined) return skip();
      expect(formatHistory(ENTRIES, n, false)).toBe(reference.plain[String(n)]);
      expect(formatHistory(ENTRIES, n, true)).toBe(reference.colored[String(n)]);
    });
  }

  it('prints to the stream given, without colours unless asked, and returns the text', () => {
    let written = '';
    const stream = new Writable({ write(chunk: Buffer, _enc, done) { written += chunk.toString(); done(); } });
    clearGlobalHistory();
    expect(inspectHistory(1, { stream })).toBe('\n\n\n\n');
    expect(written).toBe('\n\n\n\n');
  });
});

describe('history', () => {
  let rt: Runtime;
  let server: ScriptedServer;
  afterEach(async () => {
    resetSettings();
    clearGlobalHistory();
    await rt?.shutdown();
    await server?.close();
  });

  it('records every call in lm.history and the global history, bounded by maxHistorySize, without keys', async () => {
    rt = quietRuntime();
    server = await ScriptedServer.start();
    process.env['DSPEX_TEST_SECRET_KEY'] = 'sk-test-very-secret-123';
    const lm = await LM.start(rt, { name: 'h', model: 'openai/gpt-4o-mini', apiBase: `${server.url}/v1`, apiKeyEnv: 'DSPEX_TEST_SECRET_KEY', cache: { memory: false }, retries: 0, telemetry: telemetryBus() });
    configure({ maxHistorySize: 3 });
    clearGlobalHistory();
    for (let i = 0; i < 5; i++) server.script(openaiReply(`reply ${i}`, { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 }));
    for (let i = 0; i < 5; i++) await lm.call({ messages: [{ role: 'user', content: `q${i}` }], config: { temperature: 0, api_key: 'sk-test-very-secret-123' } });
    const history = lm.history;
    expect(history.map((e) => e.outputs[0]!.text)).toEqual(['reply 2', 'reply 3', 'reply 4']);
    expect(globalHistory()).toHaveLength(5);
    const last = history[2]!;
    expect(last).toMatchObject({ prompt: null, kwargs: { temperature: 0 }, usage: { promptTokens: 1000, completionTokens: 100 }, model: 'openai/gpt-4o-mini', modelType: 'chat' });
    // 1000 input at $0.15/M + 100 output at $0.60/M.
    expect(last.cost).toBeCloseTo(0.00021, 10);
    expect(last.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    expect(JSON.stringify(globalHistory())).not.toContain('very-secret');
    let written = '';
    lm.inspectHistory(1, { stream: { write: (text: string) => (written += text) } });
    expect(written).toContain('User message:\n\nq4\n\n\nResponse:\n\nreply 4\n');
    configure({ disableHistory: true });
    server.script(openaiReply('unrecorded'));
    await lm.call({ messages: [{ role: 'user', content: 'x' }] });
    expect(globalHistory()).toHaveLength(5);
  });

  it('drops the oldest entries in O(1) and keeps order across compactions', () => {
    const buffer = new HistoryBuffer();
    const make = (i: number) => ({ ...ENTRIES[0]!, uuid: String(i) });
    for (let i = 0; i < 5000; i++) buffer.push(make(i), 7);
    expect(buffer.length).toBe(7);
    expect(buffer.entries().map((e) => e.uuid)).toEqual(['4993', '4994', '4995', '4996', '4997', '4998', '4999']);
    buffer.push(make(5000), 2);
    expect(buffer.entries().map((e) => e.uuid)).toEqual(['4999', '5000']);
  });

  it('builds a recorded call\'s entry once, when first read, with the time of the call', () => {
    const buffer = new HistoryBuffer();
    const other = new HistoryBuffer();
    const at = new Date(2025, 0, 2, 3, 4, 5, 60).getTime();
    const call = new RecordedCall([{ role: 'user', content: 'q' }], { temperature: 0 }, ENTRIES[0]!.response, 'openai/gpt-4o-mini', 0.5, at);
    buffer.push(call, 10);
    other.push(call, 10);
    const [entry] = buffer.entries();
    expect(entry).toMatchObject({ timestamp: '2025-01-02T03:04:05.060000', model: 'openai/gpt-4o-mini', cost: 0.5, kwargs: { temperature: 0 } });
    expect(entry!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(buffer.entries()[0]).toBe(entry);
    expect(other.entries()[0]).toBe(entry);
  });

  it('timestamps as Python isoformat', () => {
    expect(pyIsoTimestamp(new Date(2025, 0, 2, 3, 4, 5, 60))).toBe('2025-01-02T03:04:05.060000');
    expect(pyIsoTimestamp(new Date(2025, 0, 2, 3, 4, 5, 0))).toBe('2025-01-02T03:04:05');
  });
});
