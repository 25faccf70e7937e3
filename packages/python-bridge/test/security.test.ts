// The capability boundary seen from Node, through real workers: escapes are refused with a typed NotAllowed
// naming what was refused, and fast-check fuzzes attribute paths and type annotations built from a grammar,
// asserting that no handle is ever made for an object outside the grant and no Node argument imports a module.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NotAllowed, PythonException, type PoolOptions, type PythonPool, type Session } from '../src/index.js';
import { FIXTURES_DIR, pythonPath, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

/** Loads the probe commands (loaded_modules, held_types) and its planted classes from python/tests/fixtures. */
async function probePool(name: string, grant: Pick<NonNullable<PoolOptions['python']>, 'allow' | 'grant'> = {}): Promise<PythonPool> {
  return bridge.pool({ name, size: 1, python: { commands: ['security_probe'], env: { PYTHONPATH: pythonPath(FIXTURES_DIR) }, ...grant } });
}

interface Handle {
  $handle: string;
  class: string;
}

const isHandle = (value: unknown): value is Handle => typeof value === 'object' && value !== null && '$handle' in value;

/** Every handle inside a result (a get_attr may return one, or a map holding several). */
function handlesIn(value: unknown, found: Handle[] = []): Handle[] {
  if (isHandle(value)) found.push(value);
  else if (Array.isArray(value)) for (const item of value) handlesIn(item, found);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) handlesIn(item, found);
  return found;
}

async function refusal(call: Promise<unknown>, ...names: string[]): Promise<NotAllowed> {
  const error = await rejectionOf(call);
  expect(error).toBeInstanceOf(NotAllowed);
  expect(error).toBeInstanceOf(PythonException); // code that matched on pythonType keeps working
  expect((error as NotAllowed).code).toBe('DSPEX_NOT_ALLOWED');
  for (const name of names) expect((error as NotAllowed).pythonMessage).toContain(name);
  return error as NotAllowed;
}

/** A ChainOfThought whose predictor holds a DummyLM: a module, a predictor, a signature and an LM to walk through. */
async function target(session: Session): Promise<string> {
  const { handle } = await session.call<{ handle: string }>('create', { class: 'dspy.ChainOfThought', args: ['question -> answer'] });
  await session.call('set_attr', { handle, name: 'predict.lm', value: { $lm: { dummy: [] } } });
  return handle;
}

/** Modules that appeared since `before`, outside DSPy itself (the granted package may load its own parts lazily). */
async function newForeignModules(session: Session, before: ReadonlySet<string>): Promise<string[]> {
  const after = await session.call<string[]>('loaded_modules');
  return after.filter((name) => !before.has(name) && name !== 'dspy' && !name.startsWith('dspy.'));
}

describe('escapes from Node', () => {
  it('refuses dunder chains, interpreter builtins, pickle, processes and files, each with a typed NotAllowed', async () => {
    const pool = await probePool('escapes');
    const session = pool.session('escapes');
    const handle = await target(session);
    await refusal(session.call('get_attr', { handle, name: 'predict.signature.__module__' }), '__module__');
    await refusal(session.call('get_attr', { handle, name: 'forward.__globals__' }), 'forward');
    const lm = await session.call<Handle>('get_attr', { handle, name: 'predict.lm' });
    await refusal(session.call('get_attr', { handle: lm.$handle, name: '__class__.__init__' }), '__class__');
    await refusal(session.call('call', { handle: lm.$handle, kwargs: { prompt: 'hi' } }), 'DummyLM');
    for (const path of ['builtins.eval', 'builtins.exec', 'builtins.compile', 'builtins.__import__', 'importlib.import_module', 'pickle.loads', 'subprocess.Popen', 'os.system', 'ctypes.CDLL']) {
      await refusal(session.call('create', { class: path, args: ['id'] }), path);
    }
    await refusal(session.call('create', { class: 'dspy.Predict', args: ['x: Annotated[str, os.system] -> y'] }), 'os.system');
    await refusal(session.call('save', { handle, path: '/tmp/dspex-escape.pkl' }), 'no save directory');
    await refusal(session.call('load', { class: 'dspy.Predict', args: ['q -> a'], path: '/tmp/x.pkl' }), 'no save directory');
    // Legit use keeps working on the same worker.
    expect(await session.call('get_attr', { handle, name: 'predict.demos' })).toEqual([]);
  });
});

describe('the default grant is a table', () => {
  it('refuses DSPy classes and constructor arguments the table does not list, naming the class and the argument', async () => {
    const pool = await probePool('table');
    const session = pool.session('table');
    // ProgramOfThought runs code, PythonInterpreter starts Deno, LocalProvider starts servers; Planted is a class
    // the fixture put into dspy's namespace, as a new DSPy release would: none is in the table.
    for (const path of ['dspy.ProgramOfThought', 'dspy.primitives.python_interpreter.PythonInterpreter', 'dspy.clients.lm_local.LocalProvider', 'dspy.Planted']) {
      await refusal(session.call('create', { class: path, args: ['question -> answer'] }), path);
    }
    for (const [kwargs, name] of [[{ output: 'x.json' }, 'output'], [{ location: '/tmp' }, 'location'], [{ callbacks: [] }, 'callbacks']] as const) {
      const error = await refusal(session.call('create', { class: 'dspy.Predict', args: ['q -> a'], kwargs }), name, 'dspy.predict.predict.Predict', 'python.grant');
      expect(error.code).toBe('DSPEX_NOT_ALLOWED');
    }
    const { handle } = await session.call<{ handle: string }>('create', { class: 'dspy.Predict', args: ['question -> answer'], kwargs: { temperature: 0.2 } });
    for (const [optimizerKwargs, name] of [[{ cache_dir_root: '/tmp/x' }, 'cache_dir_root'], [{ trace_to: '/tmp/x' }, 'trace_to'], [{ use_wandb: true }, 'use_wandb'], [{ gepa_kwargs: { run_dir: '/tmp/x' } }, 'gepa_kwargs']] as const) {
      await refusal(session.call('optimize', { handle, optimizer: 'GEPA', trainset: [], input_keys: ['question'], optimizer_kwargs: optimizerKwargs }), name, 'GEPA');
    }
    await refusal(session.call('optimize', { handle, optimizer: 'PlantedOptimizer', trainset: [], input_keys: ['question'] }), 'PlantedOptimizer');
  });

  it('takes finer operator grants from python.grant, and python.allow for the operator\'s own classes', async () => {
    const fine = (await probePool('fine', { grant: { 'security_probe.Counter': { construct: ['start'] } } })).session('fine');
    expect(await fine.call('create', { class: 'security_probe.Counter', kwargs: { start: 2 } })).toMatchObject({ class: 'security_probe.Counter' });
    await refusal(fine.call('create', { class: 'security_probe.Counter', kwargs: { label: 'x' } }), 'label', 'security_probe.Counter');
    const own = (await probePool('own', { allow: ['security_probe.Counter'] })).session('own');
    expect(await own.call('create', { class: 'security_probe.Counter', args: [1, 'any'] })).toMatchObject({ class: 'security_probe.Counter' });
    await refusal(own.call('create', { class: 'dspy.Predict', args: ['q -> a'] }), 'dspy.Predict');
  });
});

// Attribute paths from a grammar: names DSPy objects really have, dunders, interpreter names, and any identifier.
const segment = fc.oneof(
  fc.constantFrom('predict', 'signature', 'demos', 'lm', 'config', 'instructions', 'fields', 'forward', 'callbacks', 'history', 'save', 'load', 'dump_state', 'load_state', 'named_parameters', 'kwargs', 'model', 'os', 'system', 'sys', 'modules', 'builtins', 'eval'),
  fc.constantFrom('__class__', '__init__', '__globals__', '__builtins__', '__dict__', '__module__', '__reduce__', '__reduce_ex__', '__subclasses__', '__mro__', '__call__', '_compiled', '__getattribute__'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
);
const attributePath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));

// Type annotations from a grammar: typing forms, builtins, granted dspy types, and modules that must never load.
const atom = fc.constantFrom('str', 'int', 'list', 'dict', 'Optional', 'Literal', 'Annotated', 'Any', 'typing.List', 'dspy.Image', 'dspy.Predict', 'os', 'os.system', 'sys.modules', 'typing.sys', 'subprocess.Popen', 'importlib.import_module', 'builtins.eval', 'pickle.loads', 'ctypes.CDLL', 'smtplib.SMTP', 'ftplib', 'this', 'mailbox.Mailbox', 'eval', 'exec', "__import__('smtplib')", "'text'", '1', 'None');
const annotation: fc.Arbitrary<string> = fc.letrec<{ type: string }>((tie) => ({
  type: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(atom, tie('type')).map(([base, arg]) => `${base}[${arg}]`),
    fc.tuple(atom, tie('type'), tie('type')).map(([base, a, b]) => `${base}[${a}, ${b}]`),
    fc.tuple(tie('type'), tie('type')).map(([a, b]) => `${a} | ${b}`),
    fc.tuple(tie('type'), fc.constantFrom('system', 'modules', '__class__', 'Image')).map(([a, attr]) => `${a}.${attr}`),
  ),
})).type;
const signature = fc.tuple(annotation, fc.option(annotation, { nil: undefined })).map(([input, output]) => `x: ${input} -> y${output === undefined ? '' : `: ${output}`}`);

describe('fuzzing the boundary', () => {
  it('attribute paths reach only exposed attributes, and every handle made is of a granted type', async () => {
    const pool = await probePool('fuzz-attrs');
    const session = pool.session('fuzz');
    const handle = await target(session);
    const before = new Set(await session.call<string[]>('loaded_modules'));
    const returned: Handle[] = [];
    await fc.assert(
      fc.asyncProperty(attributePath, async (name) => {
        try {
          returned.push(...handlesIn(await session.call('get_attr', { handle, name })));
        } catch (error) {
          // Refused (typed), or a DSPy error reading a real exposed attribute: never an escape.
          expect(error).toBeInstanceOf(NotAllowed);
        }
      }),
      { numRuns: 300 },
    );
    const held = await session.call<Record<string, string>>('held_types');
    for (const type of Object.values(held)) expect(type).toMatch(/^dspy\./);
    for (const { $handle } of returned) expect(held[$handle]).toMatch(/^dspy\./);
    expect(await newForeignModules(session, before)).toEqual([]);
  });

  it('signature annotations import no module and make no object outside the grant', async () => {
    const pool = await probePool('fuzz-sigs');
    const session = pool.session('fuzz');
    // Warm DSPy's lazy imports with legit signatures first, so anything new below came from an annotation.
    for (const legit of ['q -> a', 'q: list[str] -> a: Optional[int]', 'q: dspy.Image -> a: Literal[1]', 'q: typing.List[str] -> a: Annotated[str, 1]']) {
      await session.call('create', { class: 'dspy.Predict', args: [legit] });
    }
    const before = new Set(await session.call<string[]>('loaded_modules'));
    await fc.assert(
      fc.asyncProperty(signature, async (text) => {
        try {
          await session.call('create', { class: 'dspy.Predict', args: [text] });
        } catch (error) {
          // NotAllowed, or DSPy refusing a well-formed but meaningless type (e.g. `Literal` alone): typed either way.
          expect(error).toBeInstanceOf(PythonException);
        }
      }),
      { numRuns: 300 },
    );
    for (const type of Object.values(await session.call<Record<string, string>>('held_types'))) expect(type).toBe('dspy.predict.predict.Predict');
    expect(await newForeignModules(session, before)).toEqual([]);
  });
});
