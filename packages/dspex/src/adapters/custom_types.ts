// DSPy's split_message_content_for_custom_types: a user message whose text carries custom-type markers (what
// dspy.Image and friends render to) becomes a list of content blocks, the JSON between the markers spliced in.
// The whole text stays in `content`; the blocks go in `contentParts` for providers that take them.

import type { LMContentPart, LMMessage } from '../primitives/lm.js';
import { repairJson } from '../utils/json_repair.js';
import { pyStrip } from '../utils/py_text.js';

export const CUSTOM_TYPE_START = '<<CUSTOM-TYPE-START-IDENTIFIER>>';
export const CUSTOM_TYPE_END = '<<CUSTOM-TYPE-END-IDENTIFIER>>';
const BLOCK = /<<CUSTOM-TYPE-START-IDENTIFIER>>([\s\S]*?)<<CUSTOM-TYPE-END-IDENTIFIER>>/g;

/** json.loads, then json.loads of the text as a JSON string's body (doubly encoded), then json_repair. */
function parseBlock(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(JSON.parse(`"${text}"`) as string);
    } catch {
      return repairJson(text);
    }
  }
}

/** Python's truthiness of a parsed JSON value. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** `for item in parsed` over a JSON value: a list's items, an object's keys, a string's characters. */
function items(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (value !== null && typeof value === 'object') return Object.keys(value);
  return [value];
}

/** Adds `contentParts` to every user message that holds a marker pair; other messages are left alone. */
export function splitCustomTypes(messages: LMMessage[]): LMMessage[] {
  for (const message of messages) {
    if (message.role !== 'user' || !message.content.includes(CUSTOM_TYPE_START)) continue;
    const content = message.content;
    const parts: LMContentPart[] = [];
    let last = 0;
    for (const match of content.matchAll(BLOCK)) {
      const start = match.index;
      if (start > last) parts.push({ type: 'text', text: content.slice(last, start) });
      const inner = pyStrip(match[1]!);
      const parsed = parseBlock(inner);
      if (truthy(parsed)) for (const item of items(parsed)) parts.push(item as LMContentPart);
      else parts.push({ type: 'text', text: inner });
      last = start + match[0].length;
    }
    if (last === 0) continue;
    if (last < content.length) parts.push({ type: 'text', text: content.slice(last) });
    message.contentParts = parts;
  }
  return messages;
}
