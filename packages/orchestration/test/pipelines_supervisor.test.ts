// Runs under the application's Pipelines DynamicSupervisor (DESIGN.md: Pipelines DynamicSupervisor -> one
// supervisor per run, its steps' tasks under it): each run's supervisor is a temporary child while the run
// lasts and is gone when it ends, whether the run completed or failed; stopping the tree stops the runs.

import { DynamicSupervisor, Runtime, Supervisor } from '@dspex/runtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PIPELINES_SUPERVISOR, PipelineRunner, Pipelines, pipeline, step } from '../src/index.js';

let rt: Runtime;
beforeEach(() => void (rt = new Runtime()));
afterEach(() => rt.shutdown());

/** A one-step pipeline whose step waits for `release`, reporting when it started. */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let onStarted!: () => void;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  const p = pipeline('gated', { inputs: ['x'], steps: [step('wait', async ({ x }) => (onStarted(), await gate, { y: (x as number) + 1 }), { inputs: ['x'], outputs: ['y'] })] });
  return { p, started, release };
}

it('starts each run as a temporary child of the Pipelines DynamicSupervisor and removes it when the run ends', async () => {
  const tree = await Supervisor.start(rt, { strategy: 'one_for_one', children: [Pipelines.childSpec()] });
  expect('ok' in tree).toBe(true);
  const runner = new PipelineRunner(rt, { supervisor: PIPELINES_SUPERVISOR });
  const { p, started, release } = gated();
  const run = runner.start(p, { x: 1 });
  await started;
  const children = await DynamicSupervisor.whichChildren(rt, PIPELINES_SUPERVISOR);
  expect(children).toHaveLength(1);
  expect(children[0]!.type).toBe('supervisor');
  release();
  expect((await run.result).y).toBe(2);
  expect(await DynamicSupervisor.whichChildren(rt, PIPELINES_SUPERVISOR)).toEqual([]);

  const failing = pipeline('failing', { inputs: ['x'], steps: [step('boom', async () => { throw new Error('boom'); }, { inputs: ['x'], outputs: ['y'] })] });
  await expect(runner.start(failing, { x: 1 }).result).rejects.toMatchObject({ code: 'DSPEX_STEP_FAILED' });
  expect(await DynamicSupervisor.whichChildren(rt, PIPELINES_SUPERVISOR)).toEqual([]);
});

it('fails a run in progress when the Pipelines supervisor is stopped', async () => {
  const tree = await Supervisor.start(rt, { strategy: 'one_for_one', children: [Pipelines.childSpec({ name: 'my.pipelines' })] });
  if (!('ok' in tree)) throw new Error('tree did not start');
  const { p, started } = gated();
  const run = new PipelineRunner(rt, { supervisor: 'my.pipelines' }).start(p, { x: 1 });
  await started;
  await Supervisor.stop(rt, tree.ok);
  await expect(run.result).rejects.toThrow();
});
