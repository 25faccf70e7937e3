// The circuit breaker of an LMClient, as an xstate machine: closed -> open after `failureThreshold`
// consecutive failures, open -> half_open after `cooldownMs` (on the client's clock), half_open admits one
// trial call whose success closes the circuit and whose failure opens it again.

import { assign, createActor, setup, type Actor } from 'xstate';
import type { Clock } from './clock.js';

/** Circuit breaker options: failures before it opens, cooldown before it half-opens. */
export interface BreakerOptions {
  /** Consecutive failed attempts (5xx, network, timeout, malformed body) that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial call is let through (default 30000 ms). */
  cooldownMs?: number;
}

/** A circuit breaker's state. */
export type BreakerState = 'closed' | 'open' | 'half_open';

type BreakerEvent = { type: 'SUCCESS' } | { type: 'FAILURE' } | { type: 'TRIAL' } | { type: 'NEUTRAL' };

interface BreakerContext {
  failures: number;
  threshold: number;
  cooldownMs: number;
  trialInFlight: boolean;
}

export const breakerMachine = setup({
  types: {} as { context: BreakerContext; events: BreakerEvent; input: { threshold: number; cooldownMs: number } },
  delays: { cooldown: ({ context }) => context.cooldownMs },
  guards: { tripped: ({ context }) => context.failures + 1 >= context.threshold },
}).createMachine({
  id: 'lm_circuit_breaker',
  initial: 'closed',
  context: ({ input }) => ({ failures: 0, threshold: input.threshold, cooldownMs: input.cooldownMs, trialInFlight: false }),
  states: {
    closed: {
      entry: assign({ failures: 0 }),
      on: {
        SUCCESS: { actions: assign({ failures: 0 }) },
        FAILURE: [{ guard: 'tripped', target: 'open' }, { actions: assign({ failures: ({ context }) => context.failures + 1 }) }],
      },
    },
    open: {
      after: { cooldown: 'half_open' },
    },
    half_open: {
      entry: assign({ trialInFlight: false }),
      on: {
        TRIAL: { actions: assign({ trialInFlight: true }) },
        // The trial ended in a way that says nothing about the provider (a 400, an abort): let another try.
        NEUTRAL: { actions: assign({ trialInFlight: false }) },
        SUCCESS: 'closed',
        FAILURE: 'open',
      },
    },
  },
});

/** The admission view of the machine that the LMClient uses; transitions are reported to `onTransition`. */
export class CircuitBreaker {
  private readonly actor: Actor<typeof breakerMachine> | undefined;

  constructor(options: BreakerOptions | false | undefined, clock: Clock, onTransition: (from: BreakerState, to: BreakerState) => void) {
    if (options === false) return;
    const threshold = options?.failureThreshold ?? 5;
    const cooldownMs = options?.cooldownMs ?? 30_000;
    this.actor = createActor(breakerMachine, {
      input: { threshold, cooldownMs },
      clock: { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (id) => clock.clearTimeout(id) },
    });
    let last: BreakerState = 'closed';
    this.actor.subscribe((snapshot) => {
      const now = snapshot.value as BreakerState;
      if (now !== last) {
        const from = last;
        last = now;
        onTransition(from, now);
      }
    });
    this.actor.start();
  }

  get state(): BreakerState {
    return (this.actor?.getSnapshot().value as BreakerState | undefined) ?? 'closed';
  }

  /** Whether a call may go out now. In half_open, the first caller becomes the trial and others are refused. */
  admit(): { ok: true } | { ok: false; state: 'open' | 'half_open' } {
    if (this.actor === undefined) return { ok: true };
    const snapshot = this.actor.getSnapshot();
    if (snapshot.value === 'closed') return { ok: true };
    if (snapshot.value === 'open') return { ok: false, state: 'open' };
    if (snapshot.context.trialInFlight) return { ok: false, state: 'half_open' };
    this.actor.send({ type: 'TRIAL' });
    return { ok: true };
  }

  success(): void {
    this.actor?.send({ type: 'SUCCESS' });
  }

  failure(): void {
    this.actor?.send({ type: 'FAILURE' });
  }

  /** An outcome that neither proves nor disproves the provider's health. */
  neutral(): void {
    this.actor?.send({ type: 'NEUTRAL' });
  }

  stop(): void {
    this.actor?.stop();
  }
}
