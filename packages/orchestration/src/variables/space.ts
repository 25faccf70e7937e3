// A variable space's definition: its variables, the constraints across them and the order derived variables
// are computed in. Checked once, when defined (ranges, choices, defaults, dependencies, cycles); afterwards it
// answers the coordinator's and the optimizers' questions: what is a complete assignment, is it allowed.

import type { JsonValue } from '@dspex/store';
import { VariableCycleError, VariableDefinitionError, type VariableIssue } from './errors.js';
import { choicesOf, fallbackOf, problemOf, type Assignment, type VariableSpec } from './kinds.js';

/** A predicate over a whole assignment: true (or undefined) to accept, false or a reason to refuse. */
export interface CrossConstraint {
  name: string;
  check: (assignment: Readonly<Assignment>) => boolean | string | undefined;
}

/** What defineSpace takes besides the name: the variables and the constraints over them. */
export interface SpaceOptions {
  variables: Record<string, VariableSpec>;
  constraints?: readonly CrossConstraint[];
}

/** A checked space definition; give it to Variables' `space()` to get its coordinator. */
export interface SpaceDefinition {
  readonly name: string;
  readonly variables: Readonly<Record<string, VariableSpec>>;
  readonly constraints: readonly CrossConstraint[];
  /** Variables that can be set (everything not derived), in definition order. */
  readonly free: readonly string[];
  /** Derived variables in an order where each comes after what it depends on. */
  readonly derived: readonly string[];
  /** Every variable at its default, derived ones computed. */
  defaults(): Assignment;
  /** `values` (free variables; missing ones from `base`, then defaults) with every derived variable recomputed. */
  complete(values: Readonly<Assignment>, base?: Readonly<Assignment>): Assignment;
  /** Everything wrong with a complete assignment: per-variable checks first, then the cross constraints. */
  check(assignment: Readonly<Assignment>): VariableIssue[];
}

function isDerived(spec: VariableSpec): boolean {
  return spec.derive !== undefined;
}

/** Derived variables ordered dependencies first; a VariableCycleError names the first loop found. */
function orderDerived(name: string, variables: Record<string, VariableSpec>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (variable: string, path: string[]): void => {
    const seen = state.get(variable);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new VariableCycleError(name, [...path.slice(path.indexOf(variable)), variable]);
    const spec = variables[variable]!;
    if (!isDerived(spec)) return;
    state.set(variable, 'visiting');
    for (const dependency of spec.dependsOn ?? []) visit(dependency, [...path, variable]);
    state.set(variable, 'done');
    order.push(variable);
  };
  for (const variable of Object.keys(variables)) visit(variable, []);
  return order;
}

function checkSpec(space: string, variable: string, spec: VariableSpec, variables: Record<string, VariableSpec>): void {
  const fail = (problem: string): never => {
    throw new VariableDefinitionError(space, variable, problem);
  };
  if (spec === null || typeof spec !== 'object' || typeof spec.kind !== 'string') fail('is not a variable spec; build one with variable.float({...}), variable.choice({...}), ...');
  if (spec.kind === 'float' || spec.kind === 'int') {
    if (!Number.isFinite(spec.min) || !Number.isFinite(spec.max) || spec.min > spec.max) fail(`needs finite min <= max, not [${spec.min}, ${spec.max}]`);
    if (spec.step !== undefined && !(spec.step > 0)) fail(`step must be positive, not ${spec.step}`);
    if (spec.log === true && !(spec.min > 0)) fail(`a log scale needs min > 0, not ${spec.min}`);
    if (spec.log === true && spec.step !== undefined) fail('takes a step or a log scale, not both');
  }
  const choices = choicesOf(spec);
  if (choices !== undefined && choices.length === 0) fail('has no choices to take a value from');
  if ((spec.dependsOn === undefined) !== (spec.derive === undefined)) fail('a derived variable needs both dependsOn (what it is computed from) and derive (how)');
  for (const dependency of spec.dependsOn ?? []) {
    if (!(dependency in variables)) fail(`depends on "${dependency}", which the space does not define`);
  }
  if (!isDerived(spec)) {
    const problem = problemOf(spec, fallbackOf(spec));
    if (problem !== undefined) fail(`its default ${problem}`);
  }
}

/**
 * Checks a space definition and returns it ready for use. Throws VariableDefinitionError for a bad spec and
 * VariableCycleError when derived variables depend on each other in a loop, before anything starts.
 */
export function defineSpace(name: string, options: SpaceOptions): SpaceDefinition {
  if (typeof name !== 'string' || name.length === 0) throw new VariableDefinitionError(String(name), undefined, 'a space needs a non-empty name');
  const variables = { ...options.variables };
  if (Object.keys(variables).length === 0) throw new VariableDefinitionError(name, undefined, 'defines no variables');
  for (const [variable, spec] of Object.entries(variables)) checkSpec(name, variable, spec, variables);
  const derived = orderDerived(name, variables);
  const free = Object.keys(variables).filter((v) => !isDerived(variables[v]!));
  const constraints = [...(options.constraints ?? [])];

  const complete = (values: Readonly<Assignment>, base: Readonly<Assignment> = {}): Assignment => {
    const out: Assignment = {};
    for (const v of free) out[v] = structuredClone(values[v] ?? base[v] ?? fallbackOf(variables[v]!));
    for (const v of derived) {
      const spec = variables[v]!;
      const deps = Object.fromEntries((spec.dependsOn ?? []).map((d) => [d, out[d]!]));
      out[v] = (spec.derive as (d: Assignment) => JsonValue)(deps);
    }
    return out;
  };

  const check = (assignment: Readonly<Assignment>): VariableIssue[] => {
    const issues: VariableIssue[] = [];
    for (const [v, spec] of Object.entries(variables)) {
      const problem = problemOf(spec, assignment[v]);
      if (problem !== undefined) issues.push({ variable: v, message: problem });
    }
    if (issues.length > 0) return issues; // cross constraints assume well-typed values
    for (const constraint of constraints) {
      let verdict: boolean | string | undefined;
      try {
        verdict = constraint.check(assignment);
      } catch (error) {
        verdict = `its check threw: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (verdict === true || verdict === undefined) continue;
      issues.push({ constraint: constraint.name, message: verdict === false ? 'the assignment does not satisfy it' : verdict });
    }
    return issues;
  };

  return { name, variables, constraints, free, derived, defaults: () => complete({}), complete, check };
}
