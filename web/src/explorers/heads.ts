// Head detectors: each head's previous-token, duplicate-token and induction score on repeated random
// tokens, as a layer x head matrix, and the best heads' patterns on one of those sequences.
import type { HeadsResult } from "../../../src/server/protocol.ts";
import { format, grid } from "../charts/grid.ts";
import { type Explorer, element } from "../shell.ts";

export const headsExplorer: Explorer = {
  id: "heads",
  title: "Head detectors",
  blurb:
    "Scores every head on sequences of random tokens repeated twice: induction heads attend from a token to the one after its earlier copy, previous-token heads to the token before, duplicate-token heads to the earlier copy itself.",
  fields: [
    {
      name: "kind",
      label: "Detector",
      kind: "select",
      initial: "induction",
      options: ["induction", "previousToken", "duplicateToken"],
    },
    { name: "batch", label: "Sequences", kind: "number", initial: "8", min: 1, max: 64 },
    { name: "repeatLength", label: "Repeat length", kind: "number", initial: "20", min: 2, max: 256 },
    { name: "seed", label: "Seed", kind: "number", initial: "0", min: 0 },
  ],
  async run(values, context) {
    const result = (await context.stream("heads", {
      batch: Number(values.batch),
      repeatLength: Number(values.repeatLength),
      seed: Number(values.seed),
      top: 3,
    })) as HeadsResult | undefined;
    if (!result) return;
    const kind = values.kind ?? "induction";
    const scores = result.scores[kind];
    if (!scores) throw new Error(`no ${kind} scores; the server computed ${Object.keys(result.scores).join(", ")}`);
    const heads = (scores[0] ?? []).map((_, h) => `H${h}`);
    const matrix = grid({
      rowLabels: result.layers.map((l) => `L${l}`),
      columnLabels: heads,
      values: scores,
      scale: "sequential",
      extent: 1,
      cellText: (r, c) => (scores[r]?.[c] ?? 0).toFixed(2),
      legend: `${kind} score`,
    });
    const tops = element("div", { class: "thumbs" });
    for (const p of result.example.patterns.filter((p) => p.kind === kind)) {
      const box = element("figure", { class: "top-head", "data-layer": String(p.layer), "data-head": String(p.head) });
      box.append(
        element(
          "figcaption",
          {},
          `L${p.layer}H${p.head} · ${format(scores[result.layers.indexOf(p.layer)]?.[p.head] ?? Number.NaN)}`,
        ),
        grid({
          rowLabels: [],
          columnLabels: [],
          values: p.pattern,
          scale: "sequential",
          extent: 1,
          cellWidth: 4,
          cellHeight: 4,
          compact: true,
        }),
      );
      tops.append(box);
    }
    context.figure.replaceChildren(
      matrix,
      element("h3", {}, "Best heads' patterns on the first sequence (query rows, key columns)"),
      tops,
    );
    context.setExports({
      figure: () => matrix,
      json: result,
      csv: () => [
        ["kind", "layer", "head", "score"],
        ...Object.entries(result.scores).flatMap(([k, rows]) =>
          rows.flatMap((row, i) => row.map((score, head) => [k, result.layers[i] as number, head, score])),
        ),
      ],
    });
  },
};
