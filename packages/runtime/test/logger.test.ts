// The default logger: readable lines on a terminal, JSON lines otherwise, and no absolute paths in either
// (the working directory becomes `.`, the home directory `~`, stack traces included).

import { homedir } from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logDestination, prettyLine, relativisePaths } from '../src/index.js';

function capture(isTTY: boolean): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const stream = { isTTY, write: (line: string) => lines.push(line) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe('default logger', () => {
  it('writes no absolute path: model paths and stack traces are relative to the working directory or ~', () => {
    const { stream, lines } = capture(false);
    const logger = pino({ name: 'dspex' }, logDestination(stream));
    const error = new Error('boom');
    logger.info({ modelPath: `${process.cwd()}/models/smollm2.gguf`, cache: `${homedir()}/.cache/x` }, `loaded ${process.cwd()}/models/smollm2.gguf`);
    logger.error({ err: error }, 'crashed');
    const text = lines.join('');
    expect(text).not.toContain(process.cwd());
    expect(text).not.toContain(homedir() + '/');
    const [info, crash] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(info!.modelPath).toBe('./models/smollm2.gguf');
    expect(info!.cache).toBe('~/.cache/x');
    expect((crash!.err as { stack: string }).stack).toContain('./test/logger.test.ts');
  });

  it('writes one readable line per record on a terminal, with the fields and the stack', () => {
    const { stream, lines } = capture(true);
    const logger = pino({ name: 'dspex' }, logDestination(stream));
    logger.child({ lm: 'main' }).warn({ from: 'closed', to: 'open' }, 'circuit breaker closed -> open');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \u001b\[33mWARN \u001b\[0m circuit breaker closed -> open {2}lm=main from=closed to=open\n$/);
    const plain = prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'crashed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x (./a.ts:1:1)' } }), false);
    expect(plain).toBe('00:00:00.000 ERROR crashed  err="Error: boom"\n    Error: boom\n        at x (./a.ts:1:1)\n');
  });

  it('leaves paths outside the working directory and home alone, and does not cut a longer directory name', () => {
    expect(relativisePaths('/work/app/x and /work/application/y and file:///work/app/z', '/work/app', '/home/u')).toBe('./x and /work/application/y and ./z');
  });
});
