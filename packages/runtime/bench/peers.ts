// Ping-pong in the actor libraries a Node user would otherwise reach for: nact, xstate v5 actors and
// Effect fibers with queues. Each is written the way its docs suggest; each resolves after `total` messages.

import nact from 'nact';
import { createActor, enqueueActions, setup, spawnChild } from 'xstate';
import { Effect, Fiber, Queue } from 'effect';

/** Two stateless nact actors dispatching a counter to each other. */
export function nactPingPong(total: number): Promise<void> {
  return new Promise((resolve) => {
    const system = nact.start();
    const refs: { ping?: nact.Ref<number>; pong?: nact.Ref<number> } = {};
    const player = (other: 'ping' | 'pong') => (n: number) => {
      if (n >= total) {
        nact.stop(system);
        resolve();
      } else {
        nact.dispatch(refs[other]!, n + 1);
      }
    };
    refs.ping = nact.spawnStateless(system, player('pong'), 'ping');
    refs.pong = nact.spawnStateless(system, player('ping'), 'pong');
    nact.dispatch(refs.ping, 1);
  });
}

/** Two xstate machines spawned into one system, each sending the ball to the other by systemId. */
export function xstatePingPong(total: number): Promise<void> {
  let running: { stop(): void } | undefined;
  return new Promise<void>((resolve) => {
    const player = setup({
      types: {} as { context: { peer: string }; input: { peer: string }; events: { type: 'BALL'; n: number } },
    }).createMachine({
      context: ({ input }) => ({ peer: input.peer }),
      on: {
        BALL: {
          actions: enqueueActions(({ context, event, system, enqueue }) => {
            if (event.n >= total) resolve();
            else {
              const ball = { type: 'BALL' as const, n: event.n + 1 };
              enqueue.sendTo(system.get(context.peer), ball);
            }
          }),
        },
      },
    });
    const table = setup({ actors: { player } }).createMachine({
      entry: [
        spawnChild('player', { systemId: 'ping', input: { peer: 'pong' } }),
        spawnChild('player', { systemId: 'pong', input: { peer: 'ping' } }),
      ],
    });
    const actor = createActor(table).start();
    running = actor;
    actor.system.get('ping').send({ type: 'BALL', n: 1 });
  }).then(() => running?.stop());
}

/** Two Effect fibers, each taking from its own unbounded Queue and offering to the other's. */
export function effectPingPong(total: number): Promise<void> {
  const player = (inbox: Queue.Queue<number>, outbox: Queue.Queue<number>) =>
    Effect.gen(function* () {
      for (;;) {
        const n = yield* Queue.take(inbox);
        if (n >= total) {
          yield* Queue.offer(outbox, n); // lets the other player see the end too
          return;
        }
        yield* Queue.offer(outbox, n + 1);
      }
    });
  const program = Effect.gen(function* () {
    const pingBox = yield* Queue.unbounded<number>();
    const pongBox = yield* Queue.unbounded<number>();
    const ping = yield* Effect.fork(player(pingBox, pongBox));
    const pong = yield* Effect.fork(player(pongBox, pingBox));
    yield* Queue.offer(pingBox, 1);
    yield* Fiber.join(ping);
    yield* Fiber.join(pong);
  });
  return Effect.runPromise(program);
}
