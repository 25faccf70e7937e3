// Documentation that cannot drift, shared by every package's test/docs.test.ts: each public export carries a
// doc comment, and each ```ts block of a README not marked `fragment` runs as a program against the package's
// source. A package's docs test calls `checkDocComments` and `runReadmeExamples` with its own entry points.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';

/** Registers one test per entry point asserting that every name it exports has a doc comment. */
export function checkDocComments(root, entries) {
  describe('every public export has a doc comment', () => {
    const files = entries.map((entry) => join(root, entry));
    const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
    const checker = program.getTypeChecker();
    for (const file of files) {
      it(file.slice(root.length + 1), () => {
        const module = checker.getSymbolAtLocation(program.getSourceFile(file));
        // Each undocumented name with where it is declared, so the failure says which file to open.
        const undocumented = checker
          .getExportsOfModule(module)
          .map((exported) => ({ name: exported.name, symbol: exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported }))
          .filter(({ symbol }) => (symbol.declarations ?? []).every((d) => ts.getJSDocCommentsAndTags(d).length === 0 && ts.getJSDocCommentsAndTags(d.parent?.parent ?? d).length === 0))
          .map(({ name, symbol }) => {
            const declaration = symbol.declarations?.[0];
            if (!declaration) return name;
            const source = declaration.getSourceFile();
            const { line } = source.getLineAndCharacterOfPosition(declaration.getStart());
            return `${name} (${source.fileName.slice(root.length + 1)}:${line + 1})`;
          });
        expect(undocumented).toEqual([]);
      });
    }
  });
}

/** A README's ```ts blocks, each with the line it starts on; a block opened with ```ts fragment is skipped. */
export function readmeExamples(readme) {
  const examples = [];
  const lines = readFileSync(readme, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[++i].trim() !== '```');
    examples.push({ line: start, code: lines.slice(start, i).join('\n') });
  }
  return examples;
}

/** Registers one test per runnable README block: the block is written to a file and imported in a fresh module graph, so it runs as a program. */
export function runReadmeExamples({ root, imports, minExamples, timeoutMs = 20_000 }) {
  describe('README examples run', () => {
    const dir = join(root, 'test', '.readme-examples');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const examples = readmeExamples(join(root, 'README.md'));
    it('has runnable examples', () => expect(examples.length).toBeGreaterThanOrEqual(minExamples));
    // Longest specifier first, so '@dspex/runtime/testing' is rewritten before '@dspex/runtime'.
    const rewrites = Object.entries(imports).sort(([a], [b]) => b.length - a.length);
    for (const { line, code } of examples) {
      it(`README.md:${line}`, async () => {
        const file = join(dir, `example_${line}.ts`);
        let source = code;
        for (const [specifier, path] of rewrites) {
          const target = pathToFileURL(path.startsWith('/') ? path : join(root, path)).href;
          source = source.replaceAll(`'${specifier}'`, `'${target}'`);
        }
        writeFileSync(file, `${source}\nexport {};\n`);
        process.env.DSPEX_LOG_LEVEL ??= 'silent';
        // A fresh module graph per block, as a program gets: settings one block configures never reach the next.
        vi.resetModules();
        await import(pathToFileURL(file).href);
      }, timeoutMs);
    }
  });
}
