// The stateful parts of the application tree (DESIGN.md: Store, Sessions, Variables, Orchestrator, Pipelines):
// present when asked for and in the design's order, absent (no store opened) otherwise; a session call, a
// pipeline run, a variable space and a learner through the app; a store the app opened is durable across an
// app restart and closed with it (no file handle, no process left), one passed in stays open; a crash in
// the Sessions subtree is contained by its rest_for_one supervisor and by the application; bad options are
// typed errors before anything starts.

import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicSupervisor, Runtime, Supervisor, type Pid } from '@dspex/runtime';
import { openStore, StoreClosedError, type Store, type StoreOptions } from '@dspex/store';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APP_PART_NAMES, DSPex, DSPexConfigError, defineLearner, defineSpace, pipeline, step, variable,
  type DSPexApp, type DSPexOptions, type JsonObject, type SessionContext,
} from '../../src/index.js';
import { STORES } from '../sessions/backends.js';

/** Nothing Python, no model, no worker threads: the tests are about the stateful parts. */
const BARE: DSPexOptions = { localModel: false, pools: { general: false, optimizer: false, neural: false }, signatureEngine: false };

/** A session program: answers with the turn number and the questions of the history it got. */
const echo = (inputs: JsonObject, context: SessionContext): JsonObject => ({
  answer: `#${context.turnCount + 1}: ${String(inputs.question)}`,
  seen: context.history.messages.map((m) => String(m.question)),
});

const double = pipeline('double', { inputs: ['x'], steps: [step('twice', async ({ x }) => ({ y: (x as number) * 2 }), { inputs: ['x'], outputs: ['y'] })] });

/** Open file descriptors of this process that point into `dir`. */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) open.push(target);
    } catch {
      // closed while we looked (readdir's own descriptor)
    }
  }
  return open;
}

/** Resolves on the next restart of child `childId` (the supervisor's telemetry, after the child is up again). */
function restartOf(rt: Runtime, childId: string): Promise<void> {
  return new Promise((resolve) => {
    const onRestart = (event: { childId: unknown }): void => {
      if (event.childId !== childId) return;
      rt.telemetry.off('restart', onRestart);
      resolve();
    };
    rt.telemetry.on('restart', onRestart);
  });
}

let rt: Runtime | undefined;
let app: DSPexApp | undefined;
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-app-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await app?.stop().catch(() => undefined);
  await rt?.shutdown();
  app = rt = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const quiet = (): Runtime => (rt = new Runtime({ logger: pino({ level: 'silent' }) }));

describe('the stateful parts of DSPex.start', () => {
  it('adds Store, Sessions, Variables, Orchestrator (Learners) and Pipelines after the rest, in that order', async () => {
    app = await DSPex.start(quiet(), { ...BARE, store: { sqlite: { dir: tempDir() } }, sessions: true, variables: true, learner: true, pipelines: true });
    const ids = (await Supervisor.whichChildren(rt!, app.supervisor)).map((c) => c.id);
    expect(ids).toEqual(['Registry', 'LM', 'Pools', 'Store', 'Sessions', 'Variables', 'Orchestrator', 'Pipelines']);
    const tree = await app.tree();
    expect(tree).toMatch(/├── Store \[dspex\.store\]  <[\d.]+>  worker/);
    expect(tree).toMatch(/├── Sessions \[dspex\.sessions\.Tree\][^\n]*supervisor\n│   ├── dspex\.sessions\.Registry/);
    expect(tree).toMatch(/├── Orchestrator[^\n]*supervisor\n│   └── Learners \[dspex\.learners\.Tree\]/);
    expect(tree).toMatch(/└── Pipelines \[dspex\.pipelines\]/);
  });

  it('starts none of them when not asked: no store is opened, and using one is a typed error saying what to pass', async () => {
    app = await DSPex.start(quiet(), BARE);
    expect((await Supervisor.whichChildren(rt!, app.supervisor)).map((c) => c.id)).toEqual(['Registry', 'LM', 'Pools']);
    expect(rt!.whereis(APP_PART_NAMES.store)).toBeUndefined();
    expect(() => app!.store).toThrow(DSPexConfigError);
    expect(() => app!.sessions).toThrow(/sessions: \{\} \(or true\)/);
    expect(() => app!.pipelines).toThrow(DSPexConfigError);
    await expect(app.variables(defineSpace('s', { variables: { t: variable.float({ min: 0, max: 1 }) } }))).rejects.toMatchObject({ code: 'DSPEX_APP_CONFIG', option: 'variables' });
    await expect(app.learner(defineLearner('l', { decisions: { m: variable.bool() } }))).rejects.toBeInstanceOf(DSPexConfigError);
  });

  it('serves a session call, a pipeline run under Pipelines journaled in the store, a variable space and a learner', async () => {
    app = await DSPex.start(quiet(), { ...BARE, store: { sqlite: { dir: tempDir() } }, sessions: { historyTurns: 10 }, variables: true, learner: true, pipelines: { pipelines: [double] } });
    expect(await app.sessions.call('chat', echo, { question: 'a' })).toEqual({ answer: '#1: a', seen: [] });
    expect(await app.sessions.call('chat', echo, { question: 'b' })).toEqual({ answer: '#2: b', seen: ['a'] });

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const running = new Promise<void>((resolve) => (began = resolve));
    const gated = pipeline('gated', { inputs: ['x'], steps: [step('wait', async ({ x }) => (began(), await gate, { y: x }), { inputs: ['x'], outputs: ['y'] })] });
    const run = app.pipelines.start(gated, { x: 7 });
    await running;
    expect(await DynamicSupervisor.whichChildren(rt!, APP_PART_NAMES.pipelines)).toHaveLength(1); // the run's supervisor
    release();
    expect((await run.result).y).toBe(7);
    expect(await app.store.getRun(run.runId)).toMatchObject({ status: 'completed', pipeline: 'gated', output: { x: 7, y: 7 } });

    const space = await app.variables(defineSpace('qa', { variables: { temperature: variable.float({ min: 0, max: 1, default: 1 }) } }));
    expect((await space.set({ temperature: 0.5 })).values.temperature).toBe(0.5);
    const learner = await app.learner(defineLearner('route', { decisions: { model: variable.lm({ choices: ['small', 'large'] }) }, seed: 1 }));
    expect(['model=small', 'model=large']).toContain((await learner.choose({ task: 't' })).arm);
  });
});

for (const backend of STORES) {
  describe.skipIf(!backend.available)(`a store the app opens on ${backend.name}`, () => {
    afterEach(() => backend.cleanup());

    it('keeps a session\'s history and a run across a stop and a start on the same database', async () => {
      const { options } = await backend.fresh();
      const parts = { store: options as StoreOptions, sessions: true, pipelines: { pipelines: [double] } } as const;
      app = await DSPex.start(quiet(), { ...BARE, ...parts });
      await app.sessions.call('chat', echo, { question: 'a' });
      await app.sessions.call('chat', echo, { question: 'b' });
      const run = app.pipelines.start(double, { x: 21 });
      await run.result;
      await app.stop();
      await rt!.shutdown();

      app = await DSPex.start(quiet(), { ...BARE, ...parts });
      expect((await app.sessions.get('chat')).turnCount).toBe(2);
      expect(await app.sessions.call('chat', echo, { question: 'c' })).toEqual({ answer: '#3: c', seen: ['a', 'b'] });
      expect(await app.pipelines.resume(run.runId).result).toEqual({ x: 21, y: 42 }); // completed: its stored output
    });
  });
}

describe('shutdown', () => {
  it('closes the store the app opened and leaves no process and no open file behind', async () => {
    const dir = tempDir();
    app = await DSPex.start(quiet(), { ...BARE, store: { sqlite: { dir } }, sessions: true, pipelines: true });
    await app.sessions.call('chat', echo, { question: 'a' });
    await app.pipelines.start(double, { x: 1 }).result;
    const store = app.store;
    expect(openFilesUnder(dir).length).toBeGreaterThan(0); // the database file is open while the app runs
    await app.stop();
    expect(rt!.processCount).toBe(0);
    expect(openFilesUnder(dir)).toEqual([]);
    expect(store.closed).toBe(true);
    await expect(store.getRun('anything')).rejects.toBeInstanceOf(StoreClosedError);
    app = undefined;
  });

  it('leaves a store passed in open: it is the caller\'s to close', async () => {
    const dir = tempDir();
    const mine: Store = await openStore({ sqlite: { dir } });
    try {
      app = await DSPex.start(quiet(), { ...BARE, store: mine, sessions: true });
      expect((await Supervisor.whichChildren(rt!, app.supervisor)).map((c) => c.id)).not.toContain('Store');
      expect(app.store).toBe(mine);
      await app.sessions.call('chat', echo, { question: 'a' });
      await app.stop();
      app = undefined;
      expect(rt!.processCount).toBe(0);
      expect(mine.closed).toBe(false);
      expect((await mine.loadSession('chat'))?.turnCount).toBe(1);
    } finally {
      await mine.close();
    }
  });
});

describe('crashes in the Sessions subtree', () => {
  it('restarts what the strategy says and nothing else; the sessions keep their history', async () => {
    app = await DSPex.start(quiet(), { ...BARE, store: { sqlite: { dir: tempDir() } }, sessions: true, pipelines: true });
    await app.sessions.call('chat', echo, { question: 'a' });
    const appChildren = async () => new Map((await Supervisor.whichChildren(rt!, app!.supervisor)).map((c) => [c.id, c.pid as Pid]));
    const before = await appChildren();
    const tree = before.get('Sessions')!;
    const inTree = async () => new Map((await Supervisor.whichChildren(rt!, tree)).map((c) => [c.id, c.pid as Pid]));
    const sessionsBefore = await inTree();

    // The DynamicSupervisor of session actors: rest_for_one restarts it and the manager after it, not the Registry.
    const restarted = restartOf(rt!, `${APP_PART_NAMES.sessions}.Supervisor`);
    rt!.exit(sessionsBefore.get(`${APP_PART_NAMES.sessions}.Supervisor`)!, 'kill');
    await restarted;
    const sessionsAfter = await inTree();
    expect(sessionsAfter.get(`${APP_PART_NAMES.sessions}.Registry`)).toBe(sessionsBefore.get(`${APP_PART_NAMES.sessions}.Registry`));
    expect(sessionsAfter.get(`${APP_PART_NAMES.sessions}.Supervisor`)).not.toBe(sessionsBefore.get(`${APP_PART_NAMES.sessions}.Supervisor`));
    expect(sessionsAfter.get(APP_PART_NAMES.sessions)).not.toBe(sessionsBefore.get(APP_PART_NAMES.sessions));
    expect(await appChildren()).toEqual(before); // the application saw nothing
    expect(await app.sessions.call('chat', echo, { question: 'b' })).toEqual({ answer: '#2: b', seen: ['a'] });

    // The whole Sessions subtree: the application (one_for_one) restarts it alone; the handle follows it by name.
    const treeRestarted = restartOf(rt!, 'Sessions');
    rt!.exit(tree, 'kill');
    await treeRestarted;
    const after = await appChildren();
    expect(after.get('Sessions')).not.toBe(tree);
    for (const id of ['Registry', 'LM', 'Pools', 'Store', 'Pipelines']) expect(after.get(id)).toBe(before.get(id));
    expect(await app.sessions.call('chat', echo, { question: 'c' })).toEqual({ answer: '#3: c', seen: ['a', 'b'] });
  });
});

describe('misconfiguration', () => {
  it('is a DSPexConfigError naming the option, before anything starts', async () => {
    quiet();
    await expect(DSPex.start(rt!, { ...BARE, sessions: true })).rejects.toMatchObject({ code: 'DSPEX_APP_CONFIG', option: 'sessions', message: expect.stringMatching(/needs a store/) });
    expect(() => DSPex.childSpec(rt!, { ...BARE, learner: {} })).toThrow(DSPexConfigError);
    const dir = tempDir();
    await expect(DSPex.start(rt!, { ...BARE, store: { sqlite: { dir }, postgres: { connectionString: 'postgres://x' } } as never })).rejects.toMatchObject({ option: 'store' });
    await expect(DSPex.start(rt!, { ...BARE, store: 'my.store' as never })).rejects.toMatchObject({ option: 'store' });
    await expect(DSPex.start(rt!, { ...BARE, store: { sqlite: { dir } }, sessions: { python: { pool: 'general' } } })).rejects.toMatchObject({ option: 'sessions.python.pool' });
    expect(rt!.processCount).toBe(0);
    expect(openFilesUnder(dir)).toEqual([]);
  });

  it('is a DSPexStartError with the cause when a part fails in its init', async () => {
    quiet();
    const notADirectory = join(tempDir(), 'file');
    await import('node:fs').then((fs) => fs.writeFileSync(notADirectory, 'x'));
    await expect(DSPex.start(rt!, { ...BARE, store: { sqlite: { dir: notADirectory } }, sessions: true })).rejects.toMatchObject({ code: 'DSPEX_APP_START' });
    expect(rt!.processCount).toBe(0);
  });
});
