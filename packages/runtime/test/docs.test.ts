// Documentation that cannot drift: every public export of the package (both entry points) carries a doc
// comment, and every ```ts block of README.md not marked `fragment` runs as a program against this
// package's source, so an example that no longer works fails the suite.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('every public export has a doc comment', () => {
  const entries = [join(root, 'src/index.ts'), join(root, 'src/testing/index.ts')];
  const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  for (const entry of entries) {
    it(entry.slice(root.length + 1), () => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
      const undocumented = checker
        .getExportsOfModule(module)
        .filter((exported) => {
          const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
          return (symbol.declarations ?? []).every((d) => ts.getJSDocCommentsAndTags(d).length === 0 && ts.getJSDocCommentsAndTags(d.parent?.parent ?? d).length === 0);
        })
        .map((s) => s.name);
      expect(undocumented).toEqual([]);
    });
  }
});

/** The README's ```ts blocks, each with the line it starts on; a block opened with ```ts fragment is skipped. */
function readmeExamples(): Array<{ line: number; code: string }> {
  const examples: Array<{ line: number; code: string }> = [];
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[++i]!.trim() !== '```');
    examples.push({ line: start, code: lines.slice(start, i).join('\n') });
  }
  return examples;
}

describe('README examples run', () => {
  const dir = join(root, 'test', '.readme-examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const examples = readmeExamples();
  it('has runnable examples', () => expect(examples.length).toBeGreaterThanOrEqual(8));
  for (const { line, code } of examples) {
    it(`README.md:${line}`, async () => {
      const file = join(dir, `example_${line}.ts`);
      const source = code
        .replaceAll("'@dspex/runtime/testing'", `'${pathToFileURL(join(root, 'src/testing/index.ts')).href}'`)
        .replaceAll("'@dspex/runtime'", `'${pathToFileURL(join(root, 'src/index.ts')).href}'`);
      writeFileSync(file, `${source}\nexport {};\n`);
      process.env.DSPEX_LOG_LEVEL ??= 'silent';
      await import(pathToFileURL(file).href);
    }, 20_000);
  }
});
