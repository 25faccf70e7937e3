// Space definitions: per-variable checks (range, step, choices, validate), cross-variable constraints, derived
// variables recomputed from what they depend on, and the definitions refused before anything starts (cycles,
// unknown dependencies, bad ranges), with the update refused and nothing written.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import {
  Variables,
  VariableCycleError,
  VariableDefinitionError,
  VariableValueError,
  defineSpace,
  variable,
  type VariableSpec,
} from '../../src/variables/index.js';
import { qaSpace, sqliteStores } from './support.js';

describe('space definitions', () => {
  it('completes an assignment with defaults and derived values', () => {
    const space = qaSpace();
    expect(space.defaults()).toEqual({ temperature: 0.7, maxTokens: 128, style: 'terse', instructions: 'Answer the question.', budget: 128 });
    expect(space.complete({ style: 'verbose' }).budget).toBe(512);
    expect(space.free).toEqual(['temperature', 'maxTokens', 'style', 'instructions']);
  });

  it('checks each kind: range, step, integer, choices, validate', () => {
    const space = qaSpace();
    const issues = (values: Record<string, unknown>) => space.check(space.complete(values as never)).map((i) => i.variable ?? i.constraint);
    expect(issues({ temperature: 1.5 })).toEqual(['temperature']);
    expect(issues({ temperature: 0.25 })).toEqual(['temperature']); // off the 0.1 grid
    expect(issues({ maxTokens: 100.5 })).toContain('maxTokens');
    expect(space.check(space.complete({ maxTokens: 100 }))[0]!.message).toBe('must be a multiple of 16');
    expect(issues({ style: 'chatty' })).toEqual(['style']);
    expect(issues({ temperature: 1, maxTokens: 512 })).toEqual(['hot-and-long']);
    expect(issues({ temperature: 0.3, maxTokens: 512 })).toEqual([]);
  });

  it('refuses a cycle among derived variables with the loop named', () => {
    const define = () =>
      defineSpace('loop', {
        variables: {
          base: variable.int({ min: 0, max: 10 }),
          a: variable.int({ min: 0, max: 100, dependsOn: ['b', 'base'], derive: (d) => d.b as number }),
          b: variable.int({ min: 0, max: 100, dependsOn: ['c'], derive: (d) => d.c as number }),
          c: variable.int({ min: 0, max: 100, dependsOn: ['a'], derive: (d) => d.a as number }),
        },
      });
    expect(define).toThrow(VariableCycleError);
    try {
      define();
    } catch (error) {
      expect((error as VariableCycleError).code).toBe('DSPEX_VARIABLE_CYCLE');
      expect((error as VariableCycleError).cycle).toEqual(['a', 'b', 'c', 'a']);
    }
  });

  it('refuses bad definitions: unknown dependency, empty range or choices, a default its own check refuses', () => {
    const bad: Array<Record<string, VariableSpec>> = [
      { x: variable.int({ min: 0, max: 1, dependsOn: ['nope'], derive: () => 0 }) },
      { x: variable.float({ min: 2, max: 1 }) },
      { x: variable.choice({ choices: [] }) },
      { x: variable.text({ default: '', validate: (s) => s.length > 0 }) },
      { x: variable.int({ min: 0, max: 3, dependsOn: ['y'] }), y: variable.bool() },
    ];
    for (const variables of bad) expect(() => defineSpace('bad', { variables })).toThrow(VariableDefinitionError);
  });
});

describe('updates through the coordinator', () => {
  let rt: Runtime;
  const stores = sqliteStores();
  beforeEach(() => {
    rt = new Runtime();
  });
  afterEach(async () => {
    await rt.shutdown();
    await stores.cleanup();
  });

  it('recomputes derived variables when what they depend on changes, and refuses setting them', async () => {
    const { store } = await stores.fresh();
    const space = await (await Variables.start(rt, { store })).space(qaSpace());
    const after = await space.set({ maxTokens: 256, style: 'verbose' });
    expect(after.values.budget).toBe(1024);
    const [entry] = await space.history();
    expect(entry!.changes).toEqual({ maxTokens: { from: 128, to: 256 }, style: { from: 'terse', to: 'verbose' }, budget: { from: 128, to: 1024 } });
    await expect(space.set({ budget: 5 })).rejects.toMatchObject({ code: 'DSPEX_VARIABLE_VALUE', issues: [{ variable: 'budget' }] });
  });

  it('refuses an update that breaks a variable or a cross constraint, and writes nothing', async () => {
    const { store } = await stores.fresh();
    const space = await (await Variables.start(rt, { store })).space(qaSpace());
    await space.set({ maxTokens: 512 });
    const refused = await space.set({ temperature: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VariableValueError);
    expect((refused as VariableValueError).issues).toEqual([{ constraint: 'hot-and-long', message: 'temperature above 0.9 needs maxTokens <= 256' }]);
    await expect(space.set({ nope: 1 })).rejects.toBeInstanceOf(VariableValueError);
    await expect(space.set({ maxTokens: 100 })).rejects.toThrow(/multiple of 16/);
    const now = await space.get();
    expect(now.version).toBe(1);
    expect(now.values.temperature).toBe(0.7);
    expect(await space.history()).toHaveLength(1);
  });
});
