// What an evaluation shows and writes: plain progress lines off a terminal, a bar redrawn in place on one,
// DSPy's results table, and results saved as JSON and CSV (Python csv module quoting), read back exactly.

import { TaskSupervisor, type Runtime } from '@dspex/runtime';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluate, resultRecords, toCsv, renderTable, truncateCell, averageMetricText } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import { EvaluateTelemetry, ScriptedChatLM, captureOutput, deferred, exactMatch, mathDevset, nextEvalEvent, qaProgram, quietRuntime } from './evaluate_helpers.js';

let rt: Runtime;
let dir: string;
beforeEach(() => {
  rt = quietRuntime();
  dir = mkdtempSync(join(tmpdir(), 'dspex-eval-'));
});
afterEach(async () => {
  await rt.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** A clock the test moves: one second per finished example. */
function steppingClock(): { now: () => number; step: () => void } {
  let t = 0;
  return { now: () => t, step: () => void (t += 1000) };
}

describe('progress', () => {
  it('writes plain lines when the output is not a terminal: score so far, done / total, rate, ETA', async () => {
    const output = captureOutput(false);
    const clock = steppingClock();
    const telemetry = new EvaluateTelemetry();
    const lm = new ScriptedChatLM();
    // One example at a time; the clock moves one second before each finishes.
    const program = qaProgram(lm);
    const stepped = { call: async (inputs: Record<string, unknown>) => (clock.step(), program.call(inputs)) };
    await evaluate(stepped, mathDevset(4, (i) => i === 1), exactMatch, { runtime: rt, telemetry, concurrency: 1, displayProgress: true, output, progressIntervalMs: 2000, now: clock.now });
    expect(output.text().split('\n').filter(Boolean)).toEqual([
      'Average Metric: 1.00 / 1 (100.0%) | 1/4 (25%) | 1.00 ex/s | elapsed 00:01 | ETA 00:03',
      'Average Metric: 2.00 / 3 (66.7%) | 3/4 (75%) | 1.00 ex/s | elapsed 00:03 | ETA 00:01',
      'Average Metric: 3.00 / 4 (75.0%) | 4/4 (100%) | 1.00 ex/s | elapsed 00:04 | ETA 00:00',
    ]);
  });

  it('redraws one bar in place on a terminal, throttled, and ends it with a newline', async () => {
    const output = captureOutput(true, 120);
    const clock = steppingClock();
    const program = qaProgram(new ScriptedChatLM());
    const stepped = { call: async (inputs: Record<string, unknown>) => (clock.step(), program.call(inputs)) };
    await evaluate(stepped, mathDevset(3), exactMatch, { runtime: rt, concurrency: 1, displayProgress: true, output, redrawIntervalMs: 1500, now: clock.now });
    const text = output.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2); // one line, redrawn
    const frames = text.trimEnd().split('\r').filter(Boolean).map((frame) => frame.replace('\x1b[2K', ''));
    expect(frames).toHaveLength(3); // after 1 and 3 (2 fell inside the throttle), then the final redraw
    expect(frames[0]).toMatch(/^Average Metric: 1\.00 \/ 1 \(100\.0%\):  33%\|█+.*\| 1\/3 \[00:01<00:02, 1\.00 ex\/s\]$/);
    expect(frames[2]).toMatch(/^Average Metric: 3\.00 \/ 3 \(100\.0%\): 100%\|█+\| 3\/3 \[00:03<00:00, 1\.00 ex\/s\]$/);
  });

  it("formats the score like DSPy's tqdm description", () => {
    expect(averageMetricText(2, 3)).toBe('Average Metric: 2.00 / 3 (66.7%)');
    expect(averageMetricText(0, 0)).toBe('Average Metric: 0.00 / 0 (0.0%)');
    expect(averageMetricText(1.125, 8)).toBe('Average Metric: 1.12 / 8 (14.1%)'); // Python rounds the tie to even
  });
});

describe('results table', () => {
  it('shows example and prediction fields with the metric column, cut to 25 words, and the rows left out', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    const devset = [
      new Example({ question: 'What is 0 + 1?', answer: '1', context: long }).withInputs('question'),
      ...mathDevset(3).slice(1),
    ];
    const output = captureOutput(false);
    await evaluate(qaProgram(new ScriptedChatLM()), devset, function answer_match(e, p) { return exactMatch(e, p) ? 1 : 0.5; }, { runtime: rt, displayTable: 2, output });
    const lines = output.text().split('\n');
    expect(lines[0]).toContain('question');
    expect(lines[0]).toContain('example_answer');
    expect(lines[0]).toContain('pred_answer');
    expect(lines[0]).toContain('answer_match');
    expect(lines[2]).toContain('✔️ [1]');
    expect(lines[2]).toContain('w0 w1 w2');
    expect(lines[2]).toContain('…');
    expect(lines).toContain('... 1 more rows not displayed ...');
    expect(truncateCell(long)).toBe(`${long.split(' ').slice(0, 25).join(' ')}...`);
    expect(renderTable([{ q: 'a', m: 0.5 }], 'm', true)).toContain('✔️ [0.500]');
  });
});

describe('saving results', () => {
  it("writes DSPy's JSON records and a CSV with proper escaping, both read back exactly", async () => {
    const tricky = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', ' padded '];
    const devset = tricky.map((text, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1), note: text }).withInputs('question'));
    const lm = new ScriptedChatLM((question) => {
      const i = Number(/What is (\d+)/.exec(question)![1]);
      if (i === 0) throw new Error('first one fails'); // the first row has no prediction fields
      return tricky[i]!;
    });
    const jsonPath = join(dir, 'results.json');
    const csvPath = join(dir, 'results.csv');
    const result = await evaluate(qaProgram(lm), devset, exactMatch, { runtime: rt, saveAsJson: jsonPath, saveAsCsv: csvPath });
    const records = resultRecords(result.results, 'exactMatch');
    expect(JSON.parse(readFileSync(jsonPath, 'utf8'))).toEqual(records);
    expect(records[0]).toEqual({ question: 'What is 0 + 1?', answer: '1', note: 'plain', exactMatch: 0 });
    expect(records[2]).toEqual({ question: 'What is 2 + 1?', example_answer: '3', note: 'with "quotes"', pred_answer: 'with "quotes"', exactMatch: 0 });

    const csv = readFileSync(csvPath, 'utf8');
    expect(csv).toBe(toCsv(records));
    expect(csv.split('\r\n')[0]).toBe('question,answer,note,exactMatch,example_answer,pred_answer');
    expect(csv).toContain('"with, comma"');
    expect(csv).toContain('"with ""quotes"""');
    expect(csv).toContain('"two\nlines"');
    expect(parseCsv(csv)).toEqual([
      ['question', 'answer', 'note', 'exactMatch', 'example_answer', 'pred_answer'],
      ['What is 0 + 1?', '1', 'plain', '0', '', ''],
      // The ChatAdapter strips a field's surrounding whitespace, as DSPy's does.
      ...tricky.slice(1).map((text, i) => [`What is ${i + 1} + 1?`, '', text, '0', String(i + 2), text.trim()]),
    ]);
  });

  it('quotes a lone empty field as Python does, and writes Python str() of other values', () => {
    expect(toCsv([{ a: '' }])).toBe('a\r\n""\r\n');
    expect(toCsv([{ a: true, b: null, c: 0.5, d: [1, 'x'] }])).toBe('a,b,c,d\r\nTrue,,0.5,"[1, \'x\']"\r\n');
  });
});

describe('supervision', () => {
  it('runs every example as a task of the TaskSupervisor it is given', async () => {
    const started = await TaskSupervisor.start(rt);
    if (!('ok' in started)) throw new Error('no supervisor');
    const release = deferred();
    const fourRunning = deferred();
    const lm = new ScriptedChatLM(async (question) => {
      if (lm.inFlight === 4) fourRunning.resolve();
      await release.promise;
      return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
    });
    const telemetry = new EvaluateTelemetry();
    const running = evaluate(qaProgram(lm), mathDevset(8), exactMatch, { runtime: rt, supervisor: started.ok, concurrency: 4, telemetry });
    await fourRunning.promise;
    expect(await TaskSupervisor.children(rt, started.ok)).toHaveLength(4);
    const done = nextEvalEvent(telemetry, 'eval_done');
    release.resolve();
    await done;
    expect((await running).score).toBe(100);
    expect(await TaskSupervisor.children(rt, started.ok)).toHaveLength(0);
  });

  it('an example whose task is killed ends as DSPEX_EVAL_TASK_EXIT, its work aborted, and the rest still run', async () => {
    const started = await TaskSupervisor.start(rt);
    if (!('ok' in started)) throw new Error('no supervisor');
    const held = deferred();
    const release = deferred();
    const lm = new ScriptedChatLM(async (question) => {
      if (question.startsWith('What is 1 ')) {
        held.resolve();
        await release.promise;
      }
      return String(Number(/What is (\d+)/.exec(question)![1]) + 1);
    });
    const running = evaluate(qaProgram(lm), mathDevset(8), exactMatch, { runtime: rt, supervisor: started.ok, concurrency: 2 });
    await held.promise;
    // The task holding example 1 is the one the LM is waiting in; kill every child but leave the others' work to retry.
    const children = await TaskSupervisor.children(rt, started.ok);
    for (const pid of children) rt.exit(pid, 'kill');
    release.resolve();
    const result = await running;
    expect(result.failures.map((f) => f.code)).toContain('DSPEX_EVAL_TASK_EXIT');
    expect(result.failures.map((f) => f.index)).toContain(1);
    expect(lm.aborted).toContain('What is 1 + 1?');
    expect(result.results).toHaveLength(8);
    expect(result.stats.failed).toBe(result.failures.length);
    expect(result.score).toBe(((8 - result.failures.length) / 8) * 100);
    expect(await TaskSupervisor.children(rt, started.ok)).toHaveLength(0);
  });
});

/** A CSV reader for the test (RFC 4180): quoted fields, doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  return rows;
}
