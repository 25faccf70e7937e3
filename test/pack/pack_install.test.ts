// The packages as a user gets them: each package is packed (its prepack builds dist/), the tarballs are
// installed with npm into a fresh project outside the workspace, and two programs are type-checked with plain
// tsc (NodeNext, strict, no custom export condition) and run with plain node: program/main.ts, which uses
// each package's main API, and the first program of the root README (read from the README, so the two agree).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
/** The published packages, in dependency order. */
const PACKAGES = ['runtime', 'python-bridge', 'dspex'] as const;
const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The whole file, packing and installing included, gets this long; every step is cut at what is left. */
const BUDGET_MS = 170_000;
const deadline = Date.now() + BUDGET_MS;

/** A tsconfig a user would write: nothing DSPex-specific. */
const USER_TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'] },
  include: ['*.ts'],
};

interface RunOptions { cwd: string; env?: NodeJS.ProcessEnv }

/**
 * Runs a command to completion within what is left of the budget; a failure or a timeout throws with the step,
 * the command and the end of its output. The command runs in its own process group, so a timeout ends the
 * processes it started too (pnpm under npx, Python workers under node).
 */
function run(step: string, command: string, args: readonly string[], options: RunOptions): Promise<string> {
  const timeoutMs = deadline - Date.now();
  if (timeoutMs <= 0) return Promise.reject(new Error(`${step}: not started, the test's ${BUDGET_MS / 1000} s budget is spent (the steps before it were slow).`));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    const fail = (why: string) => {
      const tail = output.trim().split('\n').slice(-40).join('\n');
      reject(new Error(`${step}: \`${command} ${args.join(' ')}\` (in ${options.cwd}) ${why}. Its output ends with:\n${tail}`));
    };
    child.on('error', (error) => { clearTimeout(timer); fail(`could not start (${error.message})`); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) fail(`was stopped at the test's ${BUDGET_MS / 1000} s budget`);
      else if (code !== 0) fail(`exited with ${String(code ?? signal)}`);
      else resolve(stdout);
    });
  });
}

/** The first ```ts block of the README's "Using DSPex in your own code" section. */
function readmeFirstProgram(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Using DSPex in your own code'));
  const code = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (code === undefined) throw new Error('README.md has no ```ts block under "## Using DSPex in your own code"; the first program lives there.');
  return code;
}

/** An OpenAI-compatible server answering every chat completion in ChatAdapter's format. */
function fakeOpenAI(answer: string): Promise<Server> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({
        id: 'chatcmpl-readme', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `[[ ## answer ## ]]\n${answer}\n\n[[ ## completed ## ]]` } }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('packed packages installed into a project outside the workspace', () => {
  const work = mkdtempSync(join(tmpdir(), 'dspex-pack-'));
  const tarballs = join(work, 'tarballs');
  const project = join(work, 'project');
  let server: Server | undefined;

  beforeAll(async () => {
    if (!existsSync(VENV_PYTHON)) throw new Error(`no Python environment at ${VENV_PYTHON}: run \`npm test\` (scripts/setup.sh creates it).`);
    mkdirSync(tarballs);
    mkdirSync(project);
    for (const name of PACKAGES) {
      await run(`packing packages/${name}`, 'npx', ['-y', 'pnpm@9', 'pack', '--pack-destination', tarballs], { cwd: join(ROOT, 'packages', name) });
    }
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'dspex-user', private: true, type: 'module' }, null, 2));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(USER_TSCONFIG, null, 2));
    const typesNode = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string };
    // No install script or optional binary is needed here (the embedded model, with node-llama-cpp's 600 MB of
    // binaries, is @dspex/local-lm, which is not among these packages), so neither is fetched.
    await run('installing the tarballs with npm', 'npm', [
      'install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts', '--loglevel=error',
      ...readdirSync(tarballs).map((file) => join(tarballs, file)), `@types/node@${typesNode.version}`,
    ], { cwd: project });
  }, BUDGET_MS + 10_000);

  afterAll(() => {
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('packs each package with dist/, published exports only, versions for workspace ranges, and the Python worker in the bridge', () => {
    for (const name of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(project, 'node_modules', name === 'dspex' ? 'dspex' : `@dspex/${name}`, 'package.json'), 'utf8')) as {
        exports: Record<string, Record<string, string>>; dependencies?: Record<string, string>;
      };
      expect(JSON.stringify(manifest.exports), name).not.toContain('development');
      expect(Object.values(manifest.dependencies ?? {}).filter((range) => range.startsWith('workspace:')), name).toEqual([]);
      expect(existsSync(join(project, 'node_modules', name === 'dspex' ? 'dspex' : `@dspex/${name}`, 'dist', 'index.js')), name).toBe(true);
    }
    const worker = join(project, 'node_modules', '@dspex', 'python-bridge', 'python');
    expect(existsSync(join(worker, 'pyproject.toml'))).toBe(true);
    expect(existsSync(join(worker, 'src', 'dspex_bridge', 'worker.py'))).toBe(true);
  });

  it('installs dspex without the embedded model or the Python bridge (they are @dspex/local-lm and @dspex/orchestration\'s)', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'dspex', 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain('node-llama-cpp');
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain('@dspex/python-bridge');
    expect(existsSync(join(project, 'node_modules', 'node-llama-cpp'))).toBe(false);
  });

  it('type-checks program/main.ts and the README\'s first program with plain tsc', async () => {
    writeFileSync(join(project, 'main.ts'), readFileSync(join(HERE, 'program', 'main.ts'), 'utf8'));
    writeFileSync(join(project, 'hello.ts'), readmeFirstProgram());
    await run('type-checking and compiling main.ts and hello.ts with plain tsc', process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project });
    expect(existsSync(join(project, 'out', 'main.js')) && existsSync(join(project, 'out', 'hello.js'))).toBe(true);
  }, BUDGET_MS + 10_000);

  it('runs each package\'s main API with plain node', async () => {

    // The workspace's .venv provides DSPy; PYTHONPATH puts the installed package's own worker first, so the
    // Python code that runs is the one in the tarball.
    const env = { ...process.env, DSPEX_PYTHON: VENV_PYTHON, PYTHONPATH: join(project, 'node_modules', '@dspex', 'python-bridge', 'python', 'src') };
    const stdout = await run('running main.js with plain node', process.execPath, [join('out', 'main.js')], { cwd: project, env });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({
      counter: 41,
      python: 'Paris',
      promptStartsWith: 'Your input fields are:\n1. `question` (st',
      answer: '4',
    });
  }, BUDGET_MS + 10_000);

  it('runs the README\'s first program with plain node against an OpenAI-compatible server', async () => {
    server = await fakeOpenAI('Paris');
    const { port } = server.address() as AddressInfo;
    const env = { ...process.env, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` };
    const stdout = await run('running the README\'s first program (hello.js) with plain node', process.execPath, [join('out', 'hello.js')], { cwd: project, env });
    expect(stdout.trim().split('\n').at(-1)).toBe('Paris');
  }, BUDGET_MS + 10_000);
});
