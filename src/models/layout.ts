// Where a model keeps what the analysis reads besides its blocks, as data: the module paths of its
// embeddings, final norm and unembedding, the fixed transform of its logits, and its sizes. Each
// model states it; nothing outside src/models guesses it from paths or classes.

/** The sizes of a model, as its config states them. */
export interface ModelDims {
  layers: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Attention heads (query heads) of an attention layer. */
  heads: number;
  /** Key/value heads (fewer than heads under grouped-query attention). */
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Hidden width of the MLP. */
  dMlp: number;
}

export interface ModelLayout {
  /** The model_type as run ("llama", "gemma2", "gpt2" ...). */
  architecture: string;
  /** Path of the list of blocks ("model.layers", "model.h"). */
  blocks: string;
  /** Path of the token embedding ("model.embed_tokens"). */
  tokenEmbedding: string;
  /** Path of the learned position embedding, where positions are added to the stream (GPT-2). */
  positionEmbedding?: string;
  /** Path of the norm before the unembedding. */
  finalNorm: string;
  /** Path of the unembedding: a linear head, or the tied token embedding. */
  unembedding: string;
  /** Logits are soft-capped as tanh(x / cap) · cap after the projection. */
  logitSoftcap?: number;
  /** Logits are divided by this after the projection (and the soft-cap). */
  logitsScaling?: number;
  /** Attention scores are soft-capped as tanh(s / cap) · cap (Gemma 2). */
  attentionSoftcap?: number;
  /**
   * How each layer mixes positions: "attention" over every earlier position, a number for
   * attention over a sliding window of that many positions, or "convolution" (LFM2).
   */
  mixing: readonly ("attention" | "convolution" | number)[];
  dims: ModelDims;
}
