// A variable space's definition: its variables, the constraints across them and the order derived variables
// are computed in. Checked once, when defined (ranges, choices, defaults, dependencies, cycles); afterwards it
// answers the coordinator's and the optimizers' questions: what is a complete assignment, is it allowed.

import type { JsonValue } from '@dspex/store';
import { fingerprintOf, type Fingerprint } from '../actor_tree/fingerprint.js';
import { VariableCycleError, VariableDefinitionError, VariableValueError, type VariableIssue } from './errors.js';
import { ADAPTER_NAMES, MODULE_KINDS, choicesOf, describeValue, fallbackOf, jsonProblem, problemOf, type Assignment, type VariableKind, type VariableSpec } from './kinds.js';

/** A predicate over a whole assignment: true (or undefined) to accept, false or a reason to refuse. */
export interface CrossConstraint {
  name: string;
  check: (assignment: Readonly<Assignment>) => boolean | string | undefined;
}

/**
 * Turns the values a store holds for the space, which this definition refuses (written by another definition:
 * a variable renamed or removed, a value outside a new range), into values of this definition's free variables
 * (missing ones take their defaults; values given for derived variables are ignored). `issues` says what was
 * refused. Return `{}` to start from the defaults.
 */
export type SpaceMigration = (stored: Readonly<Assignment>, issues: readonly VariableIssue[]) => Assignment;

/** What defineSpace takes besides the name: the variables, the constraints over them, and how to read older stored values. */
export interface SpaceOptions {
  variables: Record<string, VariableSpec>;
  constraints?: readonly CrossConstraint[];
  /** Called when the stored values do not fit this definition; without it such a space refuses to start (VariableStoredValuesError). */
  migrate?: SpaceMigration;
}

/** A checked space definition; give it to Variables' `space()` to get its coordinator. */
export interface SpaceDefinition {
  readonly name: string;
  readonly variables: Readonly<Record<string, VariableSpec>>;
  readonly constraints: readonly CrossConstraint[];
  /** How stored values this definition refuses become its values, if given. */
  readonly migrate?: SpaceMigration;
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

/** -0 as 0: JSON (and the store) keep no negative zero, and a value must come back as it went in. */
const normalized = (value: JsonValue): JsonValue => (Object.is(value, -0) ? 0 : value);

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

const KINDS: readonly VariableKind[] = ['float', 'int', 'bool', 'choice', 'text', 'demos', 'lm', 'module', 'adapter'];

function checkSpec(space: string, variable: string, spec: VariableSpec, variables: Record<string, VariableSpec>): void {
  const fail = (problem: string): never => {
    throw new VariableDefinitionError(space, variable, problem);
  };
  if (spec === null || typeof spec !== 'object' || !KINDS.includes(spec.kind)) fail(`is not a variable spec (kind ${describeValue((spec as { kind?: unknown } | null)?.kind)}); build one with variable.float({...}), variable.choice({...}), ... (kinds: ${KINDS.join(', ')})`);
  if (spec.kind === 'float' || spec.kind === 'int') {
    if (!Number.isFinite(spec.min) || !Number.isFinite(spec.max) || spec.min > spec.max) fail(`needs finite min <= max, not [${spec.min}, ${spec.max}]`);
    if (spec.step !== undefined && !(Number.isFinite(spec.step) && spec.step > 0)) fail(`step must be a finite positive number, not ${describeValue(spec.step)}`);
    if (spec.log === true && !(spec.min > 0)) fail(`a log scale needs min > 0, not ${spec.min}`);
    if (spec.log === true && spec.step !== undefined) fail('takes a step or a log scale, not both');
  }
  if ('choices' in spec && spec.choices !== undefined) {
    if (!Array.isArray(spec.choices)) fail(`choices must be a list of values, not ${describeValue(spec.choices)}`);
    spec.choices.forEach((choice, i) => {
      const problem = jsonProblem(choice, `choice ${i}`);
      if (problem !== undefined) fail(problem);
    });
    const allowed = spec.kind === 'module' ? MODULE_KINDS : spec.kind === 'adapter' ? ADAPTER_NAMES : undefined;
    const unknown = allowed === undefined ? [] : spec.choices.filter((c) => !(allowed as readonly unknown[]).includes(c));
    if (unknown.length > 0) fail(`${spec.kind} choices must be among ${allowed!.join(', ')}, not ${unknown.map(describeValue).join(', ')}`);
    if (spec.kind === 'lm' && spec.choices.some((c) => typeof c !== 'string' || c === '')) fail('lm choices are model names (non-empty strings) that bind(..., { lms }) maps to LMs');
  }
  const choices = choicesOf(spec);
  if (choices !== undefined && choices.length === 0) fail('has no choices to take a value from');
  if (spec.kind === 'text' && spec.candidates !== undefined && !(Array.isArray(spec.candidates) && spec.candidates.every((c) => typeof c === 'string'))) fail('candidates of a text variable must be a list of strings');
  if (spec.kind === 'demos' && spec.candidates !== undefined && !(Array.isArray(spec.candidates) && spec.candidates.every((c) => problemOf(spec, c) === undefined))) fail('candidates of a demos variable must be a list of demo lists (each a list of JSON records)');
  for (const fn of ['validate', 'derive'] as const) if (spec[fn] !== undefined && typeof spec[fn] !== 'function') fail(`${fn} must be a function, not ${describeValue(spec[fn])}`);
  if ((spec.dependsOn === undefined) !== (spec.derive === undefined)) fail('a derived variable needs both dependsOn (what it is computed from) and derive (how)');
  if (spec.dependsOn !== undefined && !(Array.isArray(spec.dependsOn) && spec.dependsOn.length > 0 && spec.dependsOn.every((d) => typeof d === 'string'))) {
    fail(`dependsOn must be a non-empty list of variable names, not ${describeValue(spec.dependsOn)}`);
  }
  for (const dependency of spec.dependsOn ?? []) {
    if (!Object.hasOwn(variables, dependency)) fail(`depends on "${dependency}", which the space does not define`);
  }
  if (!isDerived(spec)) {
    const problem = problemOf(spec, fallbackOf(spec));
    if (problem !== undefined) fail(`its default ${problem}`);
  }
}

/**
 * Checks a space definition and returns it ready for use. Throws VariableDefinitionError for a bad spec or a
 * default (derived ones included) its variable refuses, and VariableCycleError when derived variables depend on
 * each other in a loop, before anything starts. Defaults may lie outside the cross constraints; updates may not.
 */
export function defineSpace(name: string, options: SpaceOptions): SpaceDefinition {
  if (typeof name !== 'string' || name.length === 0) throw new VariableDefinitionError(String(name), undefined, 'a space needs a non-empty name');
  const variables = { ...options?.variables };
  if (Object.keys(variables).length === 0) throw new VariableDefinitionError(name, undefined, 'defines no variables');
  for (const [variable, spec] of Object.entries(variables)) checkSpec(name, variable, spec, variables);
  const derived = orderDerived(name, variables);
  const free = Object.keys(variables).filter((v) => !isDerived(variables[v]!));
  if (options.constraints !== undefined && !Array.isArray(options.constraints)) throw new VariableDefinitionError(name, undefined, 'constraints must be a list of { name, check }');
  const constraints = [...(options.constraints ?? [])];
  if (options.migrate !== undefined && typeof options.migrate !== 'function') throw new VariableDefinitionError(name, undefined, `migrate must be a function (stored, issues) => values, not ${describeValue(options.migrate)}`);
  constraints.forEach((constraint, i) => {
    if (constraint === null || typeof constraint !== 'object' || typeof constraint.name !== 'string' || constraint.name === '' || typeof constraint.check !== 'function') {
      throw new VariableDefinitionError(name, undefined, `constraint ${i} needs a name and a check function: { name: 'hot-and-long', check: (assignment) => true | false | reason }`);
    }
  });

  const complete = (values: Readonly<Assignment>, base: Readonly<Assignment> = {}): Assignment => {
    const out: Assignment = {};
    // A value of null is a value (a choice may hold it); only a missing key (or undefined) falls through.
    const given = (source: Readonly<Assignment>, v: string): boolean => Object.hasOwn(source, v) && source[v] !== undefined;
    for (const v of free) out[v] = normalized(structuredClone(given(values, v) ? values[v]! : given(base, v) ? base[v]! : fallbackOf(variables[v]!)));
    for (const v of derived) {
      const spec = variables[v]!;
      const deps = Object.fromEntries((spec.dependsOn ?? []).map((d) => [d, structuredClone(out[d]!)]));
      let value: JsonValue;
      try {
        value = (spec.derive as (d: Assignment) => JsonValue)(deps);
      } catch (error) {
        throw new VariableValueError(name, [{ variable: v, message: `its derive function threw: ${error instanceof Error ? error.message : String(error)}` }]);
      }
      // Not cloned when it is no JSON at all: check() names the problem.
      out[v] = jsonProblem(value) === undefined ? normalized(structuredClone(value)) : value;
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

  // The coordinator starts every space at its defaults: each must be a value its variable accepts, derived ones
  // included. Cross constraints are not required of them: they may mark the region a search may go to, away
  // from where the program starts; every update must satisfy them.
  let defaults: Assignment;
  try {
    defaults = complete({});
  } catch (error) {
    const issue = (error as VariableValueError).issues?.[0];
    throw new VariableDefinitionError(name, issue?.variable, `computing the default values failed: ${issue?.message ?? String(error)}`);
  }
  const issues = check(defaults).filter((issue) => issue.variable !== undefined);
  if (issues.length > 0) {
    throw new VariableDefinitionError(
      name,
      undefined,
      `its default values are refused (${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}); give defaults (and derive functions) that each variable's own checks accept`,
    );
  }

  return { name, variables, constraints, ...(options.migrate === undefined ? {} : { migrate: options.migrate }), free, derived, defaults: () => complete({}), complete, check };
}

/**
 * What a running coordinator compares a definition by: the name, every variable (kind, range, step, choices,
 * candidates, default, dependsOn, validate and derive by source text), the constraints and migrate.
 */
export function spaceFingerprint(definition: SpaceDefinition): Fingerprint {
  return fingerprintOf({ name: definition.name, variables: definition.variables, constraints: definition.constraints, migrate: definition.migrate });
}
