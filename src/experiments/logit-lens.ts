// The logit lens: what the model would predict if its computation stopped at each layer. Each probe
// (the residual stream, or one branch's output) at every layer and position goes through the
// model's final norm and unembedding; one batched unembedding per probe over all its cells.

import { checkOptions } from "../analysis/cache-source.ts";
import { type TopToken, topTokens } from "../analysis/top-tokens.ts";
import { unembed } from "../analysis/unembed.ts";
import type { HookedModel, ModelInput, TokenOptions } from "../hooks/hooked-model.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { stepDone } from "./abort.ts";
import { decodeEach } from "./token-text.ts";

/**
 * resid: the residual stream leaving each layer (resid_post), after the embeddings ("embed": the
 * stream entering layer 0, position embeddings included); attn: each layer's attention branch as
 * added to the stream (in convolution layers, the convolution branch); mlp: each MLP branch.
 */
export type LensProbe = "resid" | "attn" | "mlp";
export const LENS_PROBES: readonly LensProbe[] = ["resid", "attn", "mlp"];

export interface LogitLensOptions extends TokenOptions {
  /** Which probes (default all three). */
  probes?: readonly LensProbe[];
  /** Candidates per cell (default 5). */
  k?: number;
  /** Called after the forward pass and after each probe's grid: steps done, of 1 + probes. */
  onProgress?: (done: number, total: number) => void;
  /** Stops after the step in progress, with an AbortError (abort.ts). */
  signal?: AbortSignal;
}

/** A candidate token of a cell, with its text where the model has a tokenizer. */
export interface LensToken extends TopToken {
  token?: string;
}

/** One probe's grid: a row per layer (labels), a column per position, the top k of each cell. */
export interface LensGrid {
  probe: LensProbe;
  /** "embed", then layer numbers ("0", "1" ...) of the layers that have this probe. */
  rows: string[];
  /** cells[row][position]: the k most likely tokens, most likely first. */
  cells: LensToken[][][];
}

export class LogitLensResult {
  /** The prompt's token ids and their texts (where there is a tokenizer). */
  readonly tokenIds: number[];
  readonly tokens: string[] | undefined;
  readonly grids: LensGrid[];

  constructor(tokenIds: number[], tokens: string[] | undefined, grids: LensGrid[]) {
    this.tokenIds = tokenIds;
    this.tokens = tokens;
    this.grids = grids;
  }

  /** The grid of one probe. */
  grid(probe: LensProbe): LensGrid {
    const found = this.grids.find((g) => g.probe === probe);
    if (found === undefined) {
      throw new Error(
        `the lens was run without the "${probe}" probe; it has ${this.grids.map((g) => g.probe).join(", ")}`,
      );
    }
    return found;
  }

  toJSON(): { tokenIds: number[]; tokens?: string[]; grids: LensGrid[] } {
    return {
      tokenIds: this.tokenIds,
      ...(this.tokens === undefined ? {} : { tokens: this.tokens }),
      grids: this.grids,
    };
  }

  /** Each grid as text: a line per row, each cell's top token and its probability. */
  toString(): string {
    const show = (t: LensToken | undefined) =>
      t === undefined ? "" : `${JSON.stringify(t.token ?? t.id)} ${(t.prob * 100).toFixed(1)}%`;
    return this.grids
      .map((g) => {
        const lines = g.rows.map(
          (row, r) => `${row.padStart(5)} | ${(g.cells[r] ?? []).map((c) => show(c[0])).join(" | ")}`,
        );
        const header = `${"".padStart(5)} | ${(this.tokens ?? this.tokenIds.map(String)).map((t) => JSON.stringify(t)).join(" | ")}`;
        return [`logit lens: ${g.probe}`, header, ...lines].join("\n");
      })
      .join("\n\n");
  }
}

/**
 * The logit lens of one prompt: for each probe, the layers x positions grid of the k most likely
 * tokens (final norm on each cell's own statistics, unembedding, the model's soft-cap and scaling,
 * in float32). The last row of `resid` is the model's own prediction.
 */
export function logitLens(hm: HookedModel, input: ModelInput, options: LogitLensOptions = {}): LogitLensResult {
  const what = "logitLens";
  checkOptions(options, ["probes", "k", "prependBos", "onProgress", "signal"], what);
  const probes = options.probes ?? LENS_PROBES;
  const unknown = probes.find((p) => !LENS_PROBES.includes(p));
  if (unknown !== undefined || probes.length === 0) {
    throw new Error(`${what}: probes must be some of ${LENS_PROBES.join(", ")}, got ${JSON.stringify(probes)}`);
  }
  const k = options.k ?? 5;
  const tokenIds = hm.toTokens(input, options.prependBos === undefined ? {} : { prependBos: options.prependBos });
  if (tokenIds.length !== 1) throw new Error(`${what}: give one prompt, got a batch of ${tokenIds.length}`);
  const ids = tokenIds[0] as number[];
  const rowsOf = probes.map((probe) => lensRows(hm, probe));
  const keys = [...new Set(rowsOf.flatMap((rows) => rows.map(([, key]) => key)))];
  const steps = 1 + probes.length;
  const { logits, cache } = hm.runWithCache([ids], { names: keys });
  logits.dispose();
  try {
    stepDone(options, what, 1, steps);
    const { tokenizer } = hm;
    const text = tokenizer === undefined ? undefined : (id: number) => decodeEach(tokenizer, [id])[0] as string;
    const grids = probes.map((probe, i) => {
      const rows = rowsOf[i] as [string, string][];
      const stacked = mx.stack(
        rows.map(([, key]) => cache.get(key)),
        0,
      ); // [rows, 1, positions, d_model]
      const logits = lensLogits(hm, stacked);
      const cells = topTokens(logits, k);
      // Freed now (all cells' logits: rows x positions x vocab floats), not when collected.
      logits.dispose();
      stacked.dispose();
      stepDone(options, what, 2 + i, steps);
      const grid: LensToken[][][] = rows.map((_, r) =>
        ids.map((_, p) =>
          (cells[r * ids.length + p] as TopToken[]).map((t) => (text ? { ...t, token: text(t.id) } : t)),
        ),
      );
      return { probe, rows: rows.map(([label]) => label), cells: grid };
    });
    return new LogitLensResult([...ids], tokenizer ? decodeEach(tokenizer, ids) : undefined, grids);
  } finally {
    cache.dispose();
  }
}

/** The logits of every cell of a stack [rows, 1, positions, d_model]: one float32 unembedding. */
export function lensLogits(hm: HookedModel, stacked: MxArray): MxArray {
  return mx.tidy(() => {
    const width = stacked.shape[stacked.ndim - 1] as number;
    return unembed(hm.readout, mx.reshape(stacked, [-1, width]));
  });
}

/** The [label, standard key] of each row of a probe, in layer order. */
export function lensRows(hm: HookedModel, probe: LensProbe): [string, string][] {
  const rows: [string, string][] = [];
  if (probe === "resid") rows.push(["embed", "resid_pre.0"]);
  const name = { resid: "resid_post", attn: "attn_out", mlp: "mlp_out" }[probe];
  for (let l = 0; l < hm.layers; l++) {
    if (hm.names.target(`${name}.${l}`) !== undefined) rows.push([String(l), `${name}.${l}`]);
  }
  return rows;
}
