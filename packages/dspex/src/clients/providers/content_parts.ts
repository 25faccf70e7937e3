// Content parts (LMMessage.contentParts, in OpenAI's shape, as DSPy's Image/Audio/File types render them) in
// the block formats of the other wires: Anthropic's content blocks and Gemini's parts. OpenAI takes them as is.
// A part of a type this file does not know is passed through unchanged (it may already be in the wire's shape).

import type { LMContentPart } from '../../primitives/lm.js';
import { LMConfigError } from '../errors.js';

interface DataUrl {
  mediaType: string;
  /** The base64 payload, or the text itself for a data URL without ;base64. */
  data: string;
  base64: boolean;
}

/** `data:<type>[;base64],<payload>` split into its media type and payload; null for any other URL. */
export function parseDataUrl(url: string): DataUrl | null {
  const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (match === null) return null;
  const base64 = match[2]!.split(';').includes('base64');
  return { mediaType: match[1] || 'text/plain', data: match[3]!, base64 };
}

/** The media type of a remote file from its extension (what Python's mimetypes.guess_type gives for these). */
const EXTENSIONS: Readonly<Record<string, string>> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic',
  pdf: 'application/pdf', txt: 'text/plain', md: 'text/markdown', html: 'text/html', csv: 'text/csv',
  wav: 'audio/wav', mp3: 'audio/mpeg', flac: 'audio/flac', ogg: 'audio/ogg', mp4: 'video/mp4',
};

function guessMediaType(url: string): string | undefined {
  const path = url.split(/[?#]/, 1)[0]!;
  const dot = path.lastIndexOf('.');
  return dot === -1 ? undefined : EXTENSIONS[path.slice(dot + 1).toLowerCase()];
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The URL of an image_url part: `{image_url: {url}}` or `{image_url: "<url>"}`. */
function imageUrl(part: Record<string, unknown>): string | undefined {
  return text(part.image_url) ?? text(record(part.image_url).url);
}

function base64Of(data: DataUrl): string {
  return data.base64 ? data.data : Buffer.from(decodeURIComponent(data.data), 'utf8').toString('base64');
}

/** One part as Anthropic Messages content blocks: text, image (base64 or url) and document (base64, text or file). */
export function anthropicBlock(part: LMContentPart): Record<string, unknown> {
  const p = part as Record<string, unknown>;
  switch (p.type) {
    case 'text':
      return { type: 'text', text: String(p.text ?? '') };
    case 'image_url': {
      const url = imageUrl(p);
      if (url === undefined) break;
      const data = parseDataUrl(url);
      return { type: 'image', source: data === null ? { type: 'url', url } : { type: 'base64', media_type: data.mediaType, data: base64Of(data) } };
    }
    case 'file': {
      const file = record(p.file);
      const title = text(file.filename);
      const fileData = text(file.file_data);
      const data = fileData === undefined ? null : parseDataUrl(fileData);
      let source: Record<string, unknown> | undefined;
      // Anthropic reads plain text as text; other documents (PDF) as base64; an uploaded one by its id.
      if (data !== null && data.mediaType.startsWith('text/')) {
        source = { type: 'text', media_type: 'text/plain', data: data.base64 ? Buffer.from(data.data, 'base64').toString('utf8') : decodeURIComponent(data.data) };
      } else if (data !== null) source = { type: 'base64', media_type: data.mediaType, data: base64Of(data) };
      else if (text(file.file_id) !== undefined) source = { type: 'file', file_id: file.file_id };
      if (source === undefined) break;
      return { type: 'document', source, ...(title === undefined ? {} : { title }) };
    }
    case 'input_audio':
      throw new LMConfigError('anthropic: the Messages API takes no audio input; send the audio to an OpenAI or Gemini model, or a transcript as text.');
    default:
      return p;
  }
  throw new LMConfigError(`anthropic: a ${String(p.type)} content part has no data, URL or file id: ${JSON.stringify(p).slice(0, 200)}.`);
}

/** One part as a Gemini part: text, inlineData (base64 with its mimeType) or fileData (a URI). */
export function geminiPart(part: LMContentPart): Record<string, unknown> {
  const p = part as Record<string, unknown>;
  const fromUrl = (url: string): Record<string, unknown> => {
    const data = parseDataUrl(url);
    if (data !== null) return { inlineData: { mimeType: data.mediaType, data: base64Of(data) } };
    const mimeType = guessMediaType(url);
    return { fileData: { ...(mimeType === undefined ? {} : { mimeType }), fileUri: url } };
  };
  switch (p.type) {
    case 'text':
      return { text: String(p.text ?? '') };
    case 'image_url': {
      const url = imageUrl(p);
      if (url !== undefined) return fromUrl(url);
      break;
    }
    case 'file': {
      const file = record(p.file);
      const source = text(file.file_data) ?? text(file.file_id);
      if (source !== undefined) return fromUrl(source);
      break;
    }
    case 'input_audio': {
      const audio = record(p.input_audio);
      const data = text(audio.data);
      if (data !== undefined) return { inlineData: { mimeType: `audio/${text(audio.format) ?? 'wav'}`, data } };
      break;
    }
    default:
      return p;
  }
  throw new LMConfigError(`gemini: a ${String(p.type)} content part has no data, URL or file id: ${JSON.stringify(p).slice(0, 200)}.`);
}
