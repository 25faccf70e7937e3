// Evaluate against the reference: the same devset, answers and metric through real dspy.Evaluate (DSPy 3.4 in
// the project's .venv) and through evaluate() with a native Predict must give the same per-example scores, the
// same failures and the same percentage; Python's round() and pyRound agree on ties and binary fractions.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findPython } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { evaluate, pyRound } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { ScriptedChatLM, qaProgram, quietRuntime } from './evaluate_helpers.js';

const SCRIPT = fileURLToPath(new URL('./evaluate_reference.py', import.meta.url));

let rt: Runtime;
beforeEach(() => void (rt = quietRuntime()));
afterEach(() => rt.shutdown());

interface Reference {
  score: number;
  scores: number[];
  answers: Array<string | null>;
  rounded: Record<string, number[]>;
}

function runReference(input: unknown): Promise<Reference> {
  return new Promise((resolve, reject) => {
    const child = spawn(findPython(fileURLToPath(new URL('.', import.meta.url))), [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`reference script exited ${code}: ${stderr.slice(-2000)}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Reference);
    });
    child.stdin.end(JSON.stringify(input));
  });
}

/** Token overlap: the share of the gold answer's words found in the prediction (the Python metric's twin). */
function overlap(example: Example, prediction: Prediction): number {
  const gold = new Set(String(example.get('answer')).split(/\s+/).filter(Boolean));
  const got = new Set(String(prediction.get('answer')).split(/\s+/).filter(Boolean));
  let shared = 0;
  for (const word of gold) if (got.has(word)) shared++;
  return shared / gold.size;
}

it('gives the same per-example scores, failures and percentage as real dspy.Evaluate', async () => {
  const gold = ['red green blue', 'one two three four five six seven', 'alpha beta', 'cat', 'x y z'];
  const predicted = ['red blue', 'two four six', 'beta', 'dog', 'x y z'];
  const devset: Example[] = [];
  const answers: Record<string, string> = {};
  for (let i = 0; i < 23; i++) {
    const question = `Q${String(i).padStart(2, '0')}: which words?`;
    devset.push(new Example({ question, answer: gold[i % gold.length]! }).withInputs('question'));
    if (i % 7 !== 3) answers[question] = predicted[(i * 3) % predicted.length]!; // 3, 10 and 17 have no answer: they fail
  }
  const values = [12.125, 0.125, 2.675, 1.005, 57.142857142857146, 66.665, 99.995, -2.5, 0.5, 1.5, 2.5, 1e-7, 123456.785, 14.0625, 33.33333333333333];
  const ndigits = [0, 1, 2, 3];
  const failureScore = 0.1;
  const reference = await runReference({ devset: devset.map((e) => e.toDict()), answers, num_threads: 4, failure_score: failureScore, round: values, ndigits });

  const lm = new ScriptedChatLM((question) => {
    const answer = answers[question];
    if (answer === undefined) throw new Error(`no scripted answer for ${question}`);
    return answer;
  });
  const result = await evaluate(qaProgram(lm), devset, overlap, { runtime: rt, concurrency: 4, failureScore, maxErrors: devset.length + 1 });

  expect(result.results.map(([, , score]) => score)).toEqual(reference.scores);
  expect(result.results.map(([, prediction]) => prediction.get('answer') ?? null)).toEqual(reference.answers);
  expect(result.failures.map((f) => f.index)).toEqual([3, 10, 17]);
  expect(result.score).toBe(reference.score);
  for (const n of ndigits) expect(values.map((v) => pyRound(v, n)), `ndigits ${n}`).toEqual(reference.rounded[String(n)]);
}, 60_000);
