// A seeded random source for the fuzzer: SHA-256 of (seed, counter) from node:crypto, so a
// campaign's programs are the same on every machine and Node version.
import { createHash } from "node:crypto";

export class Random {
  #counter = 0;
  #pool: number[] = [];

  constructor(readonly seed: string) {}

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    if (this.#pool.length === 0) {
      const digest = createHash("sha256")
        .update(`${this.seed}:${this.#counter++}`)
        .digest();
      for (let i = 0; i < digest.length; i += 4) this.#pool.push(digest.readUInt32LE(i));
    }
    return this.#pool.pop() as number;
  }

  /** A uniform number in [0, 1). */
  float(): number {
    return this.uint32() / 2 ** 32;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** One of the keys of `weights`, each with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.float() * total;
    for (const [key, w] of entries) {
      x -= w;
      if (x < 0) return key;
    }
    return (entries.at(-1) as [K, number])[0];
  }
}
