// The progress display of pipeline runs on a fake output stream: plain lines (not a terminal) and a bar redrawn
// in place (a terminal), steps done / total with a map's items counted once its list is known, the running
// steps (map items grouped), elapsed time, retries, failures, resumes, and the periodic line during a long step.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@dspex/runtime';
import { openStore, type Store } from '@dspex/store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PipelineRunner, map, pipeline, showProgress, step, type PipelineEvent } from '../src/index.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A stream that records what is written, as a terminal (isTTY) or not. */
function fakeOutput(isTTY: boolean, columns = 120) {
  const writes: string[] = [];
  const first = deferred();
  return { writes, isTTY, columns, firstWrite: first.promise, write: (text: string) => void (writes.push(text), first.resolve()) };
}

/** retrieve -> map 'score' over three passages (all three run at once, held until `release`) -> answer. */
function gatedQa() {
  const allStarted = deferred();
  const gate = deferred();
  let started = 0;
  const qa = pipeline('qa', {
    inputs: ['question'],
    steps: [
      step('retrieve', async ({ question }) => ({ passages: [`${question} 1`, `${question} 22`, `${question} 333`] }), { inputs: ['question'], outputs: ['passages'] }),
      map('score', {
        over: 'passages', as: 'passage', output: 'scores', concurrency: 3,
        body: step('len', async ({ passage }) => {
          if (++started === 3) allStarted.resolve();
          await gate.promise;
          return { score: String(passage).length };
        }, { inputs: ['passage'], outputs: ['score'] }),
      }),
      step('answer', async ({ scores }) => ({ answer: (scores as unknown[]).length }), { inputs: ['scores'], outputs: ['answer'] }),
    ],
  });
  return { qa, allStarted: allStarted.promise, release: gate.resolve };
}

let rt: Runtime | undefined;
let dir: string | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  await rt?.shutdown();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  rt = store = dir = undefined;
  vi.useRealTimers();
});

describe('runner.start(p, inputs, { progress })', () => {
  it('prints plain lines when the output is not a terminal: done / total, the map items once known, running steps, elapsed', async () => {
    rt = new Runtime();
    const output = fakeOutput(false);
    let t = 0;
    const { qa, allStarted, release } = gatedQa();
    const run = new PipelineRunner(rt).start(qa, { question: 'q' }, { progress: { output, intervalMs: 0, now: () => t, tickMs: 0 } });
    await allStarted;
    t = 3000;
    release();
    expect((await run.result).answer).toBe(3);
    expect(output.writes.at(-1)).toBe('qa | 5/5 steps (100%) | elapsed 00:03 | finished\n');
    expect(output.writes.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true);
    // Before retrieve produced the list, the map's items are unknown: the total is a lower bound (`+`).
    expect(output.writes[0]).toBe('qa | 0/2+ steps (0%) | elapsed 00:00 | running: retrieve\n');
    expect(output.writes).toContain('qa | 1/5 steps (20%) | elapsed 00:00 | running: score[]/len ×3\n');
  });

  it('redraws one bar in place on a terminal, at most once per redrawMs, and ends it with a newline', async () => {
    rt = new Runtime();
    const output = fakeOutput(true, 100);
    let t = 0;
    const { qa, allStarted, release } = gatedQa();
    const run = new PipelineRunner(rt).start(qa, { question: 'q' }, { progress: { output, redrawMs: 100, now: () => t, tickMs: 0 } });
    await allStarted;
    // Every event so far came at t = 0: only the first was drawn.
    expect(output.writes).toEqual([expect.stringMatching(/^\r\x1b\[2Kqa:   0%\| +\| 0\/2\+ steps \[00:00\] running: retrieve$/)]);
    t = 2000;
    release();
    await run.result;
    const [bar, newline] = output.writes.slice(-2);
    expect(newline).toBe('\n');
    expect(bar).toMatch(/^\r\x1b\[2Kqa: 100%\|█+\| 5\/5 steps \[00:02\] finished$/);
    expect(output.writes.slice(0, -1).every((w) => w.startsWith('\r\x1b[2K') && !w.includes('\n'))).toBe(true);
    expect(output.writes.every((w) => [...w].length <= 100 + '\r\x1b[2K'.length)).toBe(true);
  });

  it('counts retries and failures and ends with the run\'s error', async () => {
    rt = new Runtime();
    const output = fakeOutput(false);
    let calls = 0;
    const p = pipeline('flaky', {
      inputs: ['x'],
      steps: [
        step('wobbly', async ({ x }) => {
          if (++calls === 1) throw new Error('first attempt fails');
          return { y: x };
        }, { inputs: ['x'], outputs: ['y'], retry: { attempts: 2, backoffMs: 0, retryOn: () => true } }),
        step('optional', async () => { throw new Error('not today'); }, { inputs: ['y'], outputs: ['z'], onFailure: 'skip' }),
        step('broken', async () => { throw new Error('the disk is full'); }, { inputs: ['y'], outputs: ['w'] }),
        step('never', async () => ({ v: 1 }), { inputs: ['w'], outputs: ['v'] }),
      ],
    });
    const run = new PipelineRunner(rt).start(p, { x: 1 }, { progress: { output, intervalMs: 0, now: () => 0, tickMs: 0 } });
    const error = await run.result.catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'DSPEX_STEP_FAILED', step: 'broken' });
    // optional failed for good too (then skipped); wobbly's first attempt failed and was retried.
    expect(output.writes.at(-1)).toBe(`flaky | 3/4 steps (75%) | elapsed 00:00 | 2 failed | 1 retry | run failed: ${(error as Error).message}\n`);
  });

  it('shows a resumed run\'s replayed steps, finding the pipeline by name', async () => {
    rt = new Runtime();
    dir = mkdtempSync(join(tmpdir(), 'dspex-progress-'));
    store = await openStore({ sqlite: { dir } });
    let fail = true;
    const p = pipeline('twice', {
      inputs: ['x'],
      steps: [
        step('first', async ({ x }) => ({ y: (x as number) + 1 }), { inputs: ['x'], outputs: ['y'] }),
        step('second', async ({ y }) => {
          if (fail) throw new Error('not yet');
          return { z: (y as number) * 2 };
        }, { inputs: ['y'], outputs: ['z'] }),
      ],
    });
    const runner = new PipelineRunner(rt, { store, pipelines: [p] });
    const first = runner.start(p, { x: 1 });
    await expect(first.result).rejects.toThrow(/not yet/);
    fail = false;
    const output = fakeOutput(false);
    const resumed = runner.resume(first.runId, { progress: { output, intervalMs: 0, now: () => 0, tickMs: 0 } });
    expect((await resumed.result).z).toBe(4);
    expect(output.writes.at(-1)).toBe('twice | 2/2 steps (100%) | elapsed 00:00 | 1 replayed | finished\n');
    expect(output.writes[0]).toBe('twice | 1/2 steps (50%) | elapsed 00:00 | 1 replayed\n');

    // A completed run resumes to its stored output at once; its result still waits for the display's last line.
    const again = fakeOutput(false);
    expect((await runner.resume(first.runId, { progress: { output: again, now: () => 0, tickMs: 0 } }).result).z).toBe(4);
    expect(again.writes).toEqual(['twice | 0/0 steps (0%) | elapsed 00:00 | finished\n']);
  });
});

describe('showProgress(run)', () => {
  it('shows any run; without the pipeline the total is what it has seen', async () => {
    rt = new Runtime();
    const output = fakeOutput(false);
    const { qa, release } = gatedQa();
    release();
    const run = new PipelineRunner(rt).start(qa, { question: 'q' });
    await showProgress(run, { output, intervalMs: 60_000, now: () => 0, tickMs: 0 });
    expect(output.writes).toEqual(['qa | 0/1+ steps (0%) | elapsed 00:00 | running: retrieve\n', 'qa | 5/5 steps (100%) | elapsed 00:00 | finished\n']);
    expect((await run.result).answer).toBe(3);
  });

  it('prints a line every intervalMs while a long step runs, with no event coming', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const output = fakeOutput(false);
    let t = 0;
    const done = deferred();
    const base = { runId: 'r1', pipeline: 'slow' };
    async function* events(): AsyncGenerator<PipelineEvent> {
      yield { type: 'step_started', ...base, step: 'think', attempt: 1 };
      await done.promise;
      yield { type: 'step_finished', ...base, step: 'think', durationMs: 12_000, attempts: 1, replayed: false, outcome: 'ok', outputs: {} };
      yield { type: 'run_finished', ...base, durationMs: 12_000 };
    }
    const shown = showProgress(events(), { output, intervalMs: 5000, now: () => t });
    await output.firstWrite;
    t = 6000;
    vi.advanceTimersByTime(5000);
    expect(output.writes).toEqual(['slow | 0/1+ steps (0%) | elapsed 00:00 | running: think\n', 'slow | 0/1+ steps (0%) | elapsed 00:06 | running: think\n']);
    t = 12_000;
    done.resolve();
    await shown;
    expect(output.writes.at(-1)).toBe('slow | 1/1 steps (100%) | elapsed 00:12 | finished\n');
  });
});
