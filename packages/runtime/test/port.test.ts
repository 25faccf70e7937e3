// Ports: real OS processes. Exit statuses become exit reasons, the whole process group dies with the port,
// extra fds and stdin/stdout carry data, spawn failures are typed, and links carry crashes both ways.

import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Down, Exit, Port, PortData, Runtime, Supervisor, type Pid, type PortHandle, type ProcessContext } from '../src/index.js';
import { collector } from './fixtures/collector.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });
const node = process.execPath;
const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));

const PF_EXITING = 0x4;

/**
 * Dead: kill(pid, 0) says ESRCH, or the kernel shows it exiting (PF_EXITING) or as a zombie waiting for init
 * to reap it (state Z). A zombie still answers kill(pid, 0), and init reaps orphans when it gets to them.
 */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [state, , , , , , flags] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state === 'Z' || state === 'X' || (Number(flags) & PF_EXITING) !== 0;
}

/** Resolves with the first `count` lines a stream prints. */
function lines(stream: Readable, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const got = buffered.split('\n').slice(0, -1);
      if (got.length >= count) {
        stream.off('data', onData);
        resolve(got.slice(0, count));
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended after: ${buffered}`)));
  });
}

/** A group of three: sh and two background sleeps. Resolves once both sleeps run, with every member's pid. */
async function openGroup(rt: Runtime, script = ''): Promise<{ port: PortHandle; members: number[] }> {
  const port = await Port.open(rt, { command: 'sh', args: ['-c', `${script} sleep 1000 & echo $!; sleep 1000 & echo $!; echo ready; wait`], killTimeoutMs: 300 });
  const [a, b] = await lines(port.stdout, 3);
  return { port, members: [port.osPid, Number(a), Number(b)] };
}

describe('Port exit reasons', () => {
  it.each([
    ['exit 0', 'normal'],
    ['exit 3', { exitStatus: 3 }],
    ['kill -KILL $$', { signal: 'SIGKILL' }],
  ])('sh -c "%s" exits the port with %j', async (script, reason) => {
    const rt = silent();
    const watcher = collector(rt);
    const port = await Port.open(rt, { command: 'sh', args: ['-c', script] });
    rt.monitor(watcher.pid, port.pid);
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect(down.pid).toBe(port.pid);
    expect(down.reason).toEqual(reason);
    expect(await port.exited).toEqual(script === 'kill -KILL $$' ? { code: null, signal: 'SIGKILL' } : { code: Number(script.split(' ')[1]), signal: null });
  });
});

describe('Port process groups die with the port', () => {
  it('killing the port process SIGKILLs every member of the group', async () => {
    const rt = silent();
    const { port, members } = await openGroup(rt);
    expect(members.some(isGone)).toBe(false);
    rt.exit(port.pid, 'kill');
    expect(await port.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(members.filter((pid) => !isGone(pid))).toEqual([]);
  });

  it('a shutdown sends SIGTERM first, and the port exits shutdown once the group is gone', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const { port, members } = await openGroup(rt);
    rt.monitor(watcher.pid, port.pid);
    rt.exit(port.pid, 'shutdown');
    expect(await port.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(members.filter((pid) => !isGone(pid))).toEqual([]);
    expect((await watcher.next<Down>((m) => m instanceof Down)).reason).toBe('shutdown');
  });

  it('a group that ignores SIGTERM gets SIGKILL after killTimeoutMs', async () => {
    const rt = silent();
    const { port, members } = await openGroup(rt, "trap '' TERM;");
    rt.exit(port.pid, 'shutdown');
    expect(await port.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(members.filter((pid) => !isGone(pid))).toEqual([]);
  });

  it('runtime.shutdown() waits for the OS process and leaves no member behind', async () => {
    const rt = silent();
    const { port, members } = await openGroup(rt);
    await rt.shutdown();
    const settled = await Promise.race([port.exited, Promise.resolve('still running')]);
    expect(settled).toEqual({ code: null, signal: 'SIGTERM' });
    expect(members.filter((pid) => !isGone(pid))).toEqual([]);
    expect(rt.isAlive(port.pid)).toBe(false);
  });

  it('when the leader exits by itself, the orphans it leaves in the group are killed', async () => {
    const rt = silent();
    const port = await Port.open(rt, { command: 'sh', args: ['-c', 'sleep 1000 & echo $!; exit 0'] });
    const [orphan] = await lines(port.stdout, 1);
    expect(await port.exited).toEqual({ code: 0, signal: null });
    expect(isGone(Number(orphan))).toBe(true);
  });
});

describe('Port safety net', () => {
  it('when Node exits, every live port group is SIGKILLed', async () => {
    // The port's OS process holds a FIFO open for writing; the reader sees EOF only when it has died.
    const dir = mkdtempSync(join(tmpdir(), 'dspex-port-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'alive');
    execFileSync('mkfifo', [fifo]);
    const eof = text(createReadStream(fifo));
    const script = [
      "import { pino } from 'pino';",
      "import { Port, Runtime } from './src/index.ts';",
      "const rt = new Runtime({ logger: pino({ level: 'silent' }) });",
      `const port = await Port.open(rt, { command: 'sh', args: ['-c', 'exec 3>${fifo}; echo ready; exec sleep 1000'] });`,
      "port.stdout.once('data', () => { console.log(port.osPid); process.exit(0); });",
    ].join('\n');
    const child = await Port.open(silent(), { command: node, args: ['--import', 'tsx', '--input-type=module', '-e', script], cwd: packageRoot });
    const [osPid] = await lines(child.stdout, 1);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(await eof).toBe('');
    expect(isGone(Number(osPid))).toBe(true);
  });
});

describe('Port data', () => {
  it('{ command } writes to stdin, close ends it, stdout comes to deliverTo as PortData', async () => {
    const rt = silent();
    const owner = collector(rt);
    const port = await Port.open(rt, { command: node, args: ['-e', 'process.stdin.pipe(process.stdout)'], deliverTo: owner.pid });
    rt.monitor(owner.pid, port.pid);
    rt.send(port.pid, { command: 'hello ' });
    expect(Port.command(rt, port.pid, Buffer.from('port'))).toBe(true);
    Port.close(rt, port.pid);
    const down = await owner.next<Down>((m) => m instanceof Down);
    expect(down.reason).toBe('normal');
    const data = owner.seen.filter((m): m is PortData => m instanceof PortData);
    expect(data.every((m) => m.port === port.pid)).toBe(true);
    expect(Buffer.concat(data.map((m) => m.data)).toString()).toBe('hello port');
    // Every chunk arrived before the DOWN: the port waits for stdout to close before it exits.
    expect(owner.seen.indexOf(down)).toBeGreaterThan(owner.seen.indexOf(data.at(-1)));
  });

  it('without deliverTo, stdout and stderr are streams to read', async () => {
    const rt = silent();
    const port = await Port.open(rt, { command: 'sh', args: ['-c', 'echo out; echo err >&2'] });
    const [out, err] = await Promise.all([text(port.stdout), text(port.stderr)]);
    expect([out, err]).toEqual(['out\n', 'err\n']);
  });

  it('extra fds round trip: the child echoes fd 3 to fd 4', async () => {
    const rt = silent();
    const echo = "const fs = require('fs'); fs.createReadStream(null, { fd: 3 }).pipe(fs.createWriteStream(null, { fd: 4 }));";
    const port = await Port.open(rt, { command: node, args: ['-e', echo], extraFds: 2, env: { DSPEX_TEST: '1' } });
    expect(port.fds).toHaveLength(2);
    const [fd3, fd4] = port.fds;
    expect(fd3!.writable).toBeDefined();
    expect(fd4!.readable).toBeDefined();
    const echoed = text(fd4!.readable!);
    fd3!.writable!.end('frame over fd 3');
    expect(await echoed).toBe('frame over fd 3');
    expect(await port.exited).toEqual({ code: 0, signal: null });
  });

  it('env and cwd reach the OS process', async () => {
    const rt = silent();
    const port = await Port.open(rt, { command: 'sh', args: ['-c', 'echo "$DSPEX_PORT_TEST $(pwd)"'], env: { DSPEX_PORT_TEST: 'hi' }, cwd: '/tmp' });
    expect(await text(port.stdout)).toBe('hi /tmp\n');
  });
});

describe('Port spawn failures', () => {
  it('a missing command rejects with PortCommandNotFoundError, and a child spec start returns { error }', async () => {
    const rt = silent();
    const failure = Port.open(rt, { command: 'dspex-no-such-command' });
    await expect(failure).rejects.toMatchObject({ code: 'DSPEX_PORT_COMMAND_NOT_FOUND', command: 'dspex-no-such-command' });
    await expect(failure).rejects.toThrow(/command not found: dspex-no-such-command/);

    const errors: unknown[] = [];
    rt.telemetry.on('start_error', (e) => errors.push(e.reason));
    const started = await Supervisor.start(rt, { children: [Port.childSpec('missing', { command: 'dspex-no-such-command' })] });
    expect(started).toMatchObject({ error: expect.anything() });
    expect(errors[0]).toMatchObject({ code: 'DSPEX_PORT_COMMAND_NOT_FOUND' });
  });
});

describe('Port links', () => {
  /**
   * An owner process that opens a port linked to itself, forwards every message it gets to `spy`, and
   * exits normally when told 'stop'.
   */
  function owner(rt: Runtime, script: string, options: { trapExit: boolean; spy?: Pid }) {
    let opened!: (handle: PortHandle) => void;
    const handle = new Promise<PortHandle>((resolve) => (opened = resolve));
    const pid = rt.spawn(
      {
        async init(self: ProcessContext) {
          opened(await Port.openLink(self, { command: 'sh', args: ['-c', script] }));
        },
        receive(message: unknown, self: ProcessContext) {
          if (message === 'stop') self.exit('normal');
          else if (options.spy !== undefined) self.send(options.spy, message);
        },
      },
      { trapExit: options.trapExit },
    );
    return { pid, handle };
  }

  it('an OS process that exits non-zero crashes a linked owner that does not trap exits', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const { pid } = owner(rt, 'exit 7', { trapExit: false });
    rt.monitor(watcher.pid, pid);
    expect((await watcher.next<Down>((m) => m instanceof Down)).reason).toEqual({ exitStatus: 7 });
  });

  it('a trapping owner gets an EXIT with the exit status and lives on', async () => {
    const rt = silent();
    const spy = collector(rt);
    const { pid, handle } = owner(rt, 'exit 7', { trapExit: true, spy: spy.pid });
    const exit = await spy.next<Exit>((m) => m instanceof Exit);
    expect(exit.from).toBe((await handle).pid);
    expect(exit.reason).toEqual({ exitStatus: 7 });
    expect(rt.isAlive(pid)).toBe(true);
  });

  it('a crash of the owner kills the port and its OS process', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const { pid, handle } = owner(rt, 'sleep 1000', { trapExit: false });
    const port = await handle;
    rt.monitor(watcher.pid, port.pid);
    rt.exit(pid, 'boom');
    expect(await port.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isGone(port.osPid)).toBe(true);
    expect((await watcher.next<Down>((m) => m instanceof Down)).reason).toBe('boom');
  });

  it('a normal exit of the owner closes the port too, as in Erlang', async () => {
    const rt = silent();
    const { pid, handle } = owner(rt, 'sleep 1000', { trapExit: false });
    const port = await handle;
    rt.send(pid, 'stop');
    expect(await port.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isGone(port.osPid)).toBe(true);
  });

  it('under a supervisor, a crashed port is restarted and supervisor shutdown stops the group', async () => {
    const rt = silent();
    const restarted = new Promise<unknown>((resolve) => rt.telemetry.once('restart', (e) => resolve(e.reason)));
    const spec = Port.childSpec('reader', { command: 'sh', args: ['-c', 'read line; exit 5'] });
    const started = await Supervisor.start(rt, { intensity: 3, children: [spec] });
    const sup = (started as { ok: Pid }).ok;
    const [first] = await Supervisor.whichChildren(rt, sup);
    Port.close(rt, first!.pid as Pid);
    expect(await restarted).toEqual({ exitStatus: 5 });
    const [second] = await Supervisor.whichChildren(rt, sup);
    const handle = Port.handleOf(second!.pid as Pid)!;
    expect(handle.pid).toBe(second!.pid);
    await Supervisor.stop(rt, sup);
    // The child exited only once its OS process had: exited is settled when stop resolves.
    expect(await Promise.race([handle.exited, Promise.resolve('still running')])).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
