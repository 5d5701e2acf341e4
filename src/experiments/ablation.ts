// Ablation: replace a site's activation at one (layer, position), or one head's output at every
// position, by zero, by its mean over reference prompts, or by its value in a resampled reference
// prompt, and read a metric at the last position. All cells run as batches sharing the unchanged
// prefix (batched-edits.ts).
import type { HookedModel, ModelInput } from "../hooks/hooked-model.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { checkOptionKeys, keysOf } from "../nn/option-keys.ts";
import { type Edit, passedRunOptions, runEdits } from "./batched-edits.ts";
import { type Metric, readMetric, resolveMetric } from "./metric.ts";
import { checkPositions, checkSite, HEAD_SITE, onePrompt, type Site, siteLayers } from "./sites.ts";

export type AblationKind = "zero" | "mean" | "resample";

export interface AblationOptions {
  prompt: ModelInput;
  /** resid_pre, resid_mid, resid_post, attn_out, mlp_out (per layer and position) or z (per layer and head, all positions). */
  site: Site;
  kind: AblationKind;
  /**
   * Prompts the mean is taken over (default: the prompt itself), or resampled from (required for
   * resample; each at least as long as the positions ablated).
   */
  reference?: ModelInput;
  /** Count the BOS position in the mean (default false: BOS is an outlier of the stream). */
  includeBos?: boolean;
  /** Default: the probability of the unablated run's top token. */
  metric?: Metric;
  layers?: readonly number[];
  /** Positions ablated (default all; for z, the positions each head is ablated at together). */
  positions?: readonly number[];
  /** Which reference prompt each resampled cell takes, drawn from this seed (default 0). */
  seed?: number;
  prependBos?: boolean;
  /** Most ablated runs per forward pass (default 64). */
  batchSize?: number;
  /** Share the unchanged prefix through the KV cache (default true). */
  sharePrefix?: boolean;
  /** Called as the ablated runs go: how many have run, of how many. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the sweep after the batch in progress, with an AbortError (abort.ts). */
  signal?: AbortSignal;
}

export class AblationResult {
  constructor(
    readonly site: Site,
    readonly kind: AblationKind,
    readonly metric: Metric,
    readonly layers: number[],
    /** Positions, or heads for z. */
    readonly columns: number[],
    readonly labels: string[],
    /** The metric of the unablated run. */
    readonly baseline: number,
    /** The metric of each ablated run, [layer][column]. */
    readonly values: number[][],
    /** For resample: the reference prompt each cell took, [layer][column]. */
    readonly resampledFrom?: number[][],
  ) {}

  /** baseline - ablated per cell: positive where the ablation lowers the metric. */
  get effect(): number[][] {
    return this.values.map((row) => row.map((v) => this.baseline - v));
  }

  toJSON() {
    return {
      site: this.site,
      kind: this.kind,
      metric: this.metric,
      layers: this.layers,
      columns: this.columns,
      columnKind: this.site === HEAD_SITE ? "head" : "position",
      labels: this.labels,
      baseline: this.baseline,
      values: this.values,
      effect: this.effect,
      ...(this.resampledFrom === undefined ? {} : { resampledFrom: this.resampledFrom }),
    };
  }
}

const ABLATION_KEYS = keysOf<AblationOptions>({
  prompt: true,
  site: true,
  kind: true,
  reference: true,
  includeBos: true,
  metric: true,
  layers: true,
  positions: true,
  seed: true,
  prependBos: true,
  batchSize: true,
  sharePrefix: true,
  onProgress: true,
  signal: true,
});

export function ablation(hm: HookedModel, options: AblationOptions): AblationResult {
  checkOptionKeys(options, ABLATION_KEYS, "ablation");
  const site = checkSite(options.site);
  const kind = options.kind;
  if (kind !== "zero" && kind !== "mean" && kind !== "resample") {
    throw new Error(`kind must be "zero", "mean" or "resample", got ${JSON.stringify(kind)}`);
  }
  const tokens = onePrompt(hm, options.prompt, "prompt", options.prependBos);
  const layers = siteLayers(hm, site, options.layers);
  const positions = checkPositions(options.positions, tokens.length, "positions");
  const metric: Metric = options.metric ?? { kind: "prob", token: topToken(hm, tokens) };
  const resolved = resolveMetric(hm, metric);
  const heads = hm.model.layout.dims.heads;
  const columns = site === HEAD_SITE ? Array.from({ length: heads }, (_, h) => h) : positions;

  const source = ablationSource(hm, site, layers, tokens, options);
  const edits: Edit[] = [];
  const resampledFrom: number[][] = [];
  let reference: MxArray | undefined;
  try {
    layers.forEach((layer, i) => {
      const key = `${site}.${layer}`;
      const picks: number[] = [];
      for (const column of columns) {
        const { value, reference } = source.value(i, column, positions);
        if (reference !== undefined) picks.push(reference);
        edits.push(site === HEAD_SITE ? { key, head: column, positions, value } : { key, positions: [column], value });
      }
      resampledFrom.push(picks);
    });
    const { base, edited } = runEdits(hm, tokens, edits, {
      readout: (logits) => {
        // The unablated run comes first: its logits are the KL's reference.
        reference ??= mx.keep(mx.astype(logits, "float32"));
        return readMetric(resolved, logits, reference);
      },
      ...passedRunOptions(options),
    });
    const values = edited.tolist() as number[];
    const baseline = mx.index(base, 0).item() as number;
    base.dispose();
    edited.dispose();
    const grid = layers.map((_, i) => values.slice(i * columns.length, (i + 1) * columns.length));
    const labels =
      site === HEAD_SITE ? columns.map((h) => `H${h}`) : columns.map((p) => tokenText(hm, tokens[p] as number));
    return new AblationResult(
      site,
      kind,
      metric,
      layers,
      columns,
      labels,
      baseline,
      grid,
      kind === "resample" ? resampledFrom : undefined,
    );
  } finally {
    (reference as MxArray | undefined)?.dispose();
    for (const e of edits) e.value.dispose();
    source.dispose();
  }
}

interface AblationSource {
  /** The replacement for layer row `i` at a position (or for a head at `positions`). */
  value(i: number, column: number, positions: readonly number[]): { value: MxArray; reference?: number };
  dispose(): void;
}

// Zero, the reference mean per layer, or reference activations to resample from.
function ablationSource(
  hm: HookedModel,
  site: Site,
  layers: readonly number[],
  tokens: readonly number[],
  options: AblationOptions,
): AblationSource {
  const perHead = site === HEAD_SITE;
  const dims = hm.model.layout.dims;
  const width = perHead ? dims.headDim : dims.dModel;
  if (options.kind === "zero") {
    return {
      value: (_i, _column, positions) => ({ value: mx.zeros([perHead ? positions.length : 1, width]) }),
      dispose: () => {},
    };
  }
  if (options.kind === "resample" && options.reference === undefined) {
    throw new Error("resample ablation needs reference prompts to resample from (options.reference)");
  }
  const reference = hm.toTokens(options.reference ?? [tokens as number[]], {
    ...(options.prependBos === undefined ? {} : { prependBos: options.prependBos }),
  });
  const keys = layers.map((l) => `${site}.${l}`);
  const { logits, cache, batch } = hm.runWithCache(reference, { names: keys });
  logits.dispose();
  // Each reference prompt's own activation per layer: [L_r, d_model] or [heads, L_r, d_head].
  const own = (b: number, key: string) => batch.select(cache.get(key), b, [perHead ? 2 : 1]);
  if (options.kind === "mean") {
    const bos = hm.tokenizer?.bosTokenId;
    const means = keys.map((key) =>
      mx.keep(
        mx.tidy(() => {
          const rows: MxArray[] = [];
          reference.forEach((ids, b) => {
            const from = options.includeBos !== true && bos !== undefined && ids[0] === bos ? 1 : 0;
            if (from >= ids.length) return;
            const act = mx.astype(own(b, key), "float32");
            rows.push(perHead ? mx.index(act, ":", `${from}:`, ":") : mx.index(act, `${from}:`, ":"));
          });
          if (rows.length === 0)
            throw new Error("the reference prompts have no position besides BOS to take a mean over");
          return mx.mean(mx.concatenate(rows, perHead ? 1 : 0), { axis: perHead ? 1 : 0 }); // [heads, d] or [d]
        }),
      ),
    );
    cache.dispose();
    return {
      value: (i, column, positions) => ({
        value: mx.tidy(() => {
          const mean = means[i] as MxArray;
          return perHead
            ? mx.broadcastTo(mx.index(mean, `${column}:${column + 1}`, ":"), [positions.length, width])
            : mx.expandDims(mean, 0);
        }),
      }),
      dispose: () => {
        for (const m of means) m.dispose();
      },
    };
  }
  // One reference prompt per cell, in the order value() is asked for, from MLX's seeded generator.
  const cells = layers.length * (perHead ? hm.model.layout.dims.heads : (options.positions ?? tokens).length);
  const draws = mx.tidy(
    () =>
      mx.random.randint(0, reference.length, [cells], { key: mx.random.key(options.seed ?? 0) }).tolist() as number[],
  );
  let drawn = 0;
  const needed = Math.max(...(options.positions ?? [tokens.length - 1])) + 1;
  reference.forEach((ids, b) => {
    if (ids.length < needed) {
      cache.dispose();
      throw new Error(
        `reference prompt ${b} has ${ids.length} tokens; resampling needs ${needed} (the positions ablated)`,
      );
    }
  });
  return {
    value: (i, column, positions) => {
      const r = draws[drawn++] as number;
      const key = keys[i] as string;
      const value = mx.tidy(() =>
        perHead
          ? mx.take(mx.index(own(r, key), column), mx.array([...positions], "int32"), 0)
          : mx.index(own(r, key), `${column}:${column + 1}`, ":"),
      );
      return { value, reference: r };
    },
    dispose: () => cache.dispose(),
  };
}

// The unablated run's most probable next token at the last position.
function topToken(hm: HookedModel, tokens: readonly number[]): number {
  return mx.tidy(() => {
    const logits = hm.forward([tokens as number[]]);
    return mx.argmax(mx.index(logits, 0, -1, ":")).item() as number;
  });
}

function tokenText(hm: HookedModel, id: number): string {
  return hm.tokenizer === undefined ? String(id) : hm.toString([id]);
}
