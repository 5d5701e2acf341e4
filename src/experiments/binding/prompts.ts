// Seeded binding prompts: each binds a few distinct entities to distinct attributes and asks about
// one of them. The random numbers come from MLX's seeded generator (as ablation's resampling does),
// so a seed gives the same prompts on every machine.
import * as mx from "../../mx/index.ts";
import { type BindingSchema, type BoundPair, promptText } from "./schema.ts";

/** A binding prompt: its facts (entity-attribute pairs) in order, which one the question asks about, and its text. */
export interface BindingPrompt {
  facts: BoundPair[];
  /** The index in `facts` of the group the question names. */
  query: number;
  text: string;
  /** The right answer: the queried entity's attribute. */
  answer: string;
}

/** Uniform numbers in [0, 1) handed out in order, for the choices that build one prompt pair. */
export class Draws {
  #next = 0;
  constructor(private readonly values: readonly number[]) {}

  /** A whole number from 0 to n - 1. */
  int(n: number): number {
    const u = this.values[this.#next++];
    if (u === undefined) throw new Error("Draws: ran out of random numbers");
    return Math.min(n - 1, Math.floor(u * n));
  }

  /** k distinct items of `from`, in random order (a partial Fisher-Yates shuffle). */
  pick<T>(from: readonly T[], k: number): T[] {
    if (k > from.length) throw new Error(`Draws: cannot pick ${k} distinct items of ${from.length}`);
    const pool = [...from];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
    }
    return pool.slice(0, k);
  }
}

/** `count` rows of `width` uniform numbers from MLX's generator with this seed, one row per prompt pair. */
export function seededDraws(seed: number, count: number, width: number): Draws[] {
  const u = mx.tidy(() => mx.random.uniform(0, 1, [count, width], { key: mx.random.key(seed) }).tolist()) as number[][];
  return u.map((row) => new Draws(row));
}

/** A prompt of `groups` facts: distinct entities, distinct attributes, one queried at random. */
export function sampleOriginal(schema: BindingSchema, groups: number, draws: Draws): BindingPrompt {
  const entities = draws.pick(schema.entities, groups);
  const attributes = draws.pick(schema.attributes, groups);
  const facts = entities.map((entity, i) => ({ entity, attribute: attributes[i] as string }));
  const query = draws.int(groups);
  return makePrompt(schema, facts, query);
}

export function makePrompt(schema: BindingSchema, facts: BoundPair[], query: number): BindingPrompt {
  return { facts, query, text: promptText(schema, facts, query), answer: (facts[query] as BoundPair).attribute };
}
