// The default logger of a Runtime: pino, as JSON lines, or one readable line per record when the output is a
// terminal (development); in both forms with no absolute paths: the working directory becomes `.` and the home
// directory `~`, in messages, fields and stack traces alike (a log line is often shared).

import { homedir } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Readonly<Record<number, string>> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every record has, left out of the readable line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces `cwd` with `.` and the home directory with `~` (also inside JSON strings, where `/` stays `/`). */
export function relativisePaths(line: string, cwd = process.cwd(), home = homedir()): string {
  let out = line;
  if (cwd.length > 1) out = out.replace(new RegExp(`(?:file://)?${escapeRegExp(cwd)}(?=/|\\b)`, 'g'), '.');
  if (home.length > 1) out = out.replace(new RegExp(`(?:file://)?${escapeRegExp(home)}(?=/|\\b)`, 'g'), '~');
  return out;
}

/** One pino JSON record as `12:00:01.234 WARN  [lm=main] message key=value`, with colour when `color`. */
export function prettyLine(json: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof record.level === 'number' ? record.level : 30;
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : '';
  const label = (LEVELS[level] ?? String(level)).padEnd(5);
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key)) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const err = value as { type?: string; message?: string; stack?: string };
      stack = typeof err.stack === 'string' ? `\n    ${err.stack.split('\n').join('\n    ')}` : '';
      fields.push(`err=${JSON.stringify(`${err.type ?? 'Error'}: ${err.message ?? ''}`)}`);
      continue;
    }
    fields.push(`${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`);
  }
  const levelText = color ? `\u001b[${COLORS[level] ?? '0'}m${label}\u001b[0m` : label;
  const msg = typeof record.msg === 'string' ? record.msg : '';
  return `${time} ${levelText} ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${stack}\n`;
}

/** Where the default logger writes: stdout as pino does, pretty on a terminal, paths made relative. */
export function logDestination(output: NodeJS.WriteStream = process.stdout, pretty = output.isTTY === true): DestinationStream {
  return { write: (line: string) => void output.write(relativisePaths(pretty ? prettyLine(line, true) : line)) };
}

/**
 * The Runtime's default logger: level from DSPEX_LOG_LEVEL (default info); DSPEX_LOG_FORMAT=json or pretty
 * forces a form (default: pretty when stdout is a terminal, JSON lines otherwise).
 */
export function defaultLogger(): Logger {
  const format = process.env.DSPEX_LOG_FORMAT;
  const pretty = format === 'pretty' ? true : format === 'json' ? false : process.stdout.isTTY === true;
  return pino({ name: 'dspex', level: process.env.DSPEX_LOG_LEVEL ?? 'info' }, logDestination(process.stdout, pretty));
}
