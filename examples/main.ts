// The main job, end to end on the embedded SmolLM2 model: start the DSPex supervision tree and print it,
// answer with a native ChainOfThought, then (study.ts) evaluate a classifier, improve it with
// BootstrapFewShot, evaluate again, and run it in Python DSPy while a worker is killed mid-run.
// Run it with `npm start` from the repository root.

import { Runtime } from '@dspex/runtime';
import { ChainOfThought, DSPex, JSONAdapter, configure } from 'dspex';
import { pino } from 'pino';
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

await app.stop();
await rt.shutdown();
console.log(`\nDone in ${seconds()} s; every process of the tree, Python and model server included, has exited.`);
