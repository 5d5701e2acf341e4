// Rotary position embeddings in the variants mlx-lm builds from a config's rope_scaling
// (mlx_lm/models/rope_utils.py): default, linear, dynamic NTK, llama3, yarn, longrope. The
// frequency tables are computed with the same MLX ops and constants, so they match bit for bit.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { Module } from "../module.ts";

/** The position of the first token: one for the batch, or an int Array [B] with one per row. */
export type Offset = number | MxArray;

/** Anything that rotates queries and keys [B, ..., L, D] at positions offset, offset + 1, ... */
export abstract class RotaryEmbedding extends Module {
  static override readonly inputNames = ["x", "offset"];

  abstract override forward(x: MxArray, offset?: Offset): MxArray;
}

/** Plain RoPE (mlx.nn.RoPE): theta_i = scale * position / base^(2i/dims). */
export class RoPE extends RotaryEmbedding {
  constructor(
    readonly _dims: number,
    readonly _options: { traditional?: boolean; base?: number; scale?: number } = {},
  ) {
    super();
  }

  override forward(x: MxArray, offset: Offset = 0): MxArray {
    return mx.fast.rope(x, this._dims, {
      traditional: this._options.traditional ?? false,
      base: this._options.base ?? 10000,
      scale: this._options.scale ?? 1,
      offset,
    });
  }
}

/** RoPE with a precomputed frequency table (and optionally a scale on the rotated part of x). */
class FrequencyRoPE extends RotaryEmbedding {
  constructor(
    readonly _dims: number,
    readonly _freqs: MxArray,
    readonly _traditional: boolean,
    readonly _inputScale = 1,
  ) {
    super();
  }

  override forward(x: MxArray, offset: Offset = 0): MxArray {
    if (this._inputScale === 1) return this.#rotate(x, offset);
    return mx.tidy(() => this.#rotate(mx.at(x, "...", `:${this._dims}`).multiply(this._inputScale), offset));
  }

  #rotate(x: MxArray, offset: Offset): MxArray {
    return mx.fast.rope(x, this._dims, {
      traditional: this._traditional,
      base: null,
      scale: 1,
      offset,
      freqs: this._freqs,
    });
  }
}

/** Dynamic NTK scaling: the base grows with the sequence length past max_position_embeddings. */
export class DynamicNTKScalingRoPE extends RotaryEmbedding {
  constructor(
    readonly _dims: number,
    readonly _maxPositionEmbeddings: number,
    readonly _traditional: boolean,
    readonly _base: number,
    readonly _factor: number,
  ) {
    super();
  }

  override forward(x: MxArray, offset: Offset = 0): MxArray {
    const length = x.shape.at(-2) as number;
    if (typeof offset === "number") return this.#rotate(x, this.#base(length + offset), offset);
    // Per-row offsets: each row's base follows its own length; rows that share one rotate together.
    const offsets = offset.ndim === 0 ? [offset.item() as number] : (offset.tolist() as number[]);
    const bases = offsets.map((o) => this.#base(length + o));
    if (bases.every((b) => b === bases[0])) return this.#rotate(x, bases[0] as number, offset);
    return mx.tidy(() =>
      mx.concatenate(
        offsets.map((o, row) => this.#rotate(mx.index(x, `${row}:${row + 1}`), bases[row] as number, o)),
        0,
      ),
    );
  }

  #base(seqLen: number): number {
    const length = Math.max(seqLen, this._maxPositionEmbeddings);
    return (
      this._base *
      ((this._factor * length) / this._maxPositionEmbeddings - (this._factor - 1)) ** (this._dims / (this._dims - 2))
    );
  }

  #rotate(x: MxArray, base: number, offset: Offset): MxArray {
    return mx.fast.rope(x, this._dims, { traditional: this._traditional, base, scale: 1, offset });
  }
}

type ScalingConfig = Record<string, unknown>;

function num(config: ScalingConfig, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== "number") throw new Error(`rope_scaling.${key} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

function llama3Freqs(dims: number, base: number, config: ScalingConfig): MxArray {
  return mx.tidy(() => {
    const factor = num(config, "factor");
    const lowFreqFactor = num(config, "low_freq_factor", 1);
    const highFreqFactor = num(config, "high_freq_factor", 4);
    const oldContextLen = num(config, "original_max_position_embeddings", 8192);
    const lowFreqWavelen = oldContextLen / lowFreqFactor;
    const highFreqWavelen = oldContextLen / highFreqFactor;
    let freqs = mx.power(base, mx.divide(mx.arange(0, dims, 2), dims));
    const wavelens = mx.multiply(2 * Math.PI, freqs);
    freqs = mx.where(mx.greater(wavelens, lowFreqWavelen), mx.multiply(freqs, factor), freqs);
    const isMedium = mx.logicalAnd(mx.greater(wavelens, highFreqWavelen), mx.less(wavelens, lowFreqWavelen));
    const smooth = mx.divide(
      mx.subtract(mx.divide(oldContextLen, wavelens), lowFreqFactor),
      highFreqFactor - lowFreqFactor,
    );
    const smoothFreqs = mx.divide(freqs, mx.add(mx.divide(mx.subtract(1, smooth), factor), smooth));
    return mx.where(isMedium, smoothFreqs, freqs);
  });
}

function yarn(dims: number, base: number, config: ScalingConfig): { freqs: MxArray; mscale: number } {
  const scalingFactor = num(config, "factor");
  const originalMax = num(config, "original_max_position_embeddings", 4096);
  const betaFast = num(config, "beta_fast", 32);
  const betaSlow = num(config, "beta_slow", 1);
  const mscaleConfig = num(config, "mscale", 1);
  const mscaleAllDim = num(config, "mscale_all_dim", 0);
  const correctionDim = (rotations: number) =>
    (dims * Math.log(originalMax / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  const low = Math.max(Math.floor(correctionDim(betaFast)), 0);
  const high = Math.min(Math.ceil(correctionDim(betaSlow)), dims - 1);
  const getMscale = (scale: number, m: number) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const mscale = getMscale(scalingFactor, mscaleConfig) / getMscale(scalingFactor, mscaleAllDim);
  const freqs = mx.tidy(() => {
    const maxVal = low === high ? high + 0.001 : high;
    const ramp = mx.clip(mx.divide(mx.subtract(mx.arange(0, dims / 2, 1, "float32"), low), maxVal - low), 0, 1);
    const mask = mx.subtract(1, ramp);
    const extra = mx.power(base, mx.divide(mx.arange(0, dims, 2, "float32"), dims));
    const inter = mx.multiply(scalingFactor, extra);
    return mx.divide(
      mx.multiply(inter, extra),
      mx.add(mx.multiply(inter, mask), mx.multiply(extra, mx.subtract(1, mask))),
    );
  });
  return { freqs, mscale };
}

function longrope(dims: number, base: number, maxPositions: number, config: ScalingConfig): FrequencyRoPE {
  const originalMax = num(config, "original_max_position_embeddings");
  const longFactor = config.long_factor;
  if (!Array.isArray(longFactor) && typeof longFactor !== "number") {
    throw new Error("rope_scaling.long_factor must be a number or a list of numbers");
  }
  const freqs = mx.tidy(() =>
    mx.multiply(
      mx.array(longFactor as number | number[], "float32"),
      mx.power(base, mx.divide(mx.arange(0, dims, 2, "float32"), dims)),
    ),
  );
  // mlx-lm passes no long_mscale from the config, so the default scale always applies.
  const factor = maxPositions / originalMax;
  const scale = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMax));
  return new FrequencyRoPE(dims, freqs, false, scale);
}

/**
 * The rotary embedding a config asks for, as mlx-lm's initialize_rope builds it. An unknown
 * rope type fails with the list of supported ones.
 */
export function initializeRope(
  dims: number,
  base: number,
  traditional: boolean,
  scalingConfig?: ScalingConfig | null,
  maxPositionEmbeddings?: number,
): RotaryEmbedding {
  const ropeType = (scalingConfig?.type ?? scalingConfig?.rope_type ?? "default") as string;
  const config = scalingConfig ?? {};
  switch (ropeType) {
    case "default":
    case "linear":
      return new RoPE(dims, { traditional, base, scale: ropeType === "linear" ? 1 / num(config, "factor") : 1 });
    case "dynamic":
      return new DynamicNTKScalingRoPE(dims, maxPositionEmbeddings ?? 2048, traditional, base, num(config, "factor"));
    case "llama3":
      return new FrequencyRoPE(dims, llama3Freqs(dims, base, config), traditional);
    case "yarn":
    case "deepseek_yarn": {
      const { freqs, mscale } = yarn(dims, base, config);
      return new FrequencyRoPE(dims, freqs, traditional, mscale);
    }
    case "longrope":
      return longrope(dims, base, maxPositionEmbeddings ?? 131072, config);
    default:
      throw new Error(
        `unsupported rope_scaling type "${ropeType}"; supported: default, linear, dynamic, llama3, yarn, deepseek_yarn, longrope`,
      );
  }
}
