// The learner's seeded random numbers: mulberry32 with its state in the open, so the state is persisted with
// the posterior and a restarted learner draws the same numbers it would have drawn. Normals by Box-Muller.

/** A mulberry32 generator whose `state` can be saved and restored. */
export class SeededRng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A draw from N(mean, std²). */
  normal(mean: number, std: number): number {
    const u = 1 - this.next(); // (0, 1]: log(0) never happens
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}
