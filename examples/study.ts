// Part two of the main example: a program that improves itself from data. A native Predict classifies which
// animal a sentence mentions; it is evaluated, optimized with BootstrapFewShot, evaluated again, and then the
// optimized program runs in real Python DSPy in a worker pool while one worker is killed mid-evaluation.

import type { Runtime } from '@dspex/runtime';
import { LocalLM } from '@dspex/local-lm';
import { pythonProgram, type DSPexApp, type PythonSession } from '@dspex/orchestration';
import { BootstrapFewShot, EvaluateTelemetry, Example, Predict, evaluate, type LM } from 'dspex';

const ANIMALS = ['cat', 'dog', 'bird', 'fish'] as const;
const TEMPLATES = [
  'My {} sleeps all day.',
  'We saw a {} at the park.',
  'The {} was hungry this morning.',
  'A small {} lives next door.',
  'Her {} is very old.',
  'The {} made a lot of noise.',
];

/** 24 labelled sentences, generated: every template with every animal. Even ones train, odd ones evaluate. */
function dataset(): { trainset: Example[]; devset: Example[] } {
  const items = TEMPLATES.flatMap((template) => ANIMALS.map((animal) => new Example({ text: template.replace('{}', animal), animal }).withInputs('text')));
  return { trainset: items.filter((_, i) => i % 2 === 0), devset: items.filter((_, i) => i % 2 === 1) };
}

const SIGNATURE = "text -> animal: Literal['cat', 'dog', 'bird', 'fish']";
const metric = (example: Example, prediction: Example): boolean => example.get('animal') === prediction.get('animal');

export async function runStudy(rt: Runtime, app: DSPexApp, lm: LM, seconds: () => string): Promise<void> {
  const { trainset, devset } = dataset();
  const program = new Predict(SIGNATURE, { temperature: 0, max_tokens: 24 });
  const options = { concurrency: 4, runtime: rt, displayProgress: true, maxErrors: devset.length };

  console.log(`2. Evaluate the zero-shot program on ${devset.length} examples (metric: exact label):`);
  const before = await evaluate(program, devset, metric, options);

  console.log(`\n3. BootstrapFewShot on ${trainset.length} training examples (up to 4 bootstrapped demos, examples run concurrently):`);
  const optimizer = new BootstrapFewShot({ metric, maxBootstrappedDemos: 4, maxLabeledDemos: 4, runtime: rt, maxErrors: trainset.length });
  const optimized = await optimizer.compile(program, { trainset });
  console.log(`   ${optimized.demos.length} demos picked (${seconds()} s so far)`);

  console.log('\n4. Evaluate the optimized program on the same examples:');
  const after = await evaluate(optimized, devset, metric, options);
  console.log('\n   program            score');
  console.log(`   zero-shot          ${String(before.get('score')).padStart(5)} %`);
  console.log(`   BootstrapFewShot   ${String(after.get('score')).padStart(5)} %\n`);

  await runInPython(rt, app, optimized, devset);
}

/**
 * The optimized program, saved in DSPy's JSON format, loaded into real Python DSPy in the `general` pool and
 * pointed at the same embedded model. A worker's Python process is SIGKILLed after the 3rd example: the pool
 * restarts it, the program is recreated in the rebuilt session and the interrupted examples are retried.
 */
async function runInPython(rt: Runtime, app: DSPexApp, optimized: Predict, devset: Example[]): Promise<void> {
  const pool = app.pools.general;
  if (pool === undefined) return;
  console.log('5. The same optimized program in Python DSPy (saved as DSPy JSON, loaded in a worker), and a worker killed mid-run:');
  const { baseUrl } = await LocalLM.info(rt);
  const state = await optimized.save();
  const setup = async (session: PythonSession): Promise<string> => {
    await session.call('configure_lm', { model: 'openai/smollm2-135m-instruct', api_base: baseUrl, api_key: 'local', cache: false, temperature: 0, max_tokens: 24, adapter: 'json' });
    const loaded = await session.call<{ handle: string }>('load', { class: 'dspy.Predict', args: [SIGNATURE], state });
    return loaded.handle;
  };
  const session = pool.session(undefined, { affinity: 'strict_queue' });
  const program = pythonProgram(session, await setup(session), { idempotent: true, recreate: setup });
  const { pid: workerOsPid } = await session.call<{ pid: number }>('info'); // the worker this session is pinned to

  const telemetry = new EvaluateTelemetry();
  let killed: number | undefined;
  telemetry.on('eval_example', (event) => {
    if (event.done !== 3 || killed !== undefined) return;
    killed = workerOsPid;
    console.log(`   killing Python worker ${killed} (the session's) with SIGKILL after ${event.done} examples`);
    process.kill(killed, 'SIGKILL');
  });
  let retries = 0;
  telemetry.on('eval_retry', () => retries++);
  const result = await evaluate(program, devset, metric, { concurrency: 4, runtime: rt, telemetry, maxErrors: devset.length });
  const rows = result.results.length;
  console.log(`   Python DSPy score ${String(result.get('score'))} %: ${rows} of ${devset.length} examples scored, ${retries} retried after the kill, ${result.failures.length} lost`);
  await session.close().catch(() => undefined);
}
