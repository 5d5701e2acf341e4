// Logit lens: what each layer would predict at each position, tokens x layers; click a cell for its
// top k with probabilities.
import type { LensRequest } from "../../../src/server/protocol.ts";
import { postJson } from "../api.ts";
import { format, grid } from "../charts/grid.ts";
import { type Explorer, element, showToken } from "../shell.ts";

interface LensToken {
  id: number;
  prob: number;
  logit: number;
  token?: string;
}
interface LensResult {
  tokenIds: number[];
  tokens?: string[];
  grids: { probe: string; rows: string[]; cells: LensToken[][][] }[];
}

export const lensExplorer: Explorer = {
  id: "lens",
  title: "Logit lens",
  blurb:
    "What the model would predict if it stopped at each layer: each layer's output (or its attention or MLP branch) through the final norm and the unembedding. Rows are the prompt's tokens, columns the layers; the colour is the top token's probability. Click a cell for its top tokens.",
  fields: [
    { name: "prompt", label: "Prompt", kind: "textarea", initial: "In the beginning God created the heaven and the" },
    { name: "probe", label: "Probe", kind: "select", initial: "resid", options: ["resid", "attn", "mlp"] },
    { name: "k", label: "Top k", kind: "number", initial: "5", min: 1, max: 20 },
  ],
  controls(inputs) {
    const box = element("div", { class: "controls" });
    const button = element("button", { type: "button", class: "chat-template" }, "Format with the chat template");
    const note = element("span", { class: "note" });
    button.addEventListener("click", () => {
      postJson<{ prompt: string }>("/api/chat-template", { prompt: inputs.get("prompt") })
        .then((r) => inputs.set("prompt", r.prompt))
        .catch((e: unknown) => {
          note.textContent = e instanceof Error ? e.message : String(e);
        });
    });
    box.append(button, note);
    return box;
  },
  async run(values, context) {
    const request: LensRequest = {
      prompt: values.prompt ?? "",
      probes: [values.probe as "resid"],
      k: Number(values.k),
    };
    const result = (await context.stream("lens", request)) as LensResult | undefined;
    if (!result) return;
    const lens = result.grids[0];
    if (!lens) return;
    const tokens = result.tokens ?? result.tokenIds.map(String);
    // Transposed to tokens x layers: cells[layer][position] -> values[position][layer].
    const values2 = tokens.map((_, p) => lens.rows.map((_, r) => lens.cells[r]?.[p]?.[0]?.prob ?? Number.NaN));
    const info = element("div", { class: "cell-info", "data-testid": "lens-info" }, "Click a cell for its top tokens.");
    const svg = grid({
      rowLabels: tokens.map(showToken),
      columnLabels: lens.rows.map((r) => (r === "embed" ? "embed" : `L${r}`)),
      values: values2,
      scale: "sequential",
      extent: 1,
      cellWidth: 64,
      cellText: (p, r) => lens.cells[r]?.[p]?.[0]?.token ?? String(lens.cells[r]?.[p]?.[0]?.id ?? ""),
      describe: (p, r) => {
        const top = lens.cells[r]?.[p] ?? [];
        return `${showToken(tokens[p] ?? "")} @ ${lens.rows[r]}: ${top
          .slice(0, 3)
          .map((t) => `${JSON.stringify(t.token ?? t.id)} ${(t.prob * 100).toFixed(1)}%`)
          .join(", ")}`;
      },
      onClick: (p, r) => {
        const top = lens.cells[r]?.[p] ?? [];
        info.replaceChildren(
          element("h3", {}, `${lens.probe} after ${lens.rows[r]}, position ${p} (${showToken(tokens[p] ?? "")})`),
        );
        const table = element("table", { class: "topk" });
        table.append(element("tr", {}, ""));
        (table.firstChild as HTMLElement).append(
          element("th", {}, "token"),
          element("th", {}, "probability"),
          element("th", {}, "logit"),
        );
        for (const t of top) {
          const row = element("tr", { "data-token-id": String(t.id) });
          row.append(
            element("td", {}, JSON.stringify(t.token ?? t.id)),
            element("td", { class: "prob" }, `${(t.prob * 100).toFixed(2)}%`),
            element("td", {}, format(t.logit)),
          );
          table.append(row);
        }
        info.append(table);
      },
      legend: "top-1 probability",
    });
    context.figure.replaceChildren(svg, info);
    context.setExports({
      figure: () => svg,
      json: result,
      csv: () => [
        ["probe", "layer", "position", "input_token", "rank", "token_id", "token", "prob", "logit"],
        ...lens.rows.flatMap((layer, r) =>
          tokens.flatMap((input, p) =>
            (lens.cells[r]?.[p] ?? []).map((t, rank) => [
              lens.probe,
              layer,
              p,
              input,
              rank + 1,
              t.id,
              t.token ?? "",
              t.prob,
              t.logit,
            ]),
          ),
        ),
      ],
    });
  },
};
