// DSPy's pretty_print_history (dspy/utils/inspect_history.py), byte for byte: the last n calls, each with its
// timestamp, every message, and the response, coloured as DSPy colours them when printing to stdout.

import type { LMContentPart, LMMessage, LMOutput, ToolCall } from '../primitives/lm.js';
import { pyJsonDumps } from '../utils/py_json.js';
import { pyLstrip, pyStrip } from '../utils/py_text.js';
import { globalHistoryBuffer, type HistoryEntry } from './history.js';

/** Where inspectHistory writes, and whether with colours. */
export interface InspectHistoryOptions {
  /** Anything with write(text) (a Writable, a file stream); default process.stdout. */
  stream?: { write(text: string): unknown };
  /** ANSI colours; default as DSPy: on when printing to stdout (no stream given), off for a given stream. */
  colors?: boolean;
}

const green = (text: string, colors: boolean, end = '\n'): string => (colors ? `\x1b[32m${pyLstrip(text)}\x1b[0m${end}` : `${pyLstrip(text)}${end}`);
const red = (text: string, colors: boolean, end = '\n'): string => (colors ? `\x1b[31m${text}\x1b[0m${end}` : `${text}${end}`);
const blue = (text: string, colors: boolean, end = '\n'): string => (colors ? `\x1b[34m${text}\x1b[0m${end}` : `${text}${end}`);

/** Python's history[-n:]: n = 0 (or more than there are) gives all, a negative n drops the first -n. */
function lastN<T>(items: readonly T[], n: number): readonly T[] {
  const start = -n;
  return items.slice(start < 0 ? Math.max(items.length + start, 0) : Math.min(start, items.length));
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();

/** A tool call in any shape DSPy prints: ours ({ name, args }) or OpenAI's ({ function: { name, arguments } }). */
type PrintableToolCall = ToolCall | { name?: string; args?: unknown; arguments?: unknown; function?: { name?: string; arguments?: unknown } };

function toolCallsText(calls: readonly PrintableToolCall[] | undefined, colors: boolean): string {
  if (calls === undefined || calls.length === 0) return '';
  let out = `${red('Tool calls:', colors)}\n`;
  for (const call of calls) {
    const fn = ('function' in call ? call.function : undefined) ?? {};
    let args: unknown = fn.arguments ?? ('args' in call ? call.args : 'arguments' in call ? call.arguments : {}) ?? {};
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args);
      } catch {
        // DSPy prints arguments that are not JSON as they are.
      }
    }
    const name = fn.name || (call.name ?? '<unknown>');
    const rendered = args !== null && typeof args === 'object' ? pyJsonDumps(args) : String(args);
    out += `${green(`${name}: ${rendered}`, colors)}\n`;
  }
  return out;
}

function contentPartText(part: LMContentPart, colors: boolean): string {
  const block = part as Record<string, Record<string, unknown> | string | undefined>;
  switch (block['type']) {
    case 'text':
      return `${pyStrip(String(block['text']))}\n`;
    case 'image_url': {
      const url = String((block['image_url'] as Record<string, unknown> | undefined)?.['url'] ?? '');
      const image = url.includes('base64')
        ? `<${url.split('base64,')[0]}base64,<IMAGE BASE 64 ENCODED(${url.split('base64,')[1]?.length ?? 0})>`
        : `<image_url: ${url}>`;
      return `${blue(pyStrip(image), colors)}\n`;
    }
    case 'input_audio': {
      const audio = block['input_audio'] as Record<string, unknown>;
      return `${blue(`<audio format='${String(audio['format'])}' base64-encoded, length=${String(audio['data']).length}>`, colors)}\n`;
    }
    case 'file':
    case 'input_file': {
      const file = ((block['file'] ?? block['input_file']) as Record<string, unknown> | undefined) ?? {};
      const text = `<file: name:${String(file['filename'] ?? '')}, id:${String(file['file_id'] ?? '')}, data_length:${String(file['file_data'] ?? '').length}>`;
      return `${blue(pyStrip(text), colors)}\n`;
    }
    default:
      return '';
  }
}

function messageText(message: LMMessage, colors: boolean): string {
  let out = `${red(`${capitalize(message.role)} message:`, colors)}\n`;
  if (message.contentParts !== undefined) for (const part of message.contentParts) out += contentPartText(part, colors);
  else out += `${pyStrip(message.content)}\n`;
  out += toolCallsText(message.toolCalls, colors);
  return `${out}\n\n`;
}

/** DSPy returns plain strings when no output carries more than text, and dicts otherwise; the printing differs. */
function responseText(outputs: readonly LMOutput[], colors: boolean): string {
  const first = outputs[0];
  if (first === undefined) return '';
  let out = '';
  const asRecords = outputs.some((output) => output.toolCalls !== undefined && output.toolCalls.length > 0);
  if (!asRecords || first.text) out += `${red('Response:', colors)}\n${green(pyStrip(first.text), colors)}\n`;
  if (asRecords) out += toolCallsText(first.toolCalls, colors);
  if (outputs.length > 1) out += `${red(` \t (and ${outputs.length - 1} other completions)`, colors, '')}\n`;
  return out;
}

/** The text dspy.inspect_history prints for the last `n` entries of `history`. */
export function formatHistory(history: readonly HistoryEntry[], n = 1, colors = false): string {
  let out = '';
  for (const item of lastN(history, n)) {
    const messages = item.messages.length > 0 ? item.messages : [{ role: 'user' as const, content: item.prompt ?? '' }];
    out += '\n\n\n\n';
    out += `${blue(`[${item.timestamp}]`, colors)}\n`;
    for (const message of messages) out += messageText(message, colors);
    out += responseText(item.outputs, colors);
  }
  return `${out}\n\n\n\n`;
}

/** Writes formatHistory's text to the stream (stdout by default, coloured as in DSPy) and returns it. */
export function printHistory(history: readonly HistoryEntry[], n = 1, options: InspectHistoryOptions = {}): string {
  const colors = options.colors ?? options.stream === undefined;
  const text = formatHistory(history, n, colors);
  (options.stream ?? process.stdout).write(text);
  return text;
}

/**
 * Prints the last `n` LM calls of every LM (DSPy's dspy.inspect_history(n)) and returns the text. n = 0 prints
 * all of them. `lm.inspectHistory(n)` prints one LM's.
 */
export function inspectHistory(n = 1, options: InspectHistoryOptions = {}): string {
  return printHistory(globalHistoryBuffer.entries(), n, options);
}
