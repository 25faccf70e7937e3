// pipeline(): checks a definition once, when it is built, so a missing field or a duplicate name is a typed
// error before any run rather than a failure halfway through one. Walks the tree with the set of fields
// available at each point (the pipeline's inputs, then what each earlier step produces).

import { PipelineBuildError } from './errors.js';
import { runnableKind, sequence, type Node } from './nodes.js';

/** A checked pipeline: its name (the store's `pipeline` column, how resume finds it), inputs, body and outputs. */
export interface Pipeline {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly body: Node;
  /** Every field the run's state holds at the end (inputs included): the run's result. */
  readonly outputs: readonly string[];
}

/** Builds and checks a pipeline. Throws PipelineBuildError naming the step and the fields it lacks. */
export function pipeline(name: string, options: { inputs: readonly string[]; steps: Node | readonly Node[] }): Pipeline {
  const body = Array.isArray(options.steps) ? sequence(...(options.steps as Node[])) : (options.steps as Node);
  const paths = new Set<string>();
  const produced = check(body, new Set(options.inputs), '', paths);
  return { name, inputs: [...options.inputs], body, outputs: [...new Set([...options.inputs, ...produced])] };
}

/** The path of a named node under `parent` (the journal key's stem). */
export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

function claim(paths: Set<string>, path: string): void {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new PipelineBuildError(path, 'names may hold letters, digits and _ . : - only (they become journal keys).');
  if (paths.has(path)) throw new PipelineBuildError(path, 'this name is used twice at the same place; give each step its own name (it is its journal key).');
  paths.add(path);
}

function missing(needed: readonly string[], available: ReadonlySet<string>): string[] {
  return needed.filter((field) => !available.has(field));
}

/** The fields `node` adds to the state when it completes; throws on the first problem. */
function check(node: Node, available: ReadonlySet<string>, parent: string, paths: Set<string>): Set<string> {
  switch (node.kind) {
    case 'sequence': {
      const state = new Set(available);
      const added = new Set<string>();
      for (const child of node.steps) for (const field of check(child, state, parent, paths)) state.add(field), added.add(field);
      return added;
    }
    case 'step': {
      const path = childPath(parent, node.name);
      claim(paths, path);
      const lacking = missing(node.inputs, available);
      if (lacking.length > 0) {
        throw new PipelineBuildError(path, `needs ${lacking.map((f) => `'${f}'`).join(', ')}, which neither the pipeline's inputs nor an earlier step produce. Add a step that produces them before it, or add them to the pipeline's inputs.`, lacking);
      }
      if (node.outputs.length === 0) throw new PipelineBuildError(path, 'declares no outputs; name the fields it produces.');
      if (runnableKind(node.run) === 'tool' && node.outputs.length !== 1) throw new PipelineBuildError(path, 'a tool step has exactly one output field (the tool\'s return value).');
      if (node.retry !== undefined && (!Number.isInteger(node.retry.attempts) || node.retry.attempts < 1)) throw new PipelineBuildError(path, 'retry.attempts must be an integer >= 1 (the first attempt included).');
      if (node.timeoutMs !== undefined && !(node.timeoutMs > 0)) throw new PipelineBuildError(path, 'timeoutMs must be positive.');
      if (node.fallback !== undefined) {
        const fallbackOut = check(node.fallback, available, `${path}.fallback`, paths);
        const uncovered = missing(node.outputs, fallbackOut);
        if (uncovered.length > 0) throw new PipelineBuildError(`${path}.fallback`, `must produce the step's outputs; it lacks ${uncovered.map((f) => `'${f}'`).join(', ')}.`, uncovered);
      }
      if (typeof node.onFailure === 'object') {
        const uncovered = missing(node.outputs, new Set(Object.keys(node.onFailure.default)));
        if (uncovered.length > 0) throw new PipelineBuildError(path, `onFailure.default must hold every output field; it lacks ${uncovered.map((f) => `'${f}'`).join(', ')}.`, uncovered);
      }
      return new Set(node.outputs);
    }
    case 'parallel': {
      const path = childPath(parent, node.name);
      claim(paths, path);
      const outs = Object.entries(node.branches).map(([name, child]) => check(child, available, childPath(path, name), paths));
      if (outs.length === 0) throw new PipelineBuildError(path, 'has no branches.');
      if (!(node.concurrency >= 1)) throw new PipelineBuildError(path, 'concurrency must be >= 1.');
      // 'all' yields every branch's fields; a winner-takes-it mode only the fields every branch produces.
      if (node.mode === 'all') return new Set(outs.flatMap((s) => [...s]));
      return new Set([...outs[0]!].filter((field) => outs.every((s) => s.has(field))));
    }
    case 'map': {
      const path = childPath(parent, node.name);
      claim(paths, path);
      if (!available.has(node.over)) throw new PipelineBuildError(path, `maps over '${node.over}', which nothing before it produces.`, [node.over]);
      if (!(node.concurrency >= 1)) throw new PipelineBuildError(path, 'concurrency must be >= 1.');
      check(node.body, new Set([...available, node.as, 'index']), `${path}[]`, paths);
      return new Set([node.output]);
    }
    case 'branch': {
      const path = childPath(parent, node.name);
      claim(paths, path);
      const thenOut = check(node.then, available, childPath(path, 'then'), paths);
      const elseOut = node.else === undefined ? new Set<string>() : check(node.else, available, childPath(path, 'else'), paths);
      return new Set([...thenOut].filter((field) => elseOut.has(field)));
    }
    case 'loop': {
      const path = childPath(parent, node.name);
      claim(paths, path);
      if (!Number.isInteger(node.maxIterations) || node.maxIterations < 1) throw new PipelineBuildError(path, 'maxIterations must be an integer >= 1.');
      return check(node.body, available, `${path}#`, paths);
    }
  }
}
