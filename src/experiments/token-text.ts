// Token ids as the texts a reader sees, for the experiments' results.
import type { Tokenizer } from "../load/tokenizer.ts";

/** Each id decoded on its own (a token that is part of a character decodes to what it alone gives). */
export function decodeEach(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  return ids.map((id) => tokenizer.decode([id]));
}
