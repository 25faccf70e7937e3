// Random pipelines for the durability tests, as plain JSON specs so a child process can rebuild the same
// pipeline: function steps (a hash of their inputs), LM steps (a Predict on the loopback LM) and maps over
// a list with either as the body. Outputs are deterministic, so a disturbed run must end as an undisturbed one.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Predict } from 'dspex';
import { map, pipeline, step, type Node, type Pipeline, type StepNode } from '../../src/index.js';

export type LeafSpec = { kind: 'fn' | 'lm'; idempotent: boolean };
export type NodeSpec = LeafSpec | { kind: 'map'; items: number; concurrency: number; body: LeafSpec };
export interface PipelineSpec { nodes: NodeSpec[] }

export const leafSpec = fc.record({ kind: fc.constantFrom<'fn' | 'lm'>('fn', 'lm'), idempotent: fc.constant(true) });
export const specArb: fc.Arbitrary<PipelineSpec> = fc.record({
  nodes: fc.array(fc.oneof(leafSpec, fc.record({ kind: fc.constant<'map'>('map'), items: fc.integer({ min: 1, max: 6 }), concurrency: fc.integer({ min: 1, max: 4 }), body: leafSpec })), { minLength: 1, maxLength: 5 }),
});

/** Hooks the harness uses to count executions and inject a throw on a step's first attempt. */
export interface ModelHooks {
  onExecute?(key: string): void;
  throwOnce?: ReadonlySet<string>;
}

class Flaky extends Error { readonly code = 'TEST_INJECTED'; readonly retryable = true; }

function leaf(name: string, spec: LeafSpec, input: string, output: string, hooks: ModelHooks): StepNode {
  const options = { inputs: [input], outputs: [output], retry: { attempts: 2, backoffMs: 1 }, idempotent: spec.idempotent };
  if (spec.kind === 'lm') {
    // The Predict's input field is `question`; a function step in front renames the field.
    const predict = new Predict(`question -> ${output}`);
    return step(name, async (inputs, context) => {
      hooks.onExecute?.(context.key);
      if (context.attempt === 1 && hooks.throwOnce?.has(context.key)) throw new Flaky(`injected at ${context.key}`);
      const prediction = await predict.call({ question: JSON.stringify(inputs[input]) }, { signal: context.signal });
      return { [output]: prediction.get(output) };
    }, options);
  }
  return step(name, async (inputs, context) => {
    hooks.onExecute?.(context.key);
    if (context.attempt === 1 && hooks.throwOnce?.has(context.key)) throw new Flaky(`injected at ${context.key}`);
    return { [output]: createHash('sha256').update(JSON.stringify(inputs[input])).digest('hex').slice(0, 10) };
  }, options);
}

export function buildPipeline(spec: PipelineSpec, hooks: ModelHooks = {}, name = 'model'): Pipeline {
  let field = 'seed';
  const nodes: Node[] = spec.nodes.map((node, i) => {
    const output = `f${i}`;
    const input = field;
    field = output;
    if (node.kind !== 'map') return leaf(`s${i}`, node, input, output, hooks);
    return sequence2(
      step(`list${i}`, async (inputs) => ({ [`list${i}`]: Array.from({ length: node.items }, (_, k) => `${String(inputs[input])}:${k}`) }), { inputs: [input], outputs: [`list${i}`] }),
      map(`m${i}`, { over: `list${i}`, concurrency: node.concurrency, output, body: leaf('body', node.body, 'item', 'value', hooks) }),
    );
  });
  return pipeline(name, { inputs: ['seed'], steps: nodes });
}

function sequence2(a: Node, b: Node): Node {
  return { kind: 'sequence', steps: [a, b] };
}

/** Every leaf step key the pipeline executes, for fault selection. */
export function leafKeys(spec: PipelineSpec): string[] {
  return spec.nodes.flatMap((node, i) => (node.kind === 'map' ? [`list${i}`, ...Array.from({ length: node.items }, (_, k) => `m${i}[${k}]/body`)] : [`s${i}`]));
}
