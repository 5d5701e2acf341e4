// Streaming detokenization: token ids in one at a time, text out as soon as it is final. A
// character whose bytes span several tokens (byte-level BPE, SentencePiece <0x..> byte tokens) is
// held back until it is whole, so no piece ever ends in a broken character.
//
// Each step decodes a short window: the tokens already emitted since the last step (the context,
// which decoders such as SentencePiece's need to place spaces right) followed by the pending ones.
// The text past the context's own decode is new; it is emitted once it ends in a whole character.
import type { DecodeOptions } from "./tokenizer.ts";

/** What the detokenizer needs of a tokenizer. */
export interface TokenDecoder {
  decode(ids: readonly number[], options?: DecodeOptions): string;
}

const REPLACEMENT = "\uFFFD";

/** Turns a stream of token ids into text pieces whose concatenation is the decode of all the ids. */
export class StreamingDetokenizer {
  readonly #tokenizer: TokenDecoder;
  readonly #options: DecodeOptions;
  #tokens: number[] = [];
  /** Start of the context window in #tokens. */
  #contextStart = 0;
  /** Start of the tokens whose text is not yet emitted. */
  #pendingStart = 0;
  #text = "";

  constructor(tokenizer: TokenDecoder, options: DecodeOptions = {}) {
    this.#tokenizer = tokenizer;
    this.#options = options;
  }

  /** Every id added so far. */
  get tokens(): readonly number[] {
    return this.#tokens;
  }

  /** All text emitted so far. */
  get text(): string {
    return this.#text;
  }

  /** Forgets everything, to start a new stream. */
  reset(): void {
    this.#tokens = [];
    this.#contextStart = 0;
    this.#pendingStart = 0;
    this.#text = "";
  }

  /** Adds one token id; returns the text that became final ("" while a character is incomplete). */
  add(id: number): string {
    if (!Number.isInteger(id) || id < 0) throw new Error(`a token id is a non-negative integer, not ${id}`);
    this.#tokens.push(id);
    return this.#step(false);
  }

  /** Emits whatever is still held back (an incomplete character becomes U+FFFD, as decode makes it). */
  finalize(): string {
    return this.#step(true);
  }

  #step(force: boolean): string {
    if (this.#pendingStart === this.#tokens.length) return "";
    const context = this.#decode(this.#tokens.slice(this.#contextStart, this.#pendingStart));
    const window = this.#decode(this.#tokens.slice(this.#contextStart));
    if (!window.startsWith(context)) {
      // The decoder rewrote text it had already produced; fall back to the whole stream's text.
      if (!force) return "";
      return this.#emit(this.#decode(this.#tokens).slice(this.#text.length));
    }
    const fresh = window.slice(context.length);
    if (!force && (fresh === "" || fresh.endsWith(REPLACEMENT))) return "";
    return this.#emit(fresh);
  }

  #emit(piece: string): string {
    this.#text += piece;
    this.#contextStart = this.#pendingStart;
    this.#pendingStart = this.#tokens.length;
    return piece;
  }

  #decode(ids: number[]): string {
    return ids.length === 0 ? "" : this.#tokenizer.decode(ids, this.#options);
  }
}
