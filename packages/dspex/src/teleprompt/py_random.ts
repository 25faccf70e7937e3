// Python's `random.Random` (CPython 3.11's Mersenne Twister and the Lib/random.py algorithms on top of it),
// so that optimizers seeded like DSPy's (`random.Random(0).shuffle(...)`, `rng.sample(...)`) pick exactly the
// same items from the same data. Only what DSPy's optimizers use: seed, getrandbits, random, shuffle, sample, choice.

import { createHash } from 'node:crypto';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A seed as Python accepts it for version 2 seeding: an int (number or bigint) or a str. */
export type PySeed = number | bigint | string;

/** The 32-bit words of a non-negative int, least significant first (CPython's init_by_array key); [0] for 0. */
function seedWords(seed: bigint): number[] {
  let n = seed < 0n ? -seed : seed;
  if (n === 0n) return [0];
  const words: number[] = [];
  while (n > 0n) {
    words.push(Number(n & 0xffffffffn));
    n >>= 32n;
  }
  return words;
}

/** Python's seed(version=2) for a str: int.from_bytes(s.encode() + sha512(s.encode()).digest(), 'big'). */
function stringSeed(text: string): bigint {
  const bytes = Buffer.from(text, 'utf8');
  const all = Buffer.concat([bytes, createHash('sha512').update(bytes).digest()]);
  return all.length === 0 ? 0n : BigInt(`0x${all.toString('hex')}`);
}

/** int.bit_length() of a non-negative safe integer. */
function bitLength(n: number): number {
  if (n < 2 ** 32) return 32 - Math.clz32(n);
  let bits = 32;
  for (let rest = Math.floor(n / 2 ** 32); rest >= 1; rest = Math.floor(rest / 2)) bits++;
  return bits;
}

/** Python's `random.Random` (Mersenne Twister) ported bit for bit, so shuffles and samples match DSPy's for the same seed. */
export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  constructor(seed: PySeed = 0) {
    this.seed(seed);
  }

  /** random.seed(a): ints use all their bits; strs are hashed with SHA-512 as Python's version 2 does. */
  seed(seed: PySeed): void {
    if (typeof seed === 'number' && !Number.isInteger(seed)) throw new RangeError(`PyRandom seeds are ints or strs, not ${seed}`);
    const value = typeof seed === 'string' ? stringSeed(seed) : BigInt(seed);
    this.initByArray(seedWords(value));
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** One 32-bit output of the generator (CPython's genrand_uint32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** random.getrandbits(k) for 0 <= k <= 53 (words are filled least significant first, as CPython does). */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) throw new RangeError(`getrandbits supports 0..53 bits here, not ${k}`);
    if (k === 0) return 0;
    if (k <= 32) return this.nextUint32() >>> (32 - k);
    const low = this.nextUint32();
    const high = this.nextUint32() >>> (64 - k);
    return high * 2 ** 32 + low;
  }

  /** random.random(): 53 random bits as a float in [0, 1) (genrand_res53). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) * (1 / 9007199254740992);
  }

  /** Lib/random.py _randbelow_with_getrandbits: an int in [0, n), n > 0, by rejection sampling. */
  randbelow(n: number): number {
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** random.shuffle(x): Fisher-Yates from the end, in place. */
  shuffle<T>(items: T[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const swap = items[i]!;
      items[i] = items[j]!;
      items[j] = swap;
    }
  }

  /** random.sample(population, k): k distinct positions, in selection order, with Python's two strategies. */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError('Sample larger than population or is negative');
    const result: T[] = new Array<T>(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = [...population];
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = population[j]!;
      }
    }
    return result;
  }

  /** random.choice(seq). */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Cannot choose from an empty sequence');
    return items[this.randbelow(items.length)]!;
  }
}
