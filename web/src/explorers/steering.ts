// Contrastive steering: the mean difference of the residual stream between two prompt sets at one
// layer, added back while the prompt is generated at -alpha, 0 and +alpha; the three generations
// stream side by side as they are made.
import type {
  SteeredGeneration,
  SteeringChunk,
  SteeringFacts,
  SteeringRequest,
  SteeringResult,
} from "../../../src/server/protocol.ts";
import { textColumns } from "../charts/text-columns.ts";
import { type Explorer, element } from "../shell.ts";
import { CUSTOM, STEERING_PRESETS } from "./steering-presets.ts";

const FRAMES = ["#c0392b", "#8a8a8f", "#2a7c4f"]; // -alpha red, 0 grey, +alpha green
const [first] = STEERING_PRESETS as [(typeof STEERING_PRESETS)[number]];

const optionalNumber = (text: string | undefined) =>
  text === undefined || text.trim() === "" ? undefined : Number(text);

/** One prompt per line; blank lines are skipped. */
export const promptLines = (text: string | undefined) =>
  (text ?? "")
    .split("\n")
    .map((line) => line.replace(/\r$/, ""))
    .filter((line) => line.trim() !== "");

const signed = (alpha: number) => (alpha > 0 ? `+${alpha}` : String(alpha));

// The suggested alpha of the last run, offered as a button under the inputs (set by controls()).
let offerSuggested: ((alpha: number) => void) | undefined;

export const steeringExplorer: Explorer = {
  id: "steering",
  title: "Contrastive steering",
  blurb:
    "A steering vector is the mean residual stream of prompts that show a property minus that of prompts that do not, at one layer. Added back times alpha while the model generates, it pushes the text towards one set (+alpha, green) or the other (-alpha, red); the grey column is unsteered.",
  fields: [
    {
      name: "preset",
      label: "Prompt sets",
      kind: "select",
      initial: first.name,
      options: [...STEERING_PRESETS.map((p) => p.name), CUSTOM],
    },
    {
      name: "positives",
      label: "Positive prompts (one per line)",
      kind: "textarea",
      initial: first.positives.join("\n"),
    },
    {
      name: "negatives",
      label: "Negative prompts (one per line)",
      kind: "textarea",
      initial: first.negatives.join("\n"),
    },
    { name: "prompt", label: "Prompt to generate from", kind: "textarea", initial: first.prompt },
    {
      name: "layer",
      label: "Layer",
      kind: "number",
      initial: String(first.layer),
      min: 0,
      title: "empty: two thirds down (floor(2n/3))",
    },
    { name: "at", label: "Read at", kind: "select", initial: "last", options: ["last", "mean"] },
    {
      name: "alpha",
      label: "Alpha",
      kind: "number",
      initial: "",
      min: 0,
      step: 0.1,
      title: "empty: the suggested alpha",
    },
    {
      name: "positions",
      label: "Add at",
      kind: "select",
      initial: "all",
      options: ["all", "last", "generated"],
      title: "all positions, the prompt's last and every generated one, or generated tokens only",
    },
    { name: "maxTokens", label: "Max tokens", kind: "number", initial: "24", min: 1, max: 512 },
    { name: "temperature", label: "Temperature", kind: "number", initial: "0", min: 0, max: 10, step: 0.1 },
    { name: "seed", label: "Seed", kind: "number", initial: "", min: 0, title: "empty: 0 when sampling" },
  ],
  controls(inputs) {
    const box = element("div", { class: "controls" });
    const use = element("button", { type: "button", class: "use-suggested", disabled: "" }, "Use suggested alpha");
    box.append(use);
    offerSuggested = (alpha) => {
      use.disabled = false;
      use.textContent = `Use suggested alpha (${alpha})`;
      use.onclick = () => inputs.set("alpha", String(alpha));
    };
    // Choosing a preset fills the sets; editing a set makes them custom.
    let preset = inputs.get("preset");
    let applying = false;
    inputs.onChange(() => {
      if (applying) return;
      applying = true;
      try {
        const chosen = inputs.get("preset");
        const known = STEERING_PRESETS.find((p) => p.name === chosen);
        if (chosen !== preset) {
          preset = chosen;
          if (known) {
            inputs.set("positives", known.positives.join("\n"));
            inputs.set("negatives", known.negatives.join("\n"));
            inputs.set("prompt", known.prompt);
            inputs.set("layer", String(known.layer));
          }
        } else if (
          known &&
          (inputs.get("positives") !== known.positives.join("\n") ||
            inputs.get("negatives") !== known.negatives.join("\n"))
        ) {
          preset = CUSTOM;
          inputs.set("preset", CUSTOM);
        }
      } finally {
        applying = false;
      }
    });
    return box;
  },
  async run(values, context) {
    const request: SteeringRequest = {
      prompt: values.prompt ?? "",
      positives: promptLines(values.positives),
      negatives: promptLines(values.negatives),
      at: values.at as SteeringRequest["at"],
      positions: values.positions as SteeringRequest["positions"],
    };
    for (const name of ["layer", "alpha", "maxTokens", "temperature", "seed"] as const) {
      const value = optionalNumber(values[name]);
      if (value !== undefined) request[name] = value;
    }
    const stats = element("p", { class: "stats", "data-testid": "steering-vector" });
    const holder = element("div");
    context.figure.replaceChildren(stats, holder);
    let facts: SteeringFacts | undefined;
    const texts = ["", "", ""];
    const ended: (SteeredGeneration | undefined)[] = [];
    let svg: SVGSVGElement | undefined;
    const draw = () => {
      if (!facts) return;
      const f = facts;
      svg = textColumns(
        f.alphas.map((alpha, i) => {
          const done = ended[i];
          return {
            title: `alpha ${signed(alpha)}${done ? ` · ${done.generatedTokens} tokens (${done.finishReason})` : ""}`,
            lead: request.prompt,
            text: texts[i] ?? "",
            frame: FRAMES[i] ?? "#8a8a8f",
          };
        }),
      );
      holder.replaceChildren(svg);
    };
    const result = (await context.stream("steering", request, (data) => {
      const chunk = data as SteeringChunk;
      if ("vector" in chunk) {
        facts = chunk.vector;
        showFacts(stats, facts);
        offerSuggested?.(facts.suggestedAlpha);
      } else if ("text" in chunk) {
        texts[chunk.index] += chunk.text;
        context.status(`generating at alpha ${signed(facts?.alphas[chunk.index] ?? 0)}`);
      } else {
        ended[chunk.index] = chunk.done;
        texts[chunk.index] = chunk.done.text;
      }
      draw();
    })) as SteeringResult | undefined;
    if (!facts) return;
    const f = facts;
    context.setExports({
      figure: () => svg,
      json: result ?? { prompt: request.prompt, steering: f, generations: ended.filter((g) => g !== undefined) },
      csv: () => [
        ["alpha", "finish_reason", "generated_tokens", "text"],
        ...f.alphas.map((alpha, i) => [
          alpha,
          ended[i]?.finishReason ?? "stopped",
          ended[i]?.generatedTokens ?? "",
          texts[i] ?? "",
        ]),
      ],
    });
  },
};

function showFacts(stats: HTMLElement, f: SteeringFacts): void {
  const fact = (name: string, label: string, value: number | string) => {
    const span = element(
      "span",
      { "data-fact": name, "data-value": String(value) },
      `${label} ${typeof value === "number" ? value.toFixed(2) : value}`,
    );
    return span;
  };
  stats.replaceChildren(
    element(
      "span",
      {},
      `layer ${f.layer} ${f.site} (${f.at}), ${f.positives} positive and ${f.negatives} negative prompts · `,
    ),
    fact("norm", "|v|", f.norm),
    element("span", {}, " · "),
    fact("residualNorm", "mean residual norm", f.residualNorm),
    element("span", {}, " · "),
    element(
      "span",
      { "data-fact": "suggestedAlpha", "data-value": String(f.suggestedAlpha) },
      `suggested alpha ${f.suggestedAlpha}`,
    ),
    element("span", {}, ` (alpha·|v| = ${f.suggestedShare} of the residual norm) · added at ${f.positions} positions`),
  );
}
