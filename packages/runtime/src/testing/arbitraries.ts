// fast-check arbitraries for supervision: exit reasons of every OTP kind, restart and shutdown specs, child
// specs around a start function of yours, and the static strategies. Building blocks for property tests of
// your own trees; supervisor_commands.ts puts them to work.

import fc from 'fast-check';
import type { ChildSpec, Restart, Shutdown } from '../child_spec.js';
import { shutdownWith, type ExitReason } from '../reasons.js';
import type { ModelStrategy } from './supervisor_model.js';

/** The kinds of exit reason arbExitReason draws from. */
export type ExitReasonKind = 'normal' | 'shutdown' | 'shutdown_with' | 'kill' | 'error' | 'string';

const ALL_KINDS: readonly ExitReasonKind[] = ['normal', 'shutdown', 'shutdown_with', 'kill', 'error', 'string'];
/** Strings that are reasons with a meaning of their own; an "abnormal string" reason is none of these. */
const ATOMS = new Set(['normal', 'shutdown', 'kill', 'killed', 'noproc']);

/**
 * Exit reasons: 'normal', 'shutdown', { shutdown: detail }, 'kill', an Error, or another string (abnormal).
 * Pass `kinds` to draw from fewer of them.
 */
export function arbExitReason(kinds: readonly ExitReasonKind[] = ALL_KINDS): fc.Arbitrary<ExitReason> {
  const byKind: Record<ExitReasonKind, fc.Arbitrary<ExitReason>> = {
    normal: fc.constant('normal'),
    shutdown: fc.constant('shutdown'),
    shutdown_with: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()).map(shutdownWith),
    kill: fc.constant('kill'),
    error: fc.string({ maxLength: 12 }).map((message) => new Error(message)),
    string: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !ATOMS.has(s)),
  };
  if (kinds.length === 0) throw new RangeError('arbExitReason needs at least one kind.');
  return fc.oneof(...kinds.map((kind) => byKind[kind]));
}

/** Any restart type: permanent, transient or temporary. */
export function arbRestart(): fc.Arbitrary<Restart> {
  return fc.constantFrom<Restart>('permanent', 'transient', 'temporary');
}

/** brutal_kill, infinity, or a timeout of 0..5000 ms. */
export function arbShutdown(): fc.Arbitrary<Shutdown> {
  return fc.oneof(fc.constantFrom<Shutdown>('brutal_kill', 'infinity'), fc.integer({ min: 0, max: 5000 }));
}

/** The static strategies (simple_one_for_one has no ids to model). */
export function arbStrategy(): fc.Arbitrary<ModelStrategy> {
  return fc.constantFrom<ModelStrategy>('one_for_one', 'one_for_all', 'rest_for_one');
}

/** What arbChildSpec may vary; a field given is fixed. */
export interface ChildSpecConstraints {
  /** Ids to draw from (default: short lowercase identifiers). */
  id?: fc.Arbitrary<string>;
  restart?: fc.Arbitrary<Restart>;
  shutdown?: fc.Arbitrary<Shutdown>;
}

/** A worker child spec with `start`, a drawn id, restart type and shutdown. */
export function arbChildSpec(start: ChildSpec['start'], constraints: ChildSpecConstraints = {}): fc.Arbitrary<ChildSpec> {
  return fc
    .record({
      id: constraints.id ?? fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/),
      restart: constraints.restart ?? arbRestart(),
      shutdown: constraints.shutdown ?? arbShutdown(),
    })
    .map(({ id, restart, shutdown }): ChildSpec => ({ id, start, restart, shutdown, type: 'worker' }));
}

/** A list of child specs with unique ids, as a supervisor's children. */
export function arbChildSpecs(
  start: ChildSpec['start'],
  constraints: ChildSpecConstraints & { minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<ChildSpec[]> {
  return fc.uniqueArray(arbChildSpec(start, constraints), {
    selector: (spec) => spec.id,
    minLength: constraints.minLength ?? 0,
    maxLength: constraints.maxLength ?? 4,
  });
}
