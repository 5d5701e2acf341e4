// The ablation heatmap, streamed: the library's ablation one layer at a time (each layer's mean is
// its own, so a row computed alone equals the same row of the whole sweep), a row per chunk, with a
// stop looked for between layers and between the batches of a layer.
import { ablation } from "../../experiments/ablation.ts";
import { siteLayers } from "../../experiments/sites.ts";
import * as mx from "../../mx/index.ts";
import type { AblationRequest, AblationRow, AblationStart } from "../protocol.ts";
import { type Job, Stopped } from "./job.ts";

export const ablationJob: Job<AblationRequest> = async (hm, request, io) => {
  const site = request.site ?? "resid_post";
  const kind = request.kind ?? "mean";
  const tokenizer = hm.tokenizer;
  const ids = hm.toTokens(request.prompt)[0] as number[];
  // The metric: the probability of the unablated run's top token at the last position.
  const top = mx.tidy(() => mx.argmax(mx.index(hm.forward([ids]), 0, -1)).item() as number);
  const metric = { kind: "prob", token: top } as const;
  const rows: AblationRow[] = [];
  let start: AblationStart | undefined;
  const layers = siteLayers(hm, site);
  for (const [i, layer] of layers.entries()) {
    // Progress over the whole sweep; a stop also ends the layer in progress after its batch.
    const result = ablation(hm, {
      prompt: [ids],
      site,
      kind,
      metric,
      layers: [layer],
      onProgress: (done, total) => io.step(i * total + done, layers.length * total),
      signal: io.signal,
    });
    if (start === undefined) {
      start = {
        site,
        kind,
        columnKind: site === "z" ? "head" : "position",
        labels: result.labels,
        layers,
        baseline: result.baseline,
        token: tokenizer === undefined ? String(top) : tokenizer.decode([top]),
      };
      io.send({ start });
    }
    const row: AblationRow = { layer, values: result.values[0] as number[], effect: result.effect[0] as number[] };
    rows.push(row);
    io.send({ row });
    await io.pause();
    if (io.stopped) throw new Stopped();
  }
  return { ...start, rows };
};
