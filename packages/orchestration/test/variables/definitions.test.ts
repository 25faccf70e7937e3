// One definition per running space, and stored values of another definition: a space started again under its
// name with a different definition is refused with a typed error naming what differs (the same definition, or
// the same code built again, reuses the running coordinator); values another definition wrote to the store are
// refused on load, or migrated explicitly by the definition's `migrate` (recorded in history), never used as they are.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry, Runtime } from '@dspex/runtime';
import {
  Variables,
  VariableDefinitionError,
  VariableDefinitionMismatchError,
  VariableStoredValuesError,
  defineSpace,
  variable,
  variablesNamespace,
  type SpaceOptions,
} from '../../src/variables/index.js';
import { qaSpace, sqliteStores } from './support.js';

const stores = sqliteStores();
let rt: Runtime;
beforeEach(() => {
  rt = new Runtime();
});
afterEach(async () => {
  await rt.shutdown();
  await stores.cleanup();
});

const coordinator = () => Registry.of<string, unknown>(rt, 'Variables.Registry').lookup('qa')[0]?.[0];

async function refusal<E>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/** The qa space of support.ts with `change` applied to its options. */
const qaWith = (change: (options: SpaceOptions) => SpaceOptions) => {
  const base = qaSpace();
  return defineSpace('qa', change({ variables: { ...base.variables }, constraints: base.constraints }));
};

describe('one definition per running space', () => {
  it('reuses the running coordinator for the same definition, or the same code built again', async () => {
    const variables = await Variables.start(rt, { store: (await stores.fresh()).store });
    const definition = qaSpace();
    const first = await variables.space(definition);
    await first.set({ temperature: 0.2 });
    const pid = coordinator();
    expect((await (await variables.space(definition)).get()).values.temperature).toBe(0.2);
    // qaSpace() builds new objects and new closures of the same source: the same definition.
    expect((await (await variables.space(qaSpace())).get()).values.temperature).toBe(0.2);
    expect(coordinator()).toBe(pid);
  });

  it('refuses another definition under a running name, naming the space and what differs; nothing changes', async () => {
    const variables = await Variables.start(rt, { store: (await stores.fresh()).store });
    const running = await variables.space(qaSpace());
    await running.set({ maxTokens: 256 });
    const pid = coordinator();

    const wider = await refusal(variables.space(qaWith((o) => ({ ...o, variables: { ...o.variables, maxTokens: variable.int({ min: 16, max: 1024, default: 128, validate: (n) => n % 16 === 0 || 'must be a multiple of 16' }) } }))), VariableDefinitionMismatchError);
    expect(wider).toMatchObject({ code: 'DSPEX_VARIABLE_DEFINITION_MISMATCH', space: 'qa' });
    expect(wider.message).toContain('space "qa" is running with another definition: variables.maxTokens.max is 512 in the running one, 1024 in this one');
    expect(wider.message).toMatch(/variables\.stop\("qa"\).*another name/);

    const validate = await refusal(variables.space(qaWith((o) => ({ ...o, variables: { ...o.variables, maxTokens: variable.int({ min: 16, max: 512, default: 128, validate: (n) => n % 32 === 0 || 'must be a multiple of 32' }) } }))), VariableDefinitionMismatchError);
    expect(validate.differences).toEqual(['variables.maxTokens.validate is another function (its source text differs)']);

    const added = await refusal(variables.space(qaWith((o) => ({ ...o, variables: { ...o.variables, seed: variable.int({ min: 0, max: 9 }) } }))), VariableDefinitionMismatchError);
    expect(added.differences[0]).toMatch(/^variables\.seed\.kind is absent in the running one, "int" in this one/);

    const constraint = await refusal(variables.space(qaWith((o) => ({ ...o, constraints: [] }))), VariableDefinitionMismatchError);
    expect(constraint.differences[0]).toBe('constraints is list of 1 in the running one, list of 0 in this one');

    expect(coordinator()).toBe(pid);
    expect((await running.get()).values.maxTokens).toBe(256);
  });

  it('starts the new definition once the running one is stopped; a handle of the old one is then refused', async () => {
    const variables = await Variables.start(rt, { store: (await stores.fresh()).store });
    const old = await variables.space(qaSpace());
    await old.set({ maxTokens: 256 });
    const next = qaWith((o) => ({ ...o, variables: { ...o.variables, note: variable.text({ default: 'n' }) } }));
    await refusal(variables.space(next), VariableDefinitionMismatchError);
    await variables.stop('qa');
    const space = await variables.space(next);
    expect((await space.get()).values).toMatchObject({ maxTokens: 256, note: 'n' }); // stored values it accepts, a default for the new one
    // The old handle would otherwise write through a coordinator that checks another definition.
    await refusal(old.set({ maxTokens: 32 }), VariableDefinitionMismatchError);
    expect((await space.get()).values.maxTokens).toBe(256);
  });

  it('of two definitions started at once under one name, one starts and the other is refused', async () => {
    const variables = await Variables.start(rt, { store: (await stores.fresh()).store });
    const other = qaWith((o) => ({ ...o, constraints: [] }));
    const results = await Promise.allSettled([variables.space(qaSpace()), variables.space(other)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(VariableDefinitionMismatchError);
  });
});

describe('stored values of another definition', () => {
  /** A store where the qa space was written (maxTokens 384, style verbose) and its coordinator stopped. */
  async function written() {
    const { store } = await stores.fresh();
    const variables = await Variables.start(rt, { store });
    const space = await variables.space(qaSpace());
    await space.set({ maxTokens: 384, style: 'verbose', temperature: 0.5 }, { by: 'tuner' });
    await variables.stop('qa');
    const row = await store.kv.get(variablesNamespace('qa'), 'state');
    return { store, variables, row };
  }

  it('refuses values the new definition refuses (a narrower range, a renamed variable), using and writing nothing', async () => {
    const { store, variables, row } = await written();
    const narrower = qaWith((o) => ({ ...o, variables: { ...o.variables, maxTokens: variable.int({ min: 16, max: 256, default: 128 }) } }));
    const error = await refusal(variables.space(narrower), VariableStoredValuesError);
    expect(error).toMatchObject({ code: 'DSPEX_VARIABLE_STORED_VALUES', space: 'qa', migrated: false, issues: [{ variable: 'maxTokens', message: 'the stored value is refused: 384 is outside [16, 256]' }] });
    expect(error.message).toMatch(/migrate function/);

    const { maxTokens, budget, ...rest } = qaSpace().variables;
    const renamed = defineSpace('qa', { variables: { ...rest, max_tokens: maxTokens!, budget: variable.int({ min: 0, max: 100_000, dependsOn: ['max_tokens'], derive: (d) => d.max_tokens as number }) } });
    const renameError = await refusal(variables.space(renamed), VariableStoredValuesError);
    expect(renameError.issues).toEqual([{ variable: 'maxTokens', message: 'the store holds 384 for it, and this definition has no variable "maxTokens" (renamed or removed?)' }]);

    expect(await store.kv.get(variablesNamespace('qa'), 'state')).toEqual(row);
  });

  it('keeps stored values a changed definition accepts: a wider range, a new variable at its default, a derived variable removed', async () => {
    const { variables } = await written();
    const { budget, ...rest } = qaSpace().variables;
    const changed = defineSpace('qa', { variables: { ...rest, maxTokens: variable.int({ min: 16, max: 2048, default: 128 }), note: variable.text({ default: 'n' }) } });
    const space = await variables.space(changed);
    expect(await space.get()).toMatchObject({ version: 1, values: { maxTokens: 384, style: 'verbose', temperature: 0.5, note: 'n' } });
  });

  it('migrates explicitly with the definition’s migrate: checked, committed as an update by migrate, called once', async () => {
    const { variables } = await written();
    const { maxTokens, budget, ...rest } = qaSpace().variables;
    let calls = 0;
    const renamed = defineSpace('qa', {
      variables: { ...rest, max_tokens: variable.int({ min: 16, max: 512, default: 128 }) },
      migrate: (stored, issues) => {
        calls++;
        expect(issues.map((i) => i.variable)).toEqual(['maxTokens']);
        const { maxTokens: tokens, budget: _budget, ...kept } = stored;
        return { ...kept, max_tokens: tokens! };
      },
    });
    const space = await variables.space(renamed);
    expect(await space.get()).toEqual({ space: 'qa', version: 2, values: { temperature: 0.5, style: 'verbose', instructions: 'Answer the question.', max_tokens: 384 } });
    const [, migration] = await space.history();
    expect(migration).toMatchObject({ version: 2, by: 'migrate', why: expect.stringContaining('maxTokens: the store holds 384'), changes: { max_tokens: { from: null, to: 384 } } });
    await variables.stop('qa');
    expect((await (await variables.space(renamed)).get()).version).toBe(2);
    expect(calls).toBe(1);
  });

  it('refuses what migrate returns when the definition refuses it, and a migrate that is not a function', async () => {
    const { variables } = await written();
    const narrower = (migrate: SpaceOptions['migrate']) => qaWith((o) => ({ ...o, variables: { ...o.variables, maxTokens: variable.int({ min: 16, max: 256, default: 128 }) }, migrate }));
    const kept = await refusal(variables.space(narrower((stored) => stored)), VariableStoredValuesError);
    expect(kept).toMatchObject({ migrated: true, issues: [{ variable: 'maxTokens', message: '384 is outside [16, 256]' }] });
    expect(kept.message).toMatch(/Fix migrate/);
    const thrown = await refusal(variables.space(narrower(() => { throw new Error('no rule for maxTokens'); })), VariableStoredValuesError);
    expect(thrown.message).toMatch(/migrate threw: no rule for maxTokens/);
    // () => ({}) starts from the defaults, and says so in history.
    const reset = await variables.space(narrower(() => ({})));
    expect((await reset.get()).values).toEqual(qaSpace().defaults());
    expect(() => defineSpace('x', { variables: { a: variable.bool() }, migrate: 'reset' as never })).toThrow(VariableDefinitionError);
  });
});
