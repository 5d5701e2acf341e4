// Mean-ablation heatmap: replace one (layer, position) of a site, or one head, by its mean over the
// prompt's positions (BOS left out) and see how the probability of the model's answer changes;
// streamed a layer at a time.
import type { AblationRequest, AblationRow, AblationStart } from "../../../src/server/protocol.ts";
import { format, grid } from "../charts/grid.ts";
import { type Explorer, element, showToken } from "../shell.ts";

export const ablationExplorer: Explorer = {
  id: "ablation",
  title: "Mean-ablation heatmap",
  blurb:
    "Each cell replaces one layer's output at one position (or, per head, one head's output) by its mean and shows how much the probability of the model's answer drops: red where the ablation hurts, blue where it helps. Rows arrive as they are computed.",
  fields: [
    {
      name: "prompt",
      label: "Prompt",
      kind: "textarea",
      initial: "And Adam knew Eve his wife; and she conceived, and bare Cain, and said, I have gotten a man from the",
    },
    {
      name: "site",
      label: "Site",
      kind: "select",
      initial: "resid_post",
      options: ["resid_post", "attn_out", "mlp_out", "resid_pre", "resid_mid", "z"],
      title: "z: per head",
    },
    { name: "kind", label: "Ablation", kind: "select", initial: "mean", options: ["mean", "zero"] },
  ],
  async run(values, context) {
    const request: AblationRequest = {
      prompt: values.prompt ?? "",
      site: values.site as AblationRequest["site"],
      kind: values.kind as AblationRequest["kind"],
    };
    let start: AblationStart | undefined;
    const effects: number[][] = [];
    const header = element("p", { class: "stats", "data-testid": "ablation-baseline" });
    const holder = element("div");
    context.figure.replaceChildren(header, holder);
    let svg: SVGSVGElement | undefined;
    const draw = () => {
      if (!start) return;
      const s = start;
      const rows = s.layers.map((_, i) => effects[i] ?? s.labels.map(() => Number.NaN));
      svg = grid({
        rowLabels: s.layers.map((l) => `L${l}`),
        columnLabels: s.columnKind === "head" ? s.labels : s.labels.map(showToken),
        values: rows,
        scale: "diverging",
        describe: (r, c) =>
          `layer ${s.layers[r]}, ${s.columnKind} ${showToken(s.labels[c] ?? "")}: effect ${format(rows[r]?.[c] ?? Number.NaN)}`,
        legend: `p(${JSON.stringify(s.token)}) lost by ablating`,
      });
      holder.replaceChildren(svg);
    };
    const result = await context.stream("ablation", request, (chunk) => {
      const data = chunk as { start?: AblationStart; row?: AblationRow };
      if (data.start) {
        start = data.start;
        header.textContent = `answer ${JSON.stringify(start.token)} with probability ${format(start.baseline)} unablated; ${start.kind} ablation of ${start.site}`;
        header.dataset.baseline = String(start.baseline);
      }
      if (data.row && start) {
        // Progress is the shell's status line, from the job's progress events.
        effects[start.layers.indexOf(data.row.layer)] = data.row.effect;
      }
      draw();
    });
    const s = start as AblationStart | undefined;
    if (!s) return;
    context.setExports({
      figure: () => svg,
      json: result ?? { ...s, rows: effects },
      csv: () => [
        ["layer", s.columnKind, "label", "effect"],
        ...effects.flatMap((row, i) => row.map((e, c) => [s.layers[i] as number, c, s.labels[c] ?? "", e])),
      ],
    });
  },
};
