// A user message split around DSPy custom-type markers (an image, a file, audio) reaches every provider as its
// own content blocks: OpenAI content parts, Anthropic content blocks, Gemini parts. Bodies are captured on a
// loopback server; the messages come from ChatAdapter.format, as a module would send them.

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import type { LMMessage } from '../../src/primitives/lm.js';
import { LM, LMConfigError } from '../../src/clients/index.js';
import { parseDataUrl } from '../../src/clients/providers/content_parts.js';
import { ScriptedServer, openaiReply, quietRuntime } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
const KEY_ENV = 'DSPEX_TEST_CONTENT_PARTS_KEY';

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  process.env[KEY_ENV] = 'test-key-0123456789';
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
  delete process.env[KEY_ENV];
});

const marked = (parts: unknown[]): string => `<<CUSTOM-TYPE-START-IDENTIFIER>>${JSON.stringify(parts)}<<CUSTOM-TYPE-END-IDENTIFIER>>`;
const PNG = 'data:image/png;base64,iVBORw0KGgo=';
const PDF = 'data:application/pdf;base64,JVBERi0x';
const NOTE = `data:text/plain;base64,${Buffer.from('hello notes').toString('base64')}`;

/** The user message ChatAdapter builds for an image, a remote image, a PDF and a text file (contentParts set). */
function userMessage(): LMMessage {
  const messages = new ChatAdapter().format('question, media -> answer', [], {
    question: 'What is shown?',
    media: marked([
      { type: 'image_url', image_url: { url: PNG } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      { type: 'file', file: { file_data: PDF, filename: 'report.pdf' } },
      { type: 'file', file: { file_data: NOTE, filename: 'notes.txt' } },
    ]),
  });
  const user = messages.at(-1)!;
  expect(user.contentParts).toBeDefined();
  return user;
}

async function start(model: string) {
  return LM.start(rt, { model, apiBase: server.url, apiKeyEnv: KEY_ENV, retries: 0, cache: { memory: false } });
}

/** The text blocks around the media, as DSPy's split puts them. */
function texts(user: LMMessage): [string, string] {
  const parts = user.contentParts!;
  return [(parts[0] as { text: string }).text, (parts.at(-1) as { text: string }).text];
}

describe('content parts on every provider', () => {
  it('OpenAI: the parts as they are', async () => {
    server.script(openaiReply('ok'));
    const user = userMessage();
    await (await start('openai/gpt-4o-mini')).call({ messages: [user] });
    expect((server.requests[0]!.body.messages as unknown[])[0]).toEqual({ role: 'user', content: user.contentParts });
  });

  it('Anthropic: text, image (base64 and url) and document (base64 PDF, plain text) blocks', async () => {
    server.script({ json: { content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 1, output_tokens: 1 }, stop_reason: 'end_turn' } });
    const user = userMessage();
    const [before, after] = texts(user);
    await (await start('anthropic/claude-sonnet-4-5')).call({ messages: [{ role: 'system', content: 'sys' }, user] });
    const body = server.requests[0]!.body;
    expect(body.system).toBe('sys');
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: before },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' }, title: 'report.pdf' },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello notes' }, title: 'notes.txt' },
          { type: 'text', text: after },
        ],
      },
    ]);
  });

  it('Gemini: text, inlineData (base64 with its mimeType) and fileData (a URI) parts', async () => {
    server.script({ json: { candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } } });
    const user = userMessage();
    const [before, after] = texts(user);
    await (await start('gemini/gemini-2.5-flash')).call({ messages: [user] });
    expect(server.requests[0]!.body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: before },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.jpg' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0x' } },
          { inlineData: { mimeType: 'text/plain', data: Buffer.from('hello notes').toString('base64') } },
          { text: after },
        ],
      },
    ]);
  });

  it('audio: Gemini inlineData; Anthropic refuses it with the next step, before any request', async () => {
    const messages = new ChatAdapter().format('clip -> transcript', [], { clip: marked([{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }]) });
    server.script({ json: { candidates: [{ index: 0, content: { parts: [{ text: 'ok' }] } }] } });
    await (await start('gemini/gemini-2.5-flash')).call({ messages });
    const parts = (server.requests[0]!.body.contents as Array<{ parts: unknown[] }>)[0]!.parts;
    expect(parts).toContainEqual({ inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } });
    const claude = await start('anthropic/claude-sonnet-4-5');
    const refused = claude.call({ messages });
    await expect(refused).rejects.toBeInstanceOf(LMConfigError);
    await expect(refused).rejects.toThrow(/takes no audio input/);
    expect(server.requests).toHaveLength(1);
  });

  it('JSON mode: Gemini responseMimeType without a schema; Anthropic leaves it to the prompt', async () => {
    server.script({ json: { candidates: [{ index: 0, content: { parts: [{ text: '{}' }] } }] } }, { json: { content: [{ type: 'text', text: '{}' }], usage: {} } });
    const config = { response_format: { type: 'json_object' } };
    await (await start('gemini/gemini-2.0-flash')).call({ messages: [{ role: 'user', content: 'x' }], config });
    expect(server.requests[0]!.body.generationConfig).toEqual({ responseMimeType: 'application/json' });
    await (await start('anthropic/claude-3-5-haiku-latest')).call({ messages: [{ role: 'user', content: 'x' }], config });
    expect(server.requests[1]!.body).not.toHaveProperty('response_format');
  });

  it('parseDataUrl reads the media type and payload, with or without base64', () => {
    expect(parseDataUrl(PNG)).toEqual({ mediaType: 'image/png', data: 'iVBORw0KGgo=', base64: true });
    expect(parseDataUrl('data:,a%20b')).toEqual({ mediaType: 'text/plain', data: 'a%20b', base64: false });
    expect(parseDataUrl('https://example.com/x.png')).toBeNull();
  });
});
