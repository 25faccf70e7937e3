// The practical limit of the runtime's design, written as plainly as possible: actors with array inboxes on
// one FIFO run queue, a slice of at most 64 messages per actor, ticks bounded by a 2 ms budget and
// setImmediate between ticks. Same budget and slice size as the runtime's defaults, none of its semantics.

const SLICE = 64;
const TICK_BUDGET_MS = 2;

export class BaselineActor {
  /** Messages live in inbox[head..tail); the array is reused, never shrunk, so sending does not allocate. */
  inbox: unknown[] = [];
  head = 0;
  tail = 0;
  queued = false;
  constructor(
    readonly system: BaselineSystem,
    readonly handle: (message: unknown, self: BaselineActor) => void,
  ) {}

  send(to: BaselineActor, message: unknown): void {
    to.inbox[to.tail++] = message;
    if (!to.queued) this.system.enqueue(to);
  }
}

export class BaselineSystem {
  private queue: BaselineActor[] = [];
  private qhead = 0;
  private scheduled = false;

  spawn(handle: (message: unknown, self: BaselineActor) => void): BaselineActor {
    return new BaselineActor(this, handle);
  }

  enqueue(actor: BaselineActor): void {
    actor.queued = true;
    this.queue.push(actor);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.tick);
    }
  }

  private readonly tick = (): void => {
    // `scheduled` stays true while the tick runs, so a send during the tick does not schedule a second one.
    const deadline = performance.now() + TICK_BUDGET_MS;
    let slices = 0;
    while (this.qhead < this.queue.length) {
      const actor = this.queue[this.qhead++]!;
      actor.queued = false;
      let handled = 0;
      while (handled < SLICE && actor.head < actor.tail) {
        const message = actor.inbox[actor.head];
        actor.inbox[actor.head++] = undefined;
        handled++;
        actor.handle(message, actor);
      }
      if (actor.head === actor.tail) {
        actor.head = 0;
        actor.tail = 0;
      } else if (!actor.queued) {
        this.enqueue(actor);
      }
      if (++slices % 256 === 0 && performance.now() >= deadline) break;
    }
    if (this.qhead < this.queue.length) {
      this.queue = this.queue.slice(this.qhead);
      this.qhead = 0;
      setImmediate(this.tick);
    } else {
      this.queue.length = 0;
      this.qhead = 0;
      this.scheduled = false;
    }
  };
}

/** One game of ping-pong at a time: the players are module-level functions, as long-lived code is. */
const game = { total: 0, ping: null as BaselineActor | null, pong: null as BaselineActor | null, done: (): void => undefined };

function player(message: unknown, self: BaselineActor): void {
  const n = message as number;
  if (n >= game.total) game.done();
  else self.send(self === game.ping ? game.pong! : game.ping!, n + 1);
}

/** Two baseline actors on `system` pass a counter back and forth until `total` messages were sent. */
export function baselinePingPong(system: BaselineSystem, total: number): Promise<void> {
  return new Promise((resolve) => {
    const ping = system.spawn(player);
    const pong = system.spawn(player);
    Object.assign(game, { total, ping, pong, done: resolve });
    ping.send(ping, 1);
  });
}
