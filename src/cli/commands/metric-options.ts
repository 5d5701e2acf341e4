// The metric options patch and ablate share: --metric logit-diff (--answer, --wrong), prob
// (--token) or kl, checked for what each needs before the model loads, and their tokens checked
// against the model's tokenizer once it has loaded (a text that is not one token is a bad argument).
import { type Command, Option } from "commander";
import { type Metric, resolveMetric } from "../../experiments/metric.ts";
import type { HookedModel } from "../../hooks/hooked-model.ts";
import { UsageError } from "./shared.ts";

export type MetricName = "logit-diff" | "prob" | "kl";
const METRICS: readonly MetricName[] = ["logit-diff", "prob", "kl"];

export interface MetricOptions {
  metric?: MetricName;
  answer?: string;
  wrong?: string;
  token?: string;
}

export function addMetricOptions(command: Command, fallback: string): Command {
  return command
    .addOption(
      new Option(
        "--metric <metric>",
        `what is read at the last position: logit-diff (--answer minus --wrong), prob (of --token), or kl (from the reference run); default ${fallback}`,
      ).choices(METRICS),
    )
    .option("--answer <token>", "the right next token, for logit-diff (a text that is one token)")
    .option("--wrong <token>", "the wrong next token, for logit-diff")
    .option("--token <token>", "the token whose probability prob reads");
}

/**
 * The metric the options ask for (inferred from --answer/--wrong or --token when --metric is not
 * given), or undefined for the command's own default; a missing or stray token option is a UsageError.
 */
export function metricOf(options: MetricOptions): Metric | undefined {
  const name: MetricName | undefined =
    options.metric ??
    (options.answer !== undefined || options.wrong !== undefined
      ? "logit-diff"
      : options.token !== undefined
        ? "prob"
        : undefined);
  const stray = (names: (keyof MetricOptions)[]) => {
    const given = names.filter((n) => options[n] !== undefined);
    if (given.length) {
      throw new UsageError(`--${given.join(" and --")} does not go with --metric ${name}`);
    }
  };
  switch (name) {
    case undefined:
      return undefined;
    case "logit-diff":
      stray(["token"]);
      if (options.answer === undefined || options.wrong === undefined) {
        throw new UsageError("--metric logit-diff needs --answer and --wrong (one token each)");
      }
      return { kind: "logitDiff", answer: options.answer, wrong: options.wrong };
    case "prob":
      stray(["answer", "wrong"]);
      if (options.token === undefined) throw new UsageError("--metric prob needs --token (one token)");
      return { kind: "prob", token: options.token };
    case "kl":
      stray(["answer", "wrong", "token"]);
      return { kind: "kl" };
  }
}

/** Looks the metric's tokens up in the model's tokenizer: a text that is not one token is a bad argument. */
export function checkMetricTokens(hm: HookedModel, metric: Metric | undefined): void {
  if (metric === undefined) return;
  try {
    resolveMetric(hm, metric);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The metric in words, for titles. */
export function metricText(metric: Metric): string {
  switch (metric.kind) {
    case "logitDiff":
      return `logit(${JSON.stringify(metric.answer)}) - logit(${JSON.stringify(metric.wrong)})`;
    case "prob":
      return `p(${JSON.stringify(metric.token)})`;
    case "kl":
      return "KL divergence from the reference run";
  }
}
