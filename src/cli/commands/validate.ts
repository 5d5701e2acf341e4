// `mlux validate MODEL`: does this checkpoint work in mlux? Five steps, each with a check that can
// fail: load it; summarise its config; the logit lens of a prompt's last token (whose last layer
// must agree with the model's own prediction); patching the last token's stream from a second
// prompt at every layer (whose last layer must give the second prompt's prediction); a short
// greedy generation. Exit 0 when all pass, 1 naming the first that failed.
import type { Command } from "commander";
import { logitLens } from "../../experiments/logit-lens.ts";
import { patchAcrossLayers } from "../../experiments/patching.ts";
import { streamGenerate } from "../../generate/stream.ts";
import { HookedModel } from "../../hooks/hooked-model.ts";
import { loadModel } from "../../models/load.ts";
import { integer } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { visibleToken } from "../output/heatmap.ts";
import { dtypeOption, type ModelOptions } from "./shared.ts";

interface ValidateOptions extends Omit<ModelOptions, "model">, OutputOptions {
  prompt: string;
  source: string;
  maxTokens: number;
}

export interface StepReport {
  step: string;
  ok: boolean;
  seconds?: number;
  detail?: string;
  error?: string;
}

const STEPS = ["load", "config", "lens", "patch", "generate"] as const;
/** A lens or patched prediction agrees when the expected token is among this many of its top tokens (rounding may swap near-ties). */
const AGREE_WITHIN = 3;

export function registerValidate(program: Command): void {
  const command = program
    .command("validate")
    .description("check that a checkpoint loads and runs: config, logit lens, patching, generation")
    .argument("<model>", "a checkpoint folder or a Hugging Face Hub id (OWNER/NAME)")
    .addOption(dtypeOption())
    .option("--prompt <text>", "the prompt the checks run on", "And the LORD said unto Moses,")
    .option("--source <text>", "the prompt patched in at the last token", "In the beginning God created")
    .option("--max-tokens <n>", "tokens the generation step makes (a whole number >= 1)", integer({ min: 1 }), 8);
  addOutputOptions(command).action(validate);
}

async function validate(model: string, options: ValidateOptions): Promise<void> {
  const steps: StepReport[] = [];
  let hm: HookedModel | undefined;
  let path = model;
  const checks: Record<(typeof STEPS)[number], () => Promise<string> | string> = {
    load: async () => {
      const loaded = await loadModel(model, { dtype: options.dtype });
      path = loaded.path;
      hm = HookedModel.fromLoaded(loaded);
      return `${hm.toString()} from ${path}`;
    },
    config: () => {
      const m = hm as HookedModel;
      const c = m.config;
      if (c.layers !== m.layers) throw new Error(`the config says ${c.layers} layers; the hooks find ${m.layers}`);
      if (c.heads % c.kvHeads !== 0)
        throw new Error(`${c.heads} heads do not share ${c.kvHeads} key/value heads evenly`);
      return m.describe();
    },
    lens: () => lensStep(hm as HookedModel, options.prompt),
    patch: () => patchStep(hm as HookedModel, options.prompt, options.source),
    generate: () => generateStep(hm as HookedModel, path, options.prompt, options.maxTokens),
  };
  let failed: StepReport | undefined;
  for (const step of STEPS) {
    if (failed) {
      steps.push({ step, ok: false, error: "skipped" });
      continue;
    }
    const started = performance.now();
    try {
      const detail = await checks[step]();
      steps.push({ step, ok: true, seconds: (performance.now() - started) / 1000, detail });
    } catch (error) {
      failed = { step, ok: false, seconds: (performance.now() - started) / 1000, error: (error as Error).message };
      steps.push(failed);
    }
  }
  emit(options, {
    json: () => ({ model, path, ok: failed === undefined, steps }),
    csv: () => ({
      header: ["step", "ok", "seconds", "detail", "error"],
      rows: steps.map((s) => [s.step, s.ok, s.seconds, s.detail, s.error]),
    }),
    text: (style) =>
      steps
        .map((s) => {
          const mark = s.ok ? style.chalk.green("✓") : s.error === "skipped" ? "-" : style.chalk.red("✗");
          const time = s.seconds === undefined ? "" : ` (${s.seconds.toFixed(2)} s)`;
          const body = (s.ok ? (s.detail ?? "") : (s.error ?? "")).replaceAll("\n", `\n${" ".repeat(12)}`);
          return `${mark} ${s.step.padEnd(9)} ${body}${s.ok ? time : ""}`;
        })
        .join("\n"),
  });
  hm?.model.dispose();
  if (failed) throw new Error(`validate: the ${failed.step} step failed: ${failed.error}`);
}

function lensStep(hm: HookedModel, prompt: string): string {
  const lens = logitLens(hm, prompt, { probes: ["resid"], k: AGREE_WITHIN });
  const grid = lens.grid("resid");
  const last = lens.tokenIds.length - 1;
  const row = grid.cells.map((cells) => cells[last]?.[0]);
  for (const [r, t] of row.entries()) {
    if (t === undefined || !(t.prob >= 0 && t.prob <= 1)) {
      throw new Error(`the lens at ${grid.rows[r]} gives ${JSON.stringify(t)}, not a probability`);
    }
  }
  const logits = hm.forward(lens.tokenIds);
  const own = hm.topTokens(logits)[last]?.[0];
  logits.dispose();
  const final = grid.cells[grid.cells.length - 1]?.[last] ?? [];
  if (own === undefined || !final.some((t) => t.id === own.id)) {
    throw new Error(
      `the lens's last layer predicts ${JSON.stringify(final.map((t) => t.token))}, but the model predicts ${JSON.stringify(own?.token)}`,
    );
  }
  const cells = row.map((t, r) => `${grid.rows[r]}: ${show(t?.token, t?.prob)}`);
  return `last token ${show(lens.tokens?.[last])} -> ${cells.join(" | ")}`;
}

function patchStep(hm: HookedModel, target: string, source: string): string {
  const sweep = patchAcrossLayers(hm, {
    source,
    target,
    sourcePosition: (hm.toTokens(source)[0] as number[]).length - 1,
    targetPosition: (hm.toTokens(target)[0] as number[]).length - 1,
    k: AGREE_WITHIN,
  });
  const logits = hm.forward(source);
  const sourceTop = hm.topTokens(logits).at(-1)?.[0];
  logits.dispose();
  const lastLayer = sweep.layers.at(-1);
  if (sourceTop === undefined || !lastLayer?.top.some((t) => t.id === sourceTop.id)) {
    throw new Error(
      `patching the last layer's stream from the source should give its prediction ${JSON.stringify(sourceTop?.token)}; got ${JSON.stringify(lastLayer?.top.map((t) => t.token))}`,
    );
  }
  const cells = sweep.layers.map((l) => `${l.layer}: ${show(l.top[0]?.token, l.top[0]?.prob)}`);
  return `unpatched ${show(sweep.baseline[0]?.token, sweep.baseline[0]?.prob)}; resid_post patched at the last token -> ${cells.join(" | ")}`;
}

async function generateStep(hm: HookedModel, path: string, prompt: string, maxTokens: number): Promise<string> {
  const tokenizer = hm.tokenizer;
  if (tokenizer === undefined) throw new Error(`${path} has no tokenizer to generate text with`);
  const stream = streamGenerate(hm.model, tokenizer, prompt, { maxTokens });
  let text = "";
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      if (next.value.generatedTokens < 1) throw new Error("no token was generated");
      return `${JSON.stringify(prompt + text)} (${next.value.generatedTokens} tokens, ${next.value.finishReason})`;
    }
    text += next.value.text;
  }
}

function show(token: string | undefined, prob?: number): string {
  const text = token === undefined ? "?" : visibleToken(token);
  return prob === undefined ? text : `${text} ${(prob * 100).toFixed(1)}%`;
}
