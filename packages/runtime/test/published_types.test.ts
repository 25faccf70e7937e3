// The published declarations are the public surface: `npm run build` strips what is marked @internal
// (stripInternal in tsconfig.build.json), so the runtime's core (the scheduler, the root pseudo-process,
// the interceptor, the running process, internal monitors, terminate, the Process class) must carry the tag.
// A syntactic check, fast enough for every run; it fails when a core member loses its tag.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', 'src');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(join(src, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

const isInternal = (node: ts.Node): boolean => ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');

/** Names of the declarations in `file` (top level, and members of `className`) that are marked @internal. */
function internals(file: string, className?: string): Set<string> {
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    const name = (node as { name?: ts.Node }).name;
    if (name !== undefined && ts.isIdentifier(name) && isInternal(node)) found.add(name.text);
    if (ts.isVariableStatement(node) && isInternal(node)) node.declarationList.declarations.forEach((d) => ts.isIdentifier(d.name) && found.add(d.name.text));
    if (ts.isClassDeclaration(node) && node.name?.text === className) node.members.forEach(visit);
  };
  parse(file).statements.forEach(visit);
  return found;
}

describe('published declarations', () => {
  it('are built with stripInternal', () => {
    const config = ts.parseConfigFileTextToJson('tsconfig.build.json', readFileSync(join(src, '..', 'tsconfig.build.json'), 'utf8'));
    expect(config.config?.compilerOptions?.stripInternal).toBe(true);
  });

  it('leave out the runtime core', () => {
    const runtime = internals('runtime.ts', 'Runtime');
    for (const member of ['scheduler', 'root', 'interceptor', 'current', 'watch', 'terminate', 'resolve', 'mailboxHighWaterReached', 'asProcess', 'describeDest']) {
      expect(runtime.has(member), `Runtime.${member} is @internal`).toBe(true);
    }
    expect(runtime.has('onExit')).toBe(false);
    const process = internals('process.ts');
    for (const name of ['Process', 'InjectedCrash', 'flushMessages', 'QUEUED', 'DEAD', 'MonitorWatcher']) expect(process.has(name), name).toBe(true);
    expect(internals('scheduler.ts').has('Scheduler')).toBe(true);
    const from = internals('gen_server.ts', 'From');
    for (const name of ['timer', 'cancelWatch', 'fail']) expect(from.has(name), `From.${name}`).toBe(true);
  });
});
