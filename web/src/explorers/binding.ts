// Binding mechanisms: seeded entity-binding prompts, each with a counterfactual that pulls the
// positional, lexical and reflexive mechanisms apart; the last token's residual patched from the
// counterfactual at each layer, the outcomes as a stacked bar per layer, the causal model's fit,
// and the prompts used. Layers arrive as they are computed.
import {
  BINDING_OUTCOMES,
  type BindingChunk,
  type BindingLayerResult,
  type BindingOutcome,
  type BindingRequest,
  type BindingResultBody,
  type BindingStart,
  type CatalogEntry,
  type ModelState,
} from "../../../src/server/protocol.ts";
import { getJson, postJson } from "../api.ts";
import { stackedBars } from "../charts/stacked-bars.ts";
import { type Explorer, element } from "../shell.ts";

const OUTCOME_STYLE: Record<BindingOutcome, { label: string; colour: string }> = {
  positional: { label: "positional", colour: "#3b78b5" },
  lexical: { label: "lexical", colour: "#2a9d62" },
  reflexive: { label: "reflexive", colour: "#d9822b" },
  mixed: { label: "mixed", colour: "#9b59b6" },
  noEffect: { label: "no effect", colour: "#9a9aa0" },
  other: { label: "other", colour: "#c0392b" },
};
const SEGMENTS = BINDING_OUTCOMES.map((name) => ({ name, ...OUTCOME_STYLE[name] }));
const FIXTURE = "entity-binding";

/** "4, 5" as [4, 5]; empty as undefined. */
const numberList = (text: string | undefined) => {
  const parts = (text ?? "").split(/[\s,]+/).filter((p) => p !== "");
  return parts.length === 0 ? undefined : parts.map(Number);
};

export const bindingExplorer: Explorer = {
  id: "binding",
  title: "Binding mechanisms",
  blurb:
    "Prompts bind entities to boxes (\"The apple is in box C. ... Which box holds the pen? Box\"). Each has a counterfactual in which the queried statement's place (positional), the queried entity (lexical) and the answer token itself (reflexive) point to three different boxes of the original; patching the last token's residual stream from the counterfactual at a layer shows which mechanism carries the answer there.",
  fields: [
    { name: "pairs", label: "Prompt pairs", kind: "number", initial: "64", min: 1, max: 256 },
    {
      name: "groups",
      label: "Facts per prompt",
      kind: "text",
      initial: "4, 5",
      title: "each pair draws one of these (at least 4)",
    },
    { name: "seed", label: "Seed", kind: "number", initial: "0", min: 0 },
    { name: "site", label: "Site", kind: "select", initial: "resid_pre", options: ["resid_pre", "resid_post"] },
    { name: "layers", label: "Layers", kind: "text", initial: "", title: "empty: every layer; else e.g. 2, 3" },
    { name: "threshold", label: "Threshold", kind: "number", initial: "0.5", min: 0, max: 1, step: 0.05 },
    {
      name: "schema",
      label: "Schema (JSON; empty: the entity-binding fixture's box wording)",
      kind: "textarea",
      initial: "",
      title:
        '{"name", "entities": [...], "attributes": [...], "statement": "The {entity} is in box {attribute}.", "question": "Which box holds the {entity}? Box", "separator"?, "answer"?}',
    },
  ],
  controls() {
    // The default prompts are in the fixture's wording: offer the fixture when another model is loaded.
    const box = element("div", { class: "controls model-note", "data-testid": "binding-model" });
    void Promise.all([getJson<ModelState>("/api/model"), getJson<CatalogEntry[]>("/api/models")]).then(
      ([state, catalog]) => {
        const fixture = catalog.find((e) => e.source === "fixture" && e.label === FIXTURE);
        if (state.model === undefined || state.model.path === fixture?.model || !fixture) return;
        const load = element("button", { type: "button", class: "load-fixture" }, `Load ${FIXTURE}`);
        const note = element(
          "p",
          { class: "note" },
          `The loaded model (${state.model.name}) was not trained on these prompts: with the default schema, binding needs a model that answers them, such as the ${FIXTURE} fixture. Another model needs a schema in its own wording, each answer one token.`,
        );
        load.addEventListener("click", () => {
          load.disabled = true;
          note.textContent = `loading ${FIXTURE}…`;
          postJson("/api/model", { model: fixture.model })
            .then(() => {
              note.textContent = `${FIXTURE} is loaded.`;
              load.remove();
              window.dispatchEvent(new Event("mlux:model"));
            })
            .catch((error: unknown) => {
              note.textContent = error instanceof Error ? error.message : String(error);
              load.disabled = false;
            });
        });
        box.append(note, load);
      },
    );
    return box;
  },
  async run(values, context) {
    const request: BindingRequest = { site: values.site as BindingRequest["site"] };
    for (const name of ["pairs", "seed", "threshold"] as const) {
      const text = values[name] ?? "";
      if (text.trim() !== "") request[name] = Number(text);
    }
    const groups = numberList(values.groups);
    if (groups) request.groups = groups;
    const layers = numberList(values.layers);
    if (layers) request.layers = layers;
    if ((values.schema ?? "").trim() !== "") {
      try {
        request.schema = JSON.parse(values.schema as string);
      } catch (error) {
        throw new Error(`the schema is not JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const summary = element("p", { class: "stats", "data-testid": "binding-summary" });
    const chart = element("div");
    const fits = element("div");
    const prompts = element("div", { class: "pairs" });
    context.figure.replaceChildren(summary, chart, fits, prompts);
    let start: BindingStart | undefined;
    const rows: BindingLayerResult[] = [];
    let svg: SVGSVGElement | undefined;
    const draw = () => {
      const s = start as BindingStart;
      svg = stackedBars({
        rowLabels: s.layers.map((l) => `${s.site}.${l}`),
        segments: SEGMENTS,
        values: s.layers.map((l) => {
          const row = rows.find((r) => r.layer === l);
          return row && BINDING_OUTCOMES.map((o) => row.fractions[o]);
        }),
      });
      chart.replaceChildren(svg);
      fits.replaceChildren(fitTable(s, rows));
      prompts.replaceChildren(pairTable(s, rows));
    };
    const result = (await context.stream("binding", request, (data) => {
      const chunk = data as BindingChunk;
      if ("start" in chunk) {
        start = chunk.start;
        const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
        summary.textContent = `${start.schema}, seed ${start.seed}: ${start.counted} of ${start.pairs.length} pairs counted (the model answers both prompts right, unpatched); unpatched accuracy: original ${pct(start.accuracy.original)}, counterfactual ${pct(start.accuracy.counterfactual)}`;
        if (start.counted === 0) {
          summary.textContent +=
            ". No pair counts: this model does not answer these prompts, so no mechanism can be seen.";
        }
      } else if (start) {
        rows.push(chunk.layer);
        chunk.patched.forEach((p, i) => {
          start?.pairs[i]?.patched.push(p);
        });
        context.status(`computing: ${rows.length} of ${start.layers.length} layers`);
      }
      if (start) draw();
    })) as BindingResultBody | undefined;
    const s = start;
    if (!s) return;
    context.setExports({
      figure: () => svg,
      json: result ?? { ...s, layers: rows },
      csv: () => [
        ["site", "layer", ...BINDING_OUTCOMES, "carrier", "w_pos", "sigma", "w_lex", "w_ref", "w_orig", "js_distance"],
        ...rows.map((r) => {
          const p = r.fit?.params;
          return [
            s.site,
            r.layer,
            ...BINDING_OUTCOMES.map((o) => r.fractions[o]),
            r.carrier,
            p?.positionalWeight ?? "",
            p?.sigma ?? "",
            p?.lexicalWeight ?? "",
            p?.reflexiveWeight ?? "",
            p?.originalWeight ?? "",
            r.fit?.jsDistance ?? "",
          ];
        }),
      ],
    });
  },
};

function fitTable(s: BindingStart, rows: readonly BindingLayerResult[]): HTMLElement {
  const table = element("table", { class: "fits", "data-testid": "binding-fits" });
  const head = element("tr");
  for (const h of ["causal model", "w_pos", "sigma", "w_lex", "w_ref", "w_orig", "JS distance", "carrier"]) {
    head.append(element("th", {}, h));
  }
  table.append(head);
  for (const r of rows) {
    const tr = element("tr", { "data-layer": String(r.layer) });
    const p = r.fit?.params;
    const cells = p
      ? [p.positionalWeight, p.sigma, p.lexicalWeight, p.reflexiveWeight, p.originalWeight].map((x) => x.toFixed(2))
      : ["-", "-", "-", "-", "-"];
    tr.append(element("td", {}, `${s.site}.${r.layer}`));
    for (const c of cells) tr.append(element("td", {}, c));
    tr.append(element("td", {}, r.fit ? r.fit.jsDistance.toFixed(3) : "-"));
    // With no pair counted every fraction is 0: no outcome carries anything.
    tr.append(element("td", {}, s.counted > 0 ? OUTCOME_STYLE[r.carrier].label : "-"));
    table.append(tr);
  }
  return table;
}

function pairTable(s: BindingStart, rows: readonly BindingLayerResult[]): HTMLElement {
  const details = element("details", { class: "pair-list" });
  details.append(element("summary", {}, `The ${s.pairs.length} prompt pairs`));
  const table = element("table", { class: "pairs-table", "data-testid": "binding-pairs" });
  const head = element("tr");
  for (const h of ["#", "clean", "answer", "counterfactual", "positional", "lexical", "reflexive", "counted"]) {
    head.append(element("th", {}, h));
  }
  for (const r of rows) head.append(element("th", {}, `${s.site}.${r.layer}`));
  table.append(head);
  s.pairs.forEach((pair, i) => {
    const tr = element("tr", { class: pair.counted ? "counted" : "not-counted" });
    for (const text of [
      String(i),
      pair.original.text,
      pair.original.answer,
      pair.counterfactual.text,
      pair.predictions.positional,
      pair.predictions.lexical,
      pair.predictions.reflexive,
      pair.counted ? "yes" : "no",
    ]) {
      tr.append(element("td", {}, text));
    }
    for (const p of pair.patched) {
      tr.append(
        element("td", { title: `${(p.topProb * 100).toFixed(1)}%` }, `${p.top} (${OUTCOME_STYLE[p.outcome].label})`),
      );
    }
    table.append(tr);
  });
  details.append(table);
  return details;
}
