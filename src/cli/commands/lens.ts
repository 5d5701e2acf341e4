// `mlux lens PROMPT`: the logit lens of a prompt (logitLens): at each position, the token each
// layer would predict if the computation stopped there, as a positions x layers heatmap coloured
// by the top token's probability.
import type { Command } from "commander";
import { LENS_PROBES, type LensProbe, type LogitLensResult, logitLens } from "../../experiments/logit-lens.ts";
import { integer } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { type Heatmap, renderHeatmap, visibleToken } from "../output/heatmap.ts";
import { checkK, choice, dtypeOption, type ModelOptions, modelOption, openModel } from "./shared.ts";

interface LensOptions extends ModelOptions, OutputOptions {
  probe: LensProbe | "all";
  k: number;
}

export function registerLens(program: Command): void {
  const command = program
    .command("lens")
    .description("the logit lens: what each layer would predict at each position of a prompt")
    .argument("<prompt>", "the text to look into (quote it)")
    .addOption(modelOption())
    .addOption(dtypeOption())
    .option(
      "--probe <probe>",
      "what is read at each layer: resid (the residual stream), attn or mlp (a branch's output), or all",
      choice([...LENS_PROBES, "all"]),
      "resid",
    )
    .option("--k <n>", "candidate tokens per cell in --json / --csv (a whole number >= 1)", integer({ min: 1 }), 5);
  addOutputOptions(command).action(lens);
}

async function lens(prompt: string, options: LensOptions): Promise<void> {
  const hm = await openModel(options);
  checkK(hm, options.k);
  const probes = options.probe === "all" ? LENS_PROBES : [options.probe];
  const result = logitLens(hm, prompt, { probes, k: options.k });
  emit(options, {
    json: () => result.toJSON(),
    csv: () => lensTable(result),
    text: (style) => result.grids.map((g) => renderHeatmap(lensHeatmap(result, g.probe), style)).join("\n\n"),
  });
}

/** One row per (probe, layer, position, rank). */
function lensTable(result: LogitLensResult) {
  const header = ["probe", "layer", "position", "input_token", "rank", "id", "token", "logit", "prob"];
  const rows = result.grids.flatMap((g) =>
    g.rows.flatMap((layer, r) =>
      (g.cells[r] ?? []).flatMap((cell, position) =>
        cell.map((t, rank) => [
          g.probe,
          layer,
          position,
          result.tokens?.[position] ?? result.tokenIds[position],
          rank,
          t.id,
          t.token ?? "",
          t.logit,
          t.prob,
        ]),
      ),
    ),
  );
  return { header, rows };
}

const PROBE_NAMES: Record<LensProbe, string> = {
  resid: "the residual stream after each layer",
  attn: "each layer's attention output",
  mlp: "each layer's MLP output",
};

/** Positions down, layers across; each cell the top token and its probability in %. */
export function lensHeatmap(result: LogitLensResult, probe: LensProbe): Heatmap {
  const grid = result.grid(probe);
  const positions = result.tokenIds.map((id, p) => `${p} ${visibleToken(result.tokens?.[p] ?? String(id))}`);
  const top = (r: number, p: number) => grid.cells[r]?.[p]?.[0];
  return {
    title: `logit lens: ${PROBE_NAMES[probe]}`,
    rowTitle: "position",
    columnTitle: "layer",
    rows: positions,
    columns: grid.rows.map((label) => (label === "embed" ? "emb" : label)),
    values: positions.map((_, p) => grid.rows.map((_, r) => top(r, p)?.prob ?? Number.NaN)),
    texts: positions.map((_, p) =>
      grid.rows.map((_, r) => {
        const t = top(r, p);
        if (t === undefined) return "";
        const token = visibleToken(t.token ?? String(t.id));
        return `${token.length > 6 ? `${token.slice(0, 5)}…` : token} ${Math.round(t.prob * 100)}`;
      }),
    ),
    format: (v) => v.toFixed(1),
    scale: { kind: "sequential", min: 0, max: 1 },
    legend: "cell: the top token and its probability in %, coloured by the probability",
  };
}
