// Attention patterns: every head of a layer as a small query x key map, one head large with its
// tokens, and a token view: hover a token to see where it attends.
import type { AttentionResult } from "../../../src/server/protocol.ts";
import { sequential, textOn } from "../charts/colors.ts";
import { grid } from "../charts/grid.ts";
import { type Explorer, element, showToken } from "../shell.ts";

export const attentionExplorer: Explorer = {
  id: "attention",
  title: "Attention patterns",
  blurb:
    "The model's own attention weights (rotary positions, norms, scales and windows as it computes them). Pick a layer; click a head for its full pattern; hover a token to see where it attends.",
  fields: [
    {
      name: "prompt",
      label: "Prompt",
      kind: "textarea",
      initial: "And Adam knew Eve his wife; and she conceived, and bare Cain, and Adam knew Eve",
    },
    { name: "layer", label: "Layer", kind: "number", initial: "0", min: 0 },
    { name: "head", label: "Head", kind: "number", initial: "0", min: 0 },
  ],
  async run(values, context) {
    const result = (await context.stream("attention", { prompt: values.prompt ?? "" })) as AttentionResult | undefined;
    if (!result) return;
    const layerIndex = Math.max(0, result.layers.indexOf(Number(values.layer)));
    const layer = result.layers[layerIndex] as number;
    const heads = result.patterns[layerIndex] as number[][][];
    let head = Math.min(Math.max(0, Number(values.head) || 0), heads.length - 1);
    const tokens = result.tokens.map(showToken);

    const thumbs = element("div", { class: "thumbs", "data-testid": "heads-grid" });
    const detail = element("div", { class: "detail" });
    const tokenView = element("div", { class: "token-view", "data-testid": "token-view" });
    const note = element("p", { class: "note" });
    let big: SVGSVGElement | undefined;
    const drawHead = () => {
      const pattern = heads[head] as number[][];
      big = grid({
        rowLabels: tokens,
        columnLabels: tokens,
        values: pattern,
        scale: "sequential",
        extent: 1,
        cellWidth: 18,
        cellHeight: 18,
        rowTitle: `L${layer}H${head}: query (row) → key (column)`,
        legend: "attention weight",
      });
      big.dataset.layer = String(layer);
      big.dataset.head = String(head);
      detail.replaceChildren(big);
      for (const t of thumbs.children) t.classList.toggle("current", (t as HTMLElement).dataset.head === String(head));
      note.textContent = `Hover a token: the tokens before it are shaded by how much L${layer}H${head} attends to them from it.`;
      tokenView.replaceChildren();
      const chips = tokens.map((t, i) => {
        const chip = element("span", { class: "chip", "data-position": String(i) }, t);
        chip.addEventListener("mouseenter", () => {
          chips.forEach((other, j) => {
            const weight = pattern[i]?.[j] ?? 0;
            const fill = sequential(weight, 1);
            other.style.background = j <= i ? fill : "";
            other.style.color = j <= i ? textOn(fill) : "";
            other.title = `${(weight * 100).toFixed(1)}%`;
            other.dataset.weight = String(weight);
          });
          chip.classList.add("query");
        });
        chip.addEventListener("mouseleave", () => chip.classList.remove("query"));
        return chip;
      });
      tokenView.append(...chips);
    };
    heads.forEach((pattern, h) => {
      const thumb = element("button", { type: "button", class: "thumb", "data-head": String(h), title: `head ${h}` });
      const svg = grid({
        rowLabels: [],
        columnLabels: [],
        values: pattern,
        scale: "sequential",
        extent: 1,
        cellWidth: 4,
        cellHeight: 4,
        compact: true,
      });
      thumb.append(element("span", {}, `H${h}`), svg);
      thumb.addEventListener("click", () => {
        head = h;
        drawHead();
      });
      thumbs.append(thumb);
    });
    drawHead();
    context.figure.replaceChildren(
      element("h3", {}, `Layer ${layer}: ${heads.length} heads`),
      thumbs,
      detail,
      note,
      tokenView,
    );
    context.setExports({
      figure: () => big,
      json: result,
      csv: () => [
        ["layer", "head", "query", "key", "weight"],
        ...result.layers.flatMap((l, i) =>
          (result.patterns[i] ?? []).flatMap((rows, h) => rows.flatMap((row, q) => row.map((w, k) => [l, h, q, k, w]))),
        ),
      ],
    });
  },
};
