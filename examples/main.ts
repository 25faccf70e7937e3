// The main job, end to end on the embedded SmolLM2 model: start the DSPex supervision tree and print it,
// answer with a native ChainOfThought, then (study.ts) evaluate a classifier, improve it with
// BootstrapFewShot, evaluate again, and run it in Python DSPy while a worker is killed mid-run; last, a durable
// pipeline (pipeline.ts) journaled on SQLite.
// Run it with `npm start` from the repository root.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DSPex, PipelineRunner } from '@dspex/orchestration';
import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { ChainOfThought, JSONAdapter, configure } from 'dspex';
import { pino } from 'pino';
import { QUESTION, qaPipeline } from './pipeline.js';
import { runStudy } from './study.js';

const started = performance.now();
const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1);
const rt = new Runtime({ logger: pino({ level: process.env.DSPEX_LOG_LEVEL ?? 'silent' }) });

console.log('Starting the DSPex application (Python workers and the embedded model start in the background)...');
const app = await DSPex.start(rt, { pools: { neural: false, general: { size: 2 }, optimizer: false } });
if (!app.lmNames.includes('local')) {
  console.error('The embedded model was not found. Run `bash scripts/setup-python.sh` (npm start runs it for you).');
  process.exit(1);
}
const lm = await app.lm('local');
// The JSON adapter asks the model for JSON matching the signature's schema, and the local server decodes
// under that schema's grammar, so even a 135M-parameter model answers in a shape the program can parse.
configure({ lm, adapter: new JSONAdapter() });
console.log(`\n${await app.tree()}\n`);

console.log('1. A native ChainOfThought answering on the embedded SmolLM2-135M-Instruct:');
const qa = new ChainOfThought('question -> answer', { config: { temperature: 0, max_tokens: 96 } });
const question = 'What is the capital of France?';
const prediction = await qa.call({ question });
console.log(`   question:  ${question}`);
console.log(`   reasoning: ${String(prediction.get('reasoning')).slice(0, 160)}`);
console.log(`   answer:    ${String(prediction.get('answer'))}`);
console.log(`   (${seconds()} s so far)\n`);

await runStudy(rt, app, lm, seconds);

console.log('\n6. A durable pipeline (pipeline.ts): retrieve (BM25) -> answer (ChainOfThought) -> check (Python DSPy), each step journaled on SQLite:');
const dataDir = mkdtempSync(join(tmpdir(), 'dspex-main-pipeline-'));
const store = await openStore({ sqlite: { dir: dataDir } });
const run = new PipelineRunner(rt, { store }).start(qaPipeline(rt, app), { question: QUESTION });
for await (const event of run.events()) if (event.type === 'step_finished') console.log(`   ${event.step.padEnd(8)} ${event.durationMs.toFixed(0).padStart(6)} ms, journaled`);
const output = await run.result;
console.log(`   question:  ${QUESTION}\n   answer:    ${String(output.answer).slice(0, 160)}\n   supported: ${String(output.supported)} (checked by dspy.Predict in Python)`);
console.log('   `npx pnpm@9 --filter @dspex/examples pipeline` SIGKILLs such a run mid-way and resumes it from the journal.');
await store.close();
rmSync(dataDir, { recursive: true, force: true });

await app.stop();
await rt.shutdown();
console.log(`\nDone in ${seconds()} s; every process of the tree, Python and model server included, has exited.`);
