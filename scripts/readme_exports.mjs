// Lists the public exports of a package that no runnable ```ts block of its README uses: the gaps between the
// API and its examples. Usage: node scripts/readme_exports.mjs [package...] (default: every package with a
// README); prints one line per package with the names missing, values first, then types.
//
// A name counts as covered when a runnable block imports it from the package (its name or a subpath of it)
// and uses it (in code or in a type annotation); a mention in a comment or a string does not count. An export
// whose doc comment carries @internal (a helper exported for another package of the workspace) is left out.
// A package's docs test calls `checkReadmeCoversExports` to fail on the gaps.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readmeExamples } from './docs_check.mjs';

const packagesDir = join(import.meta.dirname, '..', 'packages');
const entriesOf = (dir) => ['src/index.ts', 'src/testing/index.ts'].filter((e) => existsSync(join(dir, e)));

const isInternal = (declaration) => [declaration, declaration.parent?.parent].some((node) => node && ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal'));

/** The names `files` export, each with its kind ('value' or 'type'), @internal ones left out. */
function exportsOf(files) {
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const names = new Map();
  for (const file of files) {
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)))) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if ((symbol.declarations ?? []).some(isInternal)) continue;
      names.set(exported.name, symbol.flags & ts.SymbolFlags.Value ? 'value' : 'type');
    }
  }
  return names;
}

/** The names a block imports from `packageName` (or a subpath of it) and then uses outside its imports. */
function usedImports(code, packageName) {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imported = new Map(); // local name -> exported name
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    if (specifier !== packageName && !specifier.startsWith(`${packageName}/`)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) imported.set(element.name.text, (element.propertyName ?? element.name).text);
  }
  const used = new Set();
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node) && imported.has(node.text)) used.add(imported.get(node.text));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return used;
}

/** The public exports of the package in `dir` that no runnable block of its README uses: `{ values, types }`. */
export function uncoveredExports(dir, entries = entriesOf(dir)) {
  const packageName = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  const used = new Set(readmeExamples(join(dir, 'README.md')).flatMap(({ code }) => [...usedImports(code, packageName)]));
  const missing = [...exportsOf(entries.map((e) => join(dir, e)))].filter(([name]) => !used.has(name));
  return { values: missing.filter(([, k]) => k === 'value').map(([n]) => n), types: missing.filter(([, k]) => k === 'type').map(([n]) => n) };
}

/**
 * Registers a test asserting that every public export of `entries` is used by a runnable block of the README,
 * except the names of `exceptions` (name -> why it has no example); an exception that is covered or no longer
 * exported fails too, so the list cannot go stale.
 */
export function checkReadmeCoversExports(root, entries, exceptions = {}) {
  describe('every public export has a runnable README example', () => {
    it('README.md', () => {
      const { values, types } = uncoveredExports(root, entries);
      const missing = [...values, ...types];
      expect(missing.filter((name) => !(name in exceptions)), 'exports no runnable README block imports and uses').toEqual([]);
      expect(Object.keys(exceptions).filter((name) => !missing.includes(name)), 'exceptions that are covered or not exported').toEqual([]);
    }, 60_000);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const wanted = process.argv.slice(2);
  const packages = wanted.length ? wanted : readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'README.md')) && entriesOf(join(packagesDir, p)).length);
  for (const name of packages) {
    const { values, types } = uncoveredExports(join(packagesDir, name));
    console.log(`${name}: ${values.length} values, ${types.length} types not in a runnable block\n  values: ${values.join(', ')}\n  types: ${types.join(', ')}`);
  }
}
