// The practical limit of the runtime's design, written as plainly as possible: actors with array inboxes on
// one FIFO run queue, a slice of at most 64 messages per actor, ticks bounded by a 2 ms budget and
// setImmediate between ticks. Same budget and slice size as the runtime's defaults, none of its semantics.

const SLICE = 64;
const TICK_BUDGET_MS = 2;

export class BaselineActor {
  inbox: unknown[] = [];
  head = 0;
  queued = false;
  constructor(
    readonly system: BaselineSystem,
    readonly handle: (message: unknown, self: BaselineActor) => void,
  ) {}

  send(to: BaselineActor, message: unknown): void {
    to.inbox.push(message);
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
    this.scheduled = false;
    const deadline = performance.now() + TICK_BUDGET_MS;
    let slices = 0;
    while (this.qhead < this.queue.length) {
      const actor = this.queue[this.qhead++]!;
      actor.queued = false;
      let handled = 0;
      while (handled < SLICE && actor.head < actor.inbox.length) {
        const message = actor.inbox[actor.head++];
        handled++;
        actor.handle(message, actor);
      }
      if (actor.head === actor.inbox.length) {
        actor.inbox.length = 0;
        actor.head = 0;
      } else if (!actor.queued) {
        this.enqueue(actor);
      }
      if (++slices % 256 === 0 && performance.now() >= deadline) break;
    }
    if (this.qhead < this.queue.length) {
      this.queue = this.queue.slice(this.qhead);
      this.qhead = 0;
      this.scheduled = true;
      setImmediate(this.tick);
    } else {
      this.queue.length = 0;
      this.qhead = 0;
    }
  };
}

/** Two baseline actors pass a counter back and forth until `total` messages were sent; resolves when done. */
export function baselinePingPong(total: number): Promise<void> {
  return new Promise((resolve) => {
    const system = new BaselineSystem();
    const player = (message: unknown, self: BaselineActor): void => {
      const n = message as number;
      if (n >= total) resolve();
      else self.send(self === ping ? pong : ping, n + 1);
    };
    const ping = system.spawn(player);
    const pong = system.spawn(player);
    ping.send(ping, 1);
  });
}
