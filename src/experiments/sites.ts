// Where patching and ablation intervene: a residual-stream site per (layer, position), or an
// attention head's output z per (layer, head), by standard name; and the checks every experiment
// makes of its layers, positions and prompts before it runs anything.
import type { HookedModel, ModelInput } from "../hooks/hooked-model.ts";

/** Sites with one vector per (layer, position): [B, L, d_model]. */
export const POSITION_SITES = ["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out"] as const;
/** The per-head site: z [B, heads, L, d_head], one slice per (layer, head). */
export const HEAD_SITE = "z";

export type PositionSite = (typeof POSITION_SITES)[number];
export type Site = PositionSite | typeof HEAD_SITE;

export function checkSite(site: unknown): Site {
  if (site === HEAD_SITE || (POSITION_SITES as readonly unknown[]).includes(site)) return site as Site;
  throw new Error(
    `unknown site ${JSON.stringify(site)}: use one of ${[...POSITION_SITES, HEAD_SITE].join(", ")} (z is per head)`,
  );
}

/** The layers to sweep (default: every layer that has the site), each checked. */
export function siteLayers(hm: HookedModel, site: Site, layers?: readonly number[]): number[] {
  const has = (layer: number) => hm.names.keys().includes(`${site}.${layer}`);
  if (layers === undefined) {
    const all = Array.from({ length: hm.layers }, (_, i) => i).filter(has);
    if (all.length === 0) throw new Error(`this model has no ${site} site in any layer`);
    return all;
  }
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error("layers must be a non-empty list of layer indices");
  for (const layer of layers) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= hm.layers) {
      throw new Error(`layer ${layer} is out of range: the model has layers 0 to ${hm.layers - 1}`);
    }
    if (!has(layer))
      throw new Error(`layer ${layer} has no ${site} site (${site === "z" ? "no attention" : "not in this block"})`);
  }
  return [...layers];
}

/** Positions checked against a prompt of `length` tokens (default: all of them). */
export function checkPositions(positions: readonly number[] | undefined, length: number, what: string): number[] {
  if (positions === undefined) return Array.from({ length }, (_, i) => i);
  if (!Array.isArray(positions) || positions.length === 0)
    throw new Error(`${what} must be a non-empty list of positions`);
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= length) {
      throw new Error(`${what}: position ${p} is out of range for a prompt of ${length} tokens (0 to ${length - 1})`);
    }
  }
  return [...positions];
}

/** The token ids of one prompt (experiments take a single prompt where they say `prompt`). */
export function onePrompt(hm: HookedModel, input: ModelInput, what: string, prependBos?: boolean): number[] {
  const rows = hm.toTokens(input, prependBos === undefined ? {} : { prependBos });
  if (rows.length !== 1) throw new Error(`${what} must be one prompt, got a batch of ${rows.length}`);
  return rows[0] as number[];
}
