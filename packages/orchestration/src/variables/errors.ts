// The typed errors of variable spaces. Every one extends VariableError (a DSPexError) with a stable `code` and a
// message that says what to do next; the store's own errors reach the caller unchanged.

import { DSPexError } from '@dspex/runtime';

/** Base class of the variables layer's errors. */
export abstract class VariableError extends DSPexError {}

/** A space definition the coordinator cannot use (a bad range, an empty choice list, an unknown dependency). */
export class VariableDefinitionError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_DEFINITION';
  constructor(readonly space: string, readonly variable: string | undefined, problem: string) {
    super(`space "${space}"${variable === undefined ? '' : `, variable "${variable}"`}: ${problem}`);
  }
}

/** Derived variables that depend on each other in a loop; `cycle` lists it, first name repeated last. */
export class VariableCycleError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_CYCLE';
  constructor(readonly space: string, readonly cycle: string[]) {
    super(`space "${space}": the dependsOn of derived variables form a cycle (${cycle.join(' -> ')}). Break it: a derived value can only be computed from values that do not depend on it.`);
  }
}

/** One reason an assignment was refused: a variable's own check, a cross-variable constraint, or (neither named) the request itself. */
export interface VariableIssue {
  variable?: string;
  constraint?: string;
  message: string;
}

/** An update broke a per-variable check or a cross-variable constraint, or was malformed (not an object of values, a bad option); nothing was written. */
export class VariableValueError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_VALUE';
  constructor(readonly space: string, readonly issues: VariableIssue[]) {
    super(
      `space "${space}": the update was refused and nothing was written: ` +
        issues.map((i) => (i.variable !== undefined ? `${i.variable}: ` : i.constraint !== undefined ? `constraint ${i.constraint}: ` : '') + i.message).join('; ') +
        '. Fix the values (space.definition.check(assignment) lists the issues without writing).',
    );
  }
}

/** A compare-and-set update carried a stale version: another writer got there first. Nothing was written. */
export class VariableConflictError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_CONFLICT';
  constructor(readonly space: string, readonly expectedVersion: number, readonly actualVersion: number, options?: { cause?: unknown }) {
    super(
      `space "${space}" is at version ${actualVersion}, not ${expectedVersion}: another writer updated it first and this update was not written. ` +
        'Read space.get() again, decide on the fresh values and retry with the new version.',
      options,
    );
  }
}

/** No Variables tree runs under this name (never started, or shut down). */
export class VariablesNotRunningError extends VariableError {
  readonly code = 'DSPEX_VARIABLES_NOT_RUNNING';
  constructor(readonly treeName: string, operation: string, options?: { cause?: unknown }) {
    super(
      `${operation}: no Variables tree runs under the name "${treeName}". Start it with Variables.start(rt, { store }) ` +
        'or put Variables.childSpec({ store }) in your supervision tree.',
      options,
    );
  }
}

/**
 * `space(definition)` named a space whose coordinator runs with another definition (other variables, kinds,
 * ranges, defaults, dependsOn, constraints or functions). `differences` says what differs; nothing was sent.
 */
export class VariableDefinitionMismatchError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_DEFINITION_MISMATCH';
  constructor(readonly space: string, readonly differences: string[]) {
    super(
      `space "${space}" is running with another definition: ${differences.join('; ')}. A space runs one definition at a time: ` +
        `stop the running one first (stop() on its handle, or variables.stop("${space}"); its values stay in the store) and start this one, ` +
        'or give this definition another name.',
    );
  }
}

/**
 * The store holds values of the space that its definition refuses: written by another definition (a variable
 * renamed or removed, a value outside a new range or choice list, a new constraint), or what `migrate` returned.
 * Nothing was used or written.
 */
export class VariableStoredValuesError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_STORED_VALUES';
  constructor(readonly space: string, readonly issues: VariableIssue[], readonly migrated: boolean) {
    super(
      `space "${space}": the values in the store (kv namespace variables:${space}) ${migrated ? 'as its migrate function returned them ' : ''}do not fit this definition: ` +
        issues.map((i) => (i.variable !== undefined ? `${i.variable}: ` : i.constraint !== undefined ? `constraint ${i.constraint}: ` : '') + i.message).join('; ') +
        (migrated
          ? '. Fix migrate so that it returns values of the free variables this definition accepts.'
          : '. Give defineSpace a migrate function ((stored) => values for this definition; () => ({}) starts from the defaults), ' +
            'give the space another name, or run the definition that wrote them.'),
    );
  }
}

/** A binding path that does not lead to a program parameter, or a variable whose kind cannot fill it. */
export class VariableBindingError extends VariableError {
  readonly code = 'DSPEX_VARIABLE_BINDING';
  constructor(readonly path: string, problem: string) {
    super(`binding "${path}": ${problem}`);
  }
}
