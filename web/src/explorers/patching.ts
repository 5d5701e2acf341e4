// Activation patching: the source and target prompts as token chips (click to pick the positions),
// the single-cell view (the source's activation at one position put into the target at one position,
// layer by layer: the target's top next tokens each time) and the full layers x positions sweep.
import type { PatchLayersRequest, PatchSweepRequest, TokenizeResponse } from "../../../src/server/protocol.ts";
import { postJson } from "../api.ts";
import { format, grid } from "../charts/grid.ts";
import { type Explorer, element, showToken } from "../shell.ts";

interface NamedToken {
  id: number;
  token: string;
  prob: number;
}
interface LayerSweep {
  baseline: NamedToken[];
  layers: { layer: number; top: NamedToken[]; changed: boolean }[];
}
interface Sweep {
  layers: number[];
  labels: string[];
  clean: number;
  corrupted: number;
  raw: number[][];
  normalized: number[][];
}

export const patchingExplorer: Explorer = {
  id: "patching",
  title: "Activation patching",
  blurb:
    "Put the source run's activation into the target run and see what the target now predicts. The table patches one position at every layer; the heatmap patches every layer and position and shows how much of the source's answer (logit of answer minus wrong) comes back: 1 all of it, 0 none.",
  fields: [
    { name: "source", label: "Source", kind: "textarea", initial: "And Abraham begat Isaac; and Isaac begat" },
    { name: "target", label: "Target", kind: "textarea", initial: "And Jacob begat Joseph; and Joseph begat" },
    { name: "sourcePosition", label: "Source position", kind: "number", initial: "7", min: 0 },
    { name: "targetPosition", label: "Target position", kind: "number", initial: "7", min: 0 },
    {
      name: "site",
      label: "Site",
      kind: "select",
      initial: "resid_post",
      options: ["resid_post", "resid_pre", "resid_mid", "attn_out", "mlp_out"],
    },
    { name: "answer", label: "Answer (sweep)", kind: "text", initial: " Jacob" },
    { name: "wrong", label: "Wrong (sweep)", kind: "text", initial: " Joseph" },
  ],
  controls(inputs) {
    const box = element("div", { class: "controls chips-box" });
    const rows = {
      source: element("div", { class: "chips", "data-testid": "source-chips" }),
      target: element("div", { class: "chips", "data-testid": "target-chips" }),
    };
    box.append(
      element("span", { class: "note" }, "Source tokens"),
      rows.source,
      element("span", { class: "note" }, "Target tokens"),
      rows.target,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const draw = async () => {
      for (const which of ["source", "target"] as const) {
        const positionField = `${which}Position`;
        try {
          const { tokens } = await postJson<TokenizeResponse>("/api/tokenize", { prompt: inputs.get(which) });
          rows[which].replaceChildren(
            ...tokens.map((t, i) => {
              const chip = element(
                "button",
                { type: "button", class: "chip", "data-position": String(i) },
                showToken(t),
              );
              if (String(i) === inputs.get(positionField)) chip.classList.add("picked");
              chip.addEventListener("click", () => inputs.set(positionField, String(i)));
              return chip;
            }),
          );
        } catch (e) {
          rows[which].textContent = e instanceof Error ? e.message : String(e);
        }
      }
    };
    inputs.onChange(() => {
      clearTimeout(timer);
      timer = setTimeout(() => void draw(), 250);
    });
    void draw();
    return box;
  },
  async run(values, context) {
    const single: PatchLayersRequest = {
      source: values.source ?? "",
      target: values.target ?? "",
      sourcePosition: Number(values.sourcePosition),
      targetPosition: Number(values.targetPosition),
      site: values.site as PatchLayersRequest["site"],
      k: 3,
    };
    const sweepView = element("div", { class: "sweep" });
    const table = element("table", { class: "layer-sweep", "data-testid": "layer-sweep" });
    context.figure.replaceChildren(
      element("h3", {}, "One position, every layer: the target's next tokens"),
      table,
      sweepView,
    );
    const layers = (await context.stream("patch-layers", single)) as LayerSweep | undefined;
    if (!layers) return;
    const show = (tokens: NamedToken[]) =>
      tokens.map((t) => `${JSON.stringify(t.token)} ${(t.prob * 100).toFixed(1)}%`).join("  ");
    const head = element("tr");
    head.append(element("th", {}, "patched at"), element("th", {}, "top next tokens"));
    const base = element("tr", { class: "baseline", "data-layer": "baseline" });
    base.append(element("td", {}, "no patch"), element("td", {}, show(layers.baseline)));
    table.append(head, base);
    for (const row of layers.layers) {
      const tr = element("tr", { "data-layer": String(row.layer), "data-top": String(row.top[0]?.id ?? "") });
      if (row.changed) tr.classList.add("changed");
      tr.append(element("td", {}, `layer ${row.layer}`), element("td", {}, show(row.top)));
      table.append(tr);
    }
    const exports = { figure: () => svg, json: { single: layers } as Record<string, unknown>, csv: () => csv };
    let svg: SVGSVGElement | undefined;
    let csv: (string | number)[][] = [
      ["layer", "rank", "token_id", "token", "prob", "changed"],
      ...layers.layers.flatMap((row) =>
        row.top.map((t, rank) => [row.layer, rank + 1, t.id, t.token, t.prob, row.changed ? 1 : 0]),
      ),
    ];
    context.setExports(exports);

    const sweepRequest: PatchSweepRequest = {
      clean: single.source,
      corrupted: single.target,
      site: single.site,
      answer: values.answer ?? "",
      wrong: values.wrong ?? "",
    };
    try {
      const sweep = (await context.stream("patch-sweep", sweepRequest)) as Sweep | undefined;
      if (!sweep) return;
      svg = grid({
        rowLabels: sweep.layers.map((l) => `L${l}`),
        columnLabels: sweep.labels.map(showToken),
        values: sweep.normalized,
        scale: "diverging",
        extent: 1,
        describe: (r, c) =>
          `layer ${sweep.layers[r]}, ${showToken(sweep.labels[c] ?? "")}: recovered ${format(sweep.normalized[r]?.[c] ?? Number.NaN)} (logit diff ${format(sweep.raw[r]?.[c] ?? Number.NaN)})`,
        legend: "share of the source's logit difference recovered",
      });
      sweepView.replaceChildren(
        element(
          "h3",
          {},
          `Every layer and position (source → target): logit diff source ${format(sweep.clean)}, target ${format(sweep.corrupted)}`,
        ),
        svg,
      );
      exports.json.sweep = sweep;
      csv = [
        ["layer", "position", "token", "raw", "normalized"],
        ...sweep.layers.flatMap((l, r) =>
          sweep.labels.map((t, c) => [l, c, t, sweep.raw[r]?.[c] ?? "", sweep.normalized[r]?.[c] ?? ""]),
        ),
      ];
      context.setExports(exports);
    } catch (error) {
      sweepView.replaceChildren(
        element("p", { class: "note" }, `No sweep: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  },
};
