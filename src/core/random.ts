/**
 * A small seeded pseudo-random generator (mulberry32) for simulations, tests and benchmarks. Core logic
 * never uses `Math.random`: a seed makes every simulated stream reproducible. Not cryptographic.
 */

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // Any number is a valid seed; fold it to 32 bits so equal integer seeds give equal streams.
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Geometric count of failures before the first success, success probability p in (0, 1]: mean (1-p)/p. */
  geometric(p: number): number {
    if (p >= 1) return 0;
    const u = 1 - this.next(); // (0, 1]
    return Math.floor(Math.log(u) / Math.log(1 - p));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
