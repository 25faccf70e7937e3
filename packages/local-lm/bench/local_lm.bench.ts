// `npm run bench:local-lm`: the embedded SmolLM2's decoding speed (one uncached call of 64 tokens after a
// warm-up, best of 2) through a dspex LM client of the server, as a user waiting on an answer sees it (the
// prompt is part of the time). Moved from bench:dspex with the model. The last stdout line is one JSON object;
// local_lm_tokens_per_s is null without the model (run scripts/setup-python.sh).

import { Runtime } from '@dspex/runtime';
import { LM } from 'dspex';
import { pino } from 'pino';
import { LocalLM, findLocalModel, measureTokensPerSecond } from '../src/index.js';

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** The embedded SmolLM2's decoding speed, or null without the model. */
async function localTokensPerSecond(): Promise<number | null> {
  try {
    findLocalModel();
  } catch {
    return null;
  }
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const local = await LocalLM.start(rt, {});
  const lm = await LM.start(rt, LocalLM.clientOptions());
  try {
    await measureTokensPerSecond(lm, 'Say hello.', 8);
    let best = 0;
    for (let i = 0; i < 2; i++) best = Math.max(best, (await measureTokensPerSecond(lm, 'Write three sentences about the sea.', 64)).tokensPerSecond);
    return round(best);
  } finally {
    await lm.stop();
    await local.stop();
    await rt.shutdown();
  }
}

const tokensPerSecond = await localTokensPerSecond();
console.log(`local model              ${tokensPerSecond ?? 'skipped (no model: run scripts/setup-python.sh)'} tokens/s`);
console.log(JSON.stringify({ local_lm_tokens_per_s: tokensPerSecond, node: process.version, cpus: (await import('node:os')).availableParallelism() }));
