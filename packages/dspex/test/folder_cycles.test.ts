// The folders of src/ are the subsystems of the DSPy port (signatures/, adapters/, predict/, ...); they must
// form a layered graph, so that each can be read, tested and moved on its own. This test builds the graph of
// imports between the top-level entries of src/, type-only ones (`import type`) included, and fails, naming the
// cycle, when it loops: a type a folder names ties it to the folder that defines it as much as a call does.
// The layers, bottom first; each folder imports only folders listed before it (docs/architecture.md):
//   utils/, usage/        Python-compatible text and JSON helpers; token counts (LMUsage), summed per call
//                         (UsageTracker) and priced: nothing below them
//   signatures/           the signature engine: fields, types, parsing, JSON schemas
//   primitives/           data and contracts: Example, Prediction, the LM contract (lm.ts), module errors, warnings
//   history/, tracing/    what an LM call leaves behind: its history entries (inspectHistory), OpenTelemetry spans
//   adapters/             prompts from signatures and back (ChatAdapter, JSONAdapter)
//   streaming/            field deltas of a streamed LM answer, parsed as the adapters write them
//   program/              Module and what runs a program: settings (configure, withSettings; names the Adapter
//                         type), Module.call's usage tracking, tracing and streaming, save/load, the LM call record
//   predict/              Predict, ChainOfThought, ReAct, Tool: the modules (Module.namedPredictors returns
//                         Predicts through the PredictorKinds interface program/module.ts leaves to predict.ts)
//   evaluate/, teleprompt/, clients/, signature_engine/   on top: evaluation, optimizers, the HTTP LM clients,
//                         the worker-thread pool; the DSPy core never imports clients/
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/**
 * Static and dynamic relative imports, re-exports and worker URLs (`new URL('./x.js', import.meta.url)`);
 * group 1 is set for a type-only import or re-export.
 */
const SPECIFIER = /(?:(?:import|export)\s+(type\s+)?[^;'"]*?from\s+|import\s*\(\s*|import\s+|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The top-level entry of src/ a path lies in: its folder, or the file itself for files directly in src/. */
function topLevel(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return undefined;
  const [first] = rel.split(sep);
  return first?.replace(/\.(ts|mts|mjs|js)$/, '');
}

/** Edges between top-level entries of src/: runtime imports only, or type-only ones too with `types`. */
export function folderGraph(options: { types?: boolean } = {}): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = topLevel(file)!;
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (match[1] !== undefined && options.types !== true) continue;
      const to = topLevel(resolve(dirname(file), match[2]!));
      if (to !== undefined && to !== from) edges.add(to);
    }
  }
  return graph;
}

/** One cycle of the graph as a path `a -> b -> ... -> a`, or undefined when the graph is acyclic. */
export function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.get(node) === undefined) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

describe('folders of packages/dspex/src', () => {
  it('import one another without cycles, type-only imports included', () => {
    const graph = folderGraph({ types: true });
    const cycle = findCycle(graph);
    expect(cycle?.join(' -> ')).toBeUndefined();
  });

  it('the checker finds a cycle when there is one (so the test above can fail)', () => {
    const graph = new Map([
      ['signatures', new Set(['adapters'])],
      ['adapters', new Set(['primitives'])],
      ['primitives', new Set(['signatures'])],
      ['predict', new Set(['adapters'])],
    ]);
    expect(findCycle(graph)).toEqual(['adapters', 'primitives', 'signatures', 'adapters']);
    graph.get('primitives')!.clear();
    expect(findCycle(graph)).toBeUndefined();
  });

  it('the DSPy core does not depend on the HTTP clients: the LM contract lives in primitives/lm.ts', () => {
    const graph = folderGraph({ types: true });
    const core = ['signatures', 'signature_engine', 'adapters', 'primitives', 'program', 'predict', 'streaming', 'usage', 'history', 'tracing', 'utils'];
    expect(core.filter((folder) => graph.get(folder)?.has('clients'))).toEqual([]);
    expect(graph.get('clients')?.has('primitives')).toBe(true);
  });

  it('the graph sees runtime imports between folders and leaves type-only ones out', () => {
    expect(folderGraph().get('predict')?.has('signatures')).toBe(true);
    expect(folderGraph().get('tracing')?.has('primitives')).toBe(false);
    expect(folderGraph({ types: true }).get('tracing')?.has('primitives')).toBe(true);
  });
});
