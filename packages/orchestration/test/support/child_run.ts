// A pipeline run in a child process, for the SIGKILL tests: rebuilds the spec's pipeline against a SQLite file
// and the parent's loopback LM, reports every step execution and journal append over IPC (so the parent can
// SIGKILL it at an exact point), and reports the result. argv: start|resume.

import { Runtime } from '@dspex/runtime';
import { openStore } from '@dspex/store';
import { ChatAdapter, LM, configure } from 'dspex';
import { PipelineRunner } from '../../src/index.js';
import { buildPipeline, type PipelineSpec } from './model.js';

const send = (message: unknown): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));
const mode = process.argv[2];
const spec = JSON.parse(process.env.SPEC!) as PipelineSpec;
const rt = new Runtime();
const lm = await LM.start(rt, { model: 'openai/tiny', apiBase: process.env.LM_URL!, apiKey: 'unused', cache: { memory: false } });
configure({ lm, adapter: new ChatAdapter() });
const store = await openStore({ sqlite: { dir: process.env.DB_DIR! } });
const journal = {
  createRun: store.createRun.bind(store),
  loadRun: store.loadRun.bind(store),
  updateRun: store.updateRun.bind(store),
  async appendJournal(runId: string, entry: { stepKey: string; value: never }) {
    const result = await store.appendJournal(runId, entry);
    await send({ type: 'append', key: entry.stepKey }); // acknowledged before the next step starts
    return result;
  },
};
const p = buildPipeline(spec, { onExecute: (key) => void process.send!({ type: 'execute', key }) });
const runner = new PipelineRunner(rt, { store: journal, pipelines: [p] });
const run = mode === 'start' ? runner.start(p, { seed: process.env.SEED_VALUE! }, { runId: process.env.RUN_ID! }) : runner.resume(process.env.RUN_ID!);
try {
  const output = await run.result;
  await send({ type: 'done', output });
} catch (error) {
  await send({ type: 'error', message: String(error) });
}
await rt.shutdown();
await store.close();
process.exit(0);
