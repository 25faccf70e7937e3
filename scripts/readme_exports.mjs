// Lists the public exports of a package that no runnable ```ts block of its README mentions: the gaps between
// the API and its examples. Usage: node scripts/readme_exports.mjs [package...] (default: every package with a
// README); prints one line per package with the names missing, values first, then types.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { readmeExamples } from './docs_check.mjs';

const packagesDir = join(import.meta.dirname, '..', 'packages');
const entriesOf = (dir) => ['src/index.ts', 'src/testing/index.ts'].map((e) => join(dir, e)).filter((f) => existsSync(f));

function exportsOf(files) {
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const names = new Map();
  for (const file of files) {
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)))) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      names.set(exported.name, symbol.flags & ts.SymbolFlags.Value ? 'value' : 'type');
    }
  }
  return names;
}

const wanted = process.argv.slice(2);
const packages = wanted.length ? wanted : readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'README.md')) && entriesOf(join(packagesDir, p)).length);
for (const name of packages) {
  const dir = join(packagesDir, name);
  const code = readmeExamples(join(dir, 'README.md')).map((e) => e.code).join('\n');
  const missing = [...exportsOf(entriesOf(dir))].filter(([n]) => !new RegExp(`\\b${n.replace(/\$/g, '\\$')}\\b`).test(code));
  const values = missing.filter(([, k]) => k === 'value').map(([n]) => n);
  const types = missing.filter(([, k]) => k === 'type').map(([n]) => n);
  console.log(`${name}: ${values.length} values, ${types.length} types not in a runnable block\n  values: ${values.join(', ')}\n  types: ${types.join(', ')}`);
}
