// Where in-flight jobs are tracked on the hot path: a worker's calls by wire id, a worker's jobs in the manager,
// a pool's jobs per manager. Not Map/Set: a V8 Map or Set whose size swings (0 to 256 and back, thousands of
// times a second) is reallocated on every swing, and each discarded table stays linked to its successor and
// to the jobs it held. Those tables get promoted, and from the old generation they keep every younger job
// alive through scavenges: the bench measured ~1.3 KB promoted per call and half of Node's time in GC.
// These two structures only overwrite slots of long-lived arrays.

import type { Job } from './job.js';

/** Which index field of a Job a JobSet owns (a job is in at most one set of each kind). */
type IndexField = 'inflightIndex' | 'outstandingIndex';

/** An unordered set of jobs: O(1) add and delete (each job carries its index), iteration over a snapshot. */
export class JobSet implements Iterable<Job> {
  private readonly jobs: Job[] = [];

  constructor(private readonly field: IndexField) {}

  get size(): number {
    return this.jobs.length;
  }

  add(job: Job): void {
    job[this.field] = this.jobs.length;
    this.jobs.push(job);
  }

  delete(job: Job): boolean {
    const at = job[this.field];
    if (at < 0 || this.jobs[at] !== job) return false;
    const last = this.jobs.pop()!;
    if (last !== job) {
      this.jobs[at] = last;
      last[this.field] = at;
    }
    job[this.field] = -1;
    return true;
  }

  /** A snapshot: settling a job while iterating (which removes it) is safe. */
  [Symbol.iterator](): Iterator<Job> {
    return this.jobs.slice()[Symbol.iterator]();
  }
}

/**
 * Calls in flight on one worker, by wire id. Ids are sequential, so a call lives at `id & mask` of a ring that
 * grows with the calls in flight at once. A long call whose slot is wanted by a much newer id moves to a small
 * overflow Map (it churns rarely), so one slow call among millions of fast ones does not grow the ring.
 */
export class CallTable<T> {
  private values: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  private ids: number[] = new Array<number>(64).fill(-1);
  private mask = 63;
  private inRing = 0;
  private readonly overflow = new Map<number, T>();

  /** Calls in the table. */
  get size(): number {
    return this.inRing + this.overflow.size;
  }

  get(id: number): T | undefined {
    const at = id & this.mask;
    if (this.ids[at] === id) return this.values[at];
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: T): void {
    let at = id & this.mask;
    if (this.ids[at] !== -1 && this.ids[at] !== id) {
      if (this.inRing >= this.values.length / 2) {
        this.grow();
        at = id & this.mask;
      }
      if (this.ids[at] !== -1) {
        this.overflow.set(this.ids[at]!, this.values[at]!);
        this.inRing--;
      }
    }
    if (this.ids[at] !== id) this.inRing++;
    this.ids[at] = id;
    this.values[at] = value;
  }

  delete(id: number): boolean {
    const at = id & this.mask;
    if (this.ids[at] === id) {
      this.ids[at] = -1;
      this.values[at] = undefined;
      this.inRing--;
      return true;
    }
    return this.overflow.size !== 0 && this.overflow.delete(id);
  }

  private grow(): void {
    const { values, ids } = this;
    const size = values.length * 2;
    this.values = new Array<T | undefined>(size).fill(undefined);
    this.ids = new Array<number>(size).fill(-1);
    this.mask = size - 1;
    this.inRing = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== -1) this.set(ids[i]!, values[i]!);
  }
}
