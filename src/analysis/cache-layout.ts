// What the analysis reads of a model's standard-key layout: its blocks, its attention layers and
// where each standard key (`resid_post.3`, `pattern.0`, `ln_final` ...) lives. The hooks layer
// implements it, for a live model (StandardNames) and for a saved cache (SavedLayout).

/** A place an activation is read or changed: a module's output, or its first input. */
export interface HookTarget {
  path: string;
  input: boolean;
}

export interface CacheLayout {
  readonly layers: number;
  /** Path of each block (`<blocks>.3`). */
  readonly layerPaths: readonly string[];
  /** Path of each block's attention module, or undefined where the block has none (a convolution layer). */
  readonly attentionPaths: readonly (string | undefined)[];
  /** Every standard key the model has. */
  keys(): string[];
  /** The target of a standard key, or undefined if the model has no such activation. */
  target(key: string): HookTarget | undefined;
}
