// Space definitions: per-variable checks (range, step, choices, validate), cross-variable constraints, derived
// variables recomputed from what they depend on, and the definitions refused before anything starts (cycles,
// unknown dependencies, bad ranges, malformed specs, defaults that break a check); updates refused (bad values,
// NaN, non-JSON, malformed requests, derived values out of range) with the variable named and nothing written.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '@dspex/runtime';
import {
  Variables,
  VariableCycleError,
  VariableDefinitionError,
  VariableValueError,
  defineSpace,
  variable,
  type AdapterName,
  type CrossConstraint,
  type ModuleKind,
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

  it('refuses malformed specs with a typed error naming the variable and the fix', () => {
    const refusal = (variables: Record<string, VariableSpec>, constraints?: CrossConstraint[]) => {
      try {
        defineSpace('bad', { variables, ...(constraints === undefined ? {} : { constraints }) });
      } catch (error) {
        expect(error).toBeInstanceOf(VariableDefinitionError);
        expect(error).toMatchObject({ code: 'DSPEX_VARIABLE_DEFINITION', space: 'bad' });
        return error as VariableDefinitionError;
      }
      throw new Error('defineSpace accepted it');
    };
    expect(refusal({ x: { kind: 'weird' } as unknown as VariableSpec })).toMatchObject({ variable: 'x', message: expect.stringMatching(/kinds: float, int/) });
    expect(refusal({ x: variable.choice({ choices: 'abc' as unknown as string[] }) }).message).toMatch(/choices must be a list/);
    expect(refusal({ x: variable.module({ choices: ['Predict', 'Agent' as ModuleKind] }) }).message).toMatch(/among Predict, ChainOfThought, ReAct, not "Agent"/);
    expect(refusal({ x: variable.adapter({ choices: ['xml' as AdapterName] }) }).message).toMatch(/among chat, json/);
    expect(refusal({ x: variable.lm({ choices: ['small', 3 as unknown as string] }) }).message).toMatch(/model names/);
    expect(refusal({ x: variable.choice({ choices: ['a', Number.NaN] }) }).message).toMatch(/NaN/);
    expect(refusal({ x: variable.float({ min: 0, max: 1, step: Infinity }) }).message).toMatch(/step must be a finite positive number, not Infinity/);
    expect(refusal({ x: variable.int({ min: 0, max: 3 }), y: variable.int({ min: 0, max: 3, dependsOn: 'x' as unknown as string[], derive: () => 0 }) })).toMatchObject({ variable: 'y', message: expect.stringMatching(/dependsOn must be a non-empty list/) });
    expect(refusal({ x: variable.int({ min: 0, max: 3 }) }, [{ name: 'no-check' } as unknown as CrossConstraint]).message).toMatch(/constraint 0 needs a name and a check function/);
  });

  it('refuses a space whose defaults (derived values included) break their own checks; cross constraints bind updates only', () => {
    const base = { tokens: variable.int({ min: 0, max: 100, default: 10 }) };
    const crossed = defineSpace('d', { variables: base, constraints: [{ name: 'enough', check: (a) => (a.tokens as number) >= 50 || 'tokens below 50' }] });
    expect(crossed.check(crossed.defaults())).toEqual([{ constraint: 'enough', message: 'tokens below 50' }]); // a search region away from the start
    const derivedOutOfRange = () => defineSpace('d', { variables: { ...base, budget: variable.int({ min: 100, max: 1000, dependsOn: ['tokens'], derive: (d) => (d.tokens as number) * 2 }) } });
    expect(derivedOutOfRange).toThrow(/budget: 20 is outside \[100, 1000\]/);
    const throwing = () => defineSpace('d', { variables: { ...base, budget: variable.int({ min: 0, max: 1000, dependsOn: ['tokens'], derive: () => { throw new Error('no price table'); } }) } });
    expect(throwing).toThrow(VariableDefinitionError);
    expect(throwing).toThrow(/variable "budget".*derive function threw: no price table/);
  });

  it('keeps null as a value of a choice (a missing key, not null, falls back)', () => {
    const space = defineSpace('nullable', { variables: { stop: variable.choice({ choices: ['\n', null], default: '\n' }) } });
    expect(space.complete({ stop: null })).toEqual({ stop: null });
    expect(space.complete({}, { stop: null })).toEqual({ stop: null });
    expect(space.complete({})).toEqual({ stop: '\n' });
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

  it('refuses NaN, Infinity, wrong types, non-JSON values and malformed requests, naming the variable; nothing is written', async () => {
    const { store } = await stores.fresh();
    const space = await (await Variables.start(rt, { store })).space(qaSpace());
    const refused = async (values: unknown, options?: unknown) => {
      const error = await space.set(values as never, options as never).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(VariableValueError);
      return (error as VariableValueError).issues;
    };
    expect(await refused({ temperature: Number.NaN })).toEqual([{ variable: 'temperature', message: 'must be a finite number, not NaN' }]);
    expect(await refused({ temperature: Infinity })).toEqual([{ variable: 'temperature', message: 'must be a finite number, not Infinity' }]);
    expect(await refused({ temperature: '0.5' })).toEqual([{ variable: 'temperature', message: 'must be a finite number, not "0.5"' }]);
    expect(await refused({ maxTokens: 32.5 })).toEqual([{ variable: 'maxTokens', message: 'must be an integer, not 32.5' }]);
    expect(await refused({ instructions: () => 'hi' })).toEqual([{ variable: 'instructions', message: 'must be a string, not a function' }]);
    expect(await refused({ style: 'chatty', nope: 1 })).toMatchObject([{ variable: 'style' }, { variable: 'nope' }]);
    expect(await refused(null)).toEqual([{ message: 'set takes an object of values by variable name, not null' }]);
    expect(await refused([0.5])).toHaveLength(1);
    expect(await refused({ temperature: 0.2 }, { metric: Number.NaN })).toEqual([{ message: 'metric must be a finite number, not NaN' }]);
    expect(await refused({ temperature: 0.2 }, { expectedVersion: -1 })).toMatchObject([{ message: expect.stringMatching(/expectedVersion must be a version/) }]);
    expect(await refused({ temperature: 0.2 }, { by: 7 })).toEqual([{ message: 'by must be a string, not 7' }]);
    expect(await space.get()).toMatchObject({ version: 0, values: qaSpace().defaults() });
    expect(await space.history()).toEqual([]);
    expect((await space.set({ temperature: 0.2 })).version).toBe(1); // the coordinator is still there
  });

  it('refuses a derived value its own range or a constraint refuses, and a derive that throws, naming the variable', async () => {
    const { store } = await stores.fresh();
    const definition = defineSpace('derived', {
      variables: {
        maxTokens: variable.int({ min: 1, max: 4096, default: 100 }),
        cost: variable.float({ min: 0, max: 10, dependsOn: ['maxTokens'], derive: (d) => { if (d.maxTokens === 13) throw new Error('unlucky'); return (d.maxTokens as number) / 100; } }),
      },
      constraints: [{ name: 'budget', check: (a) => (a.cost as number) <= 5 || 'cost above 5' }],
    });
    const space = await (await Variables.start(rt, { store })).space(definition);
    await expect(space.set({ maxTokens: 2000 })).rejects.toMatchObject({ issues: [{ variable: 'cost', message: '20 is outside [0, 10]' }] });
    await expect(space.set({ maxTokens: 800 })).rejects.toMatchObject({ issues: [{ constraint: 'budget', message: 'cost above 5' }] });
    await expect(space.set({ maxTokens: 13 })).rejects.toMatchObject({ code: 'DSPEX_VARIABLE_VALUE', issues: [{ variable: 'cost', message: 'its derive function threw: unlucky' }] });
    expect(await space.get()).toEqual({ space: 'derived', version: 0, values: { maxTokens: 100, cost: 1 } });
    expect((await space.set({ maxTokens: 300 })).values.cost).toBe(3);
  });

  it('sets a choice to null, and keeps it through a reload', async () => {
    const { store } = await stores.fresh();
    const definition = defineSpace('nullable', { variables: { stop: variable.choice({ choices: ['\n', null], default: '\n' }) } });
    const space = await (await Variables.start(rt, { store })).space(definition);
    const after = await space.set({ stop: null });
    expect(after).toEqual({ space: 'nullable', version: 1, values: { stop: null } });
    expect((await space.history())[0]!.changes).toEqual({ stop: { from: '\n', to: null } });
    await space.stop();
    expect((await space.get()).values).toEqual({ stop: null });
  });
});
