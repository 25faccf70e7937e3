// Example, Prediction, Completions, the Module walk (named_parameters naming, compiled sub-modules, deepcopy)
// and the settings context, as DSPy's tests/primitives exercise them.

import { describe, expect, test } from 'vitest';
import { Example } from '../src/primitives/example.js';
import { Completions, Prediction } from '../src/primitives/prediction.js';
import { Module, type Inputs } from '../src/program/module.js';
import { configure, currentSettings, resetSettings, withSettings } from '../src/program/settings.js';
import { CompletionsShapeError, ExampleInputsNotSetError, MissingFieldError } from '../src/primitives/errors.js';
import { Predict } from '../src/predict/predict.js';
import { ChainOfThought } from '../src/predict/chain_of_thought.js';
import { ScriptedLM } from './support/scripted_lm.js';

describe('Example', () => {
  test('fields read as properties and with get(); methods win over same-named fields', () => {
    const example = new Example({ question: 'Why?', answer: 'Because.', keys: 'a field named keys' });
    expect(example.question).toBe('Why?');
    expect(example.get('answer')).toBe('Because.');
    expect(example.get('missing', 'fallback')).toBe('fallback');
    expect(typeof example.keys).toBe('function');
    expect(example.get('keys')).toBe('a field named keys');
    expect('question' in example).toBe(true);
    expect('nope' in example).toBe(false);
    example.answer = 'Changed.';
    expect(example.toDict()).toEqual({ question: 'Why?', answer: 'Changed.', keys: 'a field named keys' });
    expect(() => example.require('nope')).toThrow(MissingFieldError);
  });

  test('withInputs splits inputs from labels; inputs() before withInputs throws', () => {
    const example = new Example({ question: 'Why?', answer: 'Because.', source: 'web' });
    expect(() => example.inputs()).toThrow(ExampleInputsNotSetError);
    const tagged = example.withInputs('question');
    expect(example.inputKeys).toBeNull();
    expect(tagged.inputs().toDict()).toEqual({ question: 'Why?' });
    expect([...tagged.inputs().inputKeys!]).toEqual(['question']);
    expect(tagged.labels().toDict()).toEqual({ answer: 'Because.', source: 'web' });
    expect(tagged.labels().inputKeys).toBeNull();
  });

  test('copy and without keep the input split and leave the original alone (DSPy base= semantics)', () => {
    const tagged = new Example({ question: 'Why?', answer: 'Because.', source: 'web' }).withInputs('question');
    const copied = tagged.copy({ answer: 'No reason.' });
    expect(copied.answer).toBe('No reason.');
    expect(tagged.answer).toBe('Because.');
    expect(copied.inputs().toDict()).toEqual({ question: 'Why?' });
    const trimmed = tagged.without('source');
    expect(trimmed.keys()).toEqual(['question', 'answer']);
    expect(trimmed.labels().toDict()).toEqual({ answer: 'Because.' });
    expect(tagged.has('source')).toBe(true);
  });

  test('dspy_ fields are hidden from keys/size unless asked for; equality compares the fields', () => {
    const example = new Example({ question: 'q', dspy_uuid: 'x1' });
    expect(example.keys()).toEqual(['question']);
    expect(example.keys(true)).toEqual(['question', 'dspy_uuid']);
    expect(example.size).toBe(1);
    expect(example.equals(new Example({ question: 'q', dspy_uuid: 'x1' }))).toBe(true);
    expect(example.equals(new Example({ question: 'q' }))).toBe(false);
  });

  test('toDict serialises nested Examples and Predictions; JSON.stringify uses it', () => {
    const nested = new Example({ inner: new Example({ a: 1 }), list: [new Prediction({ b: 2 })], record: { c: new Example({ d: 3 }) } });
    expect(nested.toDict()).toEqual({ inner: { a: 1 }, list: [{ b: 2 }], record: { c: { d: 3 } } });
    expect(JSON.parse(JSON.stringify(nested))).toEqual(nested.toDict());
  });
});

describe('Prediction and Completions', () => {
  test('fromCompletions takes the first completion as its fields and keeps all of them', () => {
    const prediction = Prediction.fromCompletions([{ answer: 'a1', n: 1 }, { answer: 'a2', n: 2 }]);
    expect(prediction.answer).toBe('a1');
    expect(prediction.toDict()).toEqual({ answer: 'a1', n: 1 });
    expect(prediction.completions!.length).toBe(2);
    expect(prediction.completions!.field('answer')).toEqual(['a1', 'a2']);
    expect(prediction.completions!.at(1).toDict()).toEqual({ answer: 'a2', n: 2 });
    expect([...prediction.completions!].map((p) => p.answer)).toEqual(['a1', 'a2']);
    expect(() => prediction.completions!.at(2)).toThrow(RangeError);
    expect(() => prediction.inputs()).toThrow(ExampleInputsNotSetError);
  });

  test('columns of unequal length are refused', () => {
    expect(() => new Completions({ answer: ['a', 'b'], reason: ['r'] })).toThrow(CompletionsShapeError);
    expect(new Completions({ answer: ['a', 'b'] }).length).toBe(2);
  });

  test('a score field makes the prediction a number (DSPy float(pred), pred + x, comparisons)', () => {
    const low = new Prediction({ score: 0.25 });
    const high = new Prediction({ score: 0.75 });
    expect(low.toNumber()).toBe(0.25);
    expect((low as unknown as number) + (high as unknown as number)).toBe(1);
    expect(low < high).toBe(true);
    expect(() => new Prediction({ answer: 'x' }).toNumber()).toThrow(MissingFieldError);
  });
});

class TwoHop extends Module {
  hops = [new Predict('question -> query'), new Predict('query -> passage')];
  byName: Record<string, Predict> = { final: new Predict('passage -> answer') };
  cot = new ChainOfThought('question -> answer');
  shared = new Predict('a -> b');
  async forward(inputs: Inputs): Promise<Prediction> {
    return this.cot.call(inputs);
  }
}

describe('Module', () => {
  test('namedParameters names parameters as DSPy does, each once, skipping compiled sub-modules', () => {
    const program = new TwoHop();
    (program as unknown as { alias: Predict }).alias = program.shared;
    expect(program.namedPredictors().map(([name]) => name)).toEqual(['hops[0]', 'hops[1]', "byName['final']", 'cot.predict', 'shared']);
    program.cot._compiled = true;
    expect(program.namedParameters().map(([name]) => name)).toEqual(['hops[0]', 'hops[1]', "byName['final']", 'shared']);
    expect(new Predict('a -> b').namedParameters().map(([name]) => name)).toEqual(['self']);
  });

  test('namedSubModules walks breadth first from self', () => {
    const names = new TwoHop().namedSubModules().map(([name]) => name);
    // Breadth first: the array and the record are queue entries of their own, so their items come a level later.
    expect(names).toEqual(['self', 'self.cot', 'self.shared', 'self.hops[0]', 'self.hops[1]', 'self.byName[final]', 'self.cot.predict']);
  });

  test('deepcopy copies predictors and demos, shares LMs and signatures, and keeps shared references shared', () => {
    const lm = new ScriptedLM([]);
    const program = new TwoHop();
    (program as unknown as { alias: Predict }).alias = program.shared;
    program.hops[0]!.lm = lm;
    program.hops[0]!.demos = [new Example({ question: 'q', query: 'x' })];
    const copy = program.deepcopy();
    expect(copy).toBeInstanceOf(TwoHop);
    expect(copy.hops[0]).not.toBe(program.hops[0]);
    expect(copy.hops[0]!.lm).toBe(lm);
    expect(copy.hops[0]!.signature).toBe(program.hops[0]!.signature);
    expect(copy.hops[0]!.demos[0]).not.toBe(program.hops[0]!.demos[0]);
    expect(copy.hops[0]!.demos[0]!.toDict()).toEqual({ question: 'q', query: 'x' });
    expect((copy as unknown as { alias: Predict }).alias).toBe(copy.shared);
    copy.hops[0]!.demos.push(new Example({ question: 'q2' }));
    expect(program.hops[0]!.demos).toHaveLength(1);
    const reset = program.resetCopy();
    expect(reset.hops[0]!.lm).toBeNull();
    expect(reset.hops[0]!.demos).toEqual([]);
    expect(program.hops[0]!.lm).toBe(lm);
  });

  test('mapNamedPredictors replaces each predictor at its path; setLm/getLm', () => {
    const program = new TwoHop();
    const lm = new ScriptedLM([]);
    program.setLm(lm);
    expect(program.getLm()).toBe(lm);
    program.hops[1]!.lm = new ScriptedLM([]);
    expect(() => program.getLm()).toThrow(RangeError);
    program.mapNamedPredictors((p) => {
      const copy = p.deepcopy();
      copy.config = { temperature: 1 };
      return copy;
    });
    expect(program.byName['final']!.config).toEqual({ temperature: 1 });
    expect(program.cot.predict.config).toEqual({ temperature: 1 });
    expect(program.hops[1]!.config).toEqual({ temperature: 1 });
  });
});

describe('settings', () => {
  test('withSettings overrides hold inside the async context only; configure sets the default', async () => {
    resetSettings();
    const global = new ScriptedLM([]);
    const local = new ScriptedLM([]);
    configure({ lm: global });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inside = withSettings({ lm: local }, async () => {
      await gate;
      return currentSettings().lm;
    });
    expect(currentSettings().lm).toBe(global);
    release();
    expect(await inside).toBe(local);
    expect(currentSettings().lm).toBe(global);
    resetSettings();
    expect(currentSettings().lm).toBeNull();
  });

  test('nested overrides merge; call() puts the module on the caller stack', async () => {
    const seen: number[] = [];
    class Probe extends Module {
      async forward(): Promise<Prediction> {
        seen.push(currentSettings().callerModules.length);
        return new Prediction({ depth: currentSettings().callerModules.length, max: currentSettings().maxTraceSize });
      }
    }
    const probe = new Probe();
    const result = await withSettings({ maxTraceSize: 5 }, () => withSettings({ trace: [] }, () => probe.call()));
    expect(result.toDict()).toEqual({ depth: 1, max: 5 });
    expect(currentSettings().callerModules).toEqual([]);
  });

  test('nested calls stack their callers; inside withSettings the stack and the overrides hold across awaits', async () => {
    const depths: Array<[string, number]> = [];
    class Leaf extends Module {
      async forward(): Promise<Prediction> {
        depths.push(['leaf', currentSettings().callerModules.length]);
        await Promise.resolve();
        return new Prediction({ lm: currentSettings().lm });
      }
    }
    class Outer extends Module {
      leaf = new Leaf();
      async forward(): Promise<Prediction> {
        const first = await this.leaf.call(); // called before any await: the stack is [outer, leaf]
        await Promise.resolve();
        depths.push(['outer after await', currentSettings().callerModules.length]);
        await this.leaf.call();
        return first;
      }
    }
    const lm = { model: 'scoped' } as never;
    const outer = new Outer();
    await outer.call();
    expect(depths[0]).toEqual(['leaf', 2]);
    depths.length = 0;
    const inScope = await withSettings({ lm }, () => outer.call());
    expect(inScope.get('lm')).toBe(lm);
    expect(depths).toEqual([['leaf', 2], ['outer after await', 1], ['leaf', 2]]);
    expect(currentSettings().callerModules).toEqual([]);
  });
});
