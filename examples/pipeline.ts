// A durable pipeline that survives a SIGKILL: retrieve passages from a small local corpus (BM25), answer with a
// native ChainOfThought on the embedded model, then check the answer in Python DSPy (dspy.Predict in a pool).
// The example forks itself: the child runs the pipeline on a SQLite journal, the parent SIGKILLs it as soon as
// the child reports (over IPC) that its first step was journaled, then resumes the run: journaled steps are
// skipped, the step that was in flight runs again. `npx pnpm@9 --filter @dspex/examples pipeline`.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DSPex, PipelineRunner, pipeline, setupPythonProgram, step, type DSPexApp, type Pipeline, type PipelineStore, type PythonProgram, type PythonSession, type StepFunction } from '@dspex/orchestration';
import { LocalLM } from '@dspex/local-lm';
import type { PythonPool } from '@dspex/python-bridge';
import { Runtime } from '@dspex/runtime';
import { openStore, type JsonValue } from '@dspex/store';
import { ChainOfThought, JSONAdapter, configure } from 'dspex';
import { pino } from 'pino';

/** The corpus: a few paragraphs the retriever ranks with BM25. */
export const CORPUS = [
  'The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed by the engineering company of Gustave Eiffel and completed in 1889 for the World Fair.',
  'The Great Wall of China is a series of fortifications built across the northern borders of ancient Chinese states to protect them against nomadic groups.',
  'Mount Everest, in the Himalayas on the border of Nepal and China, is the highest mountain on Earth above sea level, at 8,849 metres.',
  'The Amazon is the largest rainforest on Earth. Most of it lies in Brazil, and the Amazon River flows through it to the Atlantic Ocean.',
  'Paris is the capital and largest city of France. The Louvre, in Paris, is the most visited art museum in the world.',
];

const tokens = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/** The `k` passages of CORPUS with the highest BM25 score for `query` (k1 = 1.2, b = 0.75). */
export function bm25(query: string, k = 2, corpus: readonly string[] = CORPUS): string[] {
  const docs = corpus.map(tokens);
  const avgLength = docs.reduce((n, d) => n + d.length, 0) / docs.length;
  const idf = (term: string): number => {
    const having = docs.filter((d) => d.includes(term)).length;
    return Math.log(1 + (docs.length - having + 0.5) / (having + 0.5));
  };
  const score = (doc: string[]): number =>
    tokens(query).reduce((sum, term) => {
      const tf = doc.filter((t) => t === term).length;
      return sum + (idf(term) * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * doc.length) / avgLength));
    }, 0);
  return docs.map((doc, i) => ({ i, s: score(doc) })).sort((a, b) => b.s - a.s).slice(0, k).map(({ i }) => corpus[i]!);
}

/** The check step: dspy.Predict in a Python worker on the same embedded model, set up on its first call. */
function checkInPython(rt: Runtime, pool: PythonPool): StepFunction {
  let program: Promise<PythonProgram> | undefined;
  const setup = async (session: PythonSession): Promise<string> => {
    const { baseUrl } = await LocalLM.info(rt);
    await session.call('configure_lm', { model: 'openai/smollm2-135m-instruct', api_base: baseUrl, api_key: 'local', cache: false, temperature: 0, max_tokens: 32, adapter: 'json' });
    return (await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['context, question, answer -> supported: bool'] })).handle;
  };
  return async (inputs, { signal }) => {
    program ??= setupPythonProgram(pool.session(undefined, { affinity: 'strict_queue' }), setup, { idempotent: true });
    const prediction = await (await program).call(inputs, { signal });
    return { supported: prediction.get('supported') };
  };
}

/** retrieve (BM25, a function) -> answer (ChainOfThought, native) -> check (dspy.Predict, Python). */
export function qaPipeline(rt: Runtime, app: DSPexApp): Pipeline {
  if (app.pools.general === undefined) throw new Error('the qa pipeline checks answers in the `general` Python pool: start DSPex with it.');
  return pipeline('local-qa', {
    inputs: ['question'],
    steps: [
      step('retrieve', ({ question }) => ({ context: bm25(String(question)).join('\n') }), { inputs: ['question'], outputs: ['context'] }),
      step('answer', new ChainOfThought('context, question -> answer', { config: { temperature: 0, max_tokens: 96 } }), { inputs: ['context', 'question'], outputs: ['reasoning', 'answer'], retry: { attempts: 2 } }),
      step('check', checkInPython(rt, app.pools.general), { inputs: ['context', 'question', 'answer'], outputs: ['supported'], retry: { attempts: 2 } }),
    ],
  });
}

/** The DSPex tree with the embedded model and one Python worker, and the JSON adapter (see main.ts). */
export async function startApp(rt: Runtime): Promise<DSPexApp> {
  const app = await DSPex.start(rt, { pools: { neural: false, general: { size: 1 }, optimizer: false } });
  if (!app.lmNames.includes('local')) throw new Error('The embedded model was not found. Run `bash scripts/setup-python.sh`.');
  configure({ lm: await app.lm('local'), adapter: new JSONAdapter() });
  return app;
}

/** The example's question: its answer is in one paragraph of CORPUS. */
export const QUESTION = 'When was the Eiffel Tower completed?';

/** The child: runs the pipeline, telling the parent (and waiting until the message is sent) after each journal write. */
async function child(dir: string, runId: string): Promise<void> {
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const app = await startApp(rt);
  const store = await openStore({ sqlite: { dir } });
  const journal: PipelineStore = {
    createRun: (input) => store.createRun(input),
    loadRun: (id) => store.loadRun(id),
    updateRun: (id, update) => store.updateRun(id, update),
    async appendJournal(id: string, entry: { stepKey: string; value: JsonValue }) {
      const written = await store.appendJournal(id, entry);
      console.log(`   [child ${process.pid}] step '${entry.stepKey}' done and journaled`);
      await new Promise<void>((resolve) => process.send!({ journaled: entry.stepKey }, () => resolve()));
      return written;
    },
  };
  const run = new PipelineRunner(rt, { store: journal }).start(qaPipeline(rt, app), { question: QUESTION }, { runId });
  await run.result; // not reached: the parent kills this process first
  await app.stop();
}

/** The parent: forks the child, SIGKILLs it after its first journaled step, and resumes the run itself. */
async function parent(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-pipeline-example-'));
  const runId = `qa-${process.pid}`;
  console.log(`Durable pipeline retrieve -> answer -> check on SQLite in ${dir}, run ${runId}`);
  console.log(`Question: ${QUESTION}\n\n1. A child process runs the pipeline:`);
  const worker = fork(fileURLToPath(import.meta.url), ['child', dir, runId], { execArgv: process.execArgv });
  const exited = once(worker, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const [first] = (await Promise.race([once(worker, 'message'), exited.then(() => [undefined])])) as [{ journaled: string } | undefined];
  if (first === undefined) throw new Error('the child exited before journaling a step; see its output above.');
  worker.kill('SIGKILL');
  const [, signal] = await exited;
  console.log(`   [parent] killed the child with ${String(signal)} after '${first.journaled}' was journaled, while the next step was running\n`);

  console.log('2. The parent resumes the run from the journal:');
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const app = await startApp(rt);
  const store = await openStore({ sqlite: { dir } });
  try {
    const run = new PipelineRunner(rt, { store, pipelines: [qaPipeline(rt, app)] }).resume(runId);
    for await (const event of run.events()) {
      if (event.type !== 'step_finished') continue;
      if (event.replayed) console.log(`   skipped (already done): ${event.step}`);
      else console.log(`   ran: ${event.step} (${event.durationMs.toFixed(0)} ms, attempt ${event.attempts})`);
    }
    const output = await run.result;
    console.log(`\nFinal answer: ${String(output.answer)}`);
    console.log(`Checked in Python DSPy (supported by the context): ${String(output.supported)}`);
  } finally {
    await store.close();
    await app.stop();
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv[4]!);
  else await parent();
}
