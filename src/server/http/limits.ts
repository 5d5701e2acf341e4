// The checks a request passes before it is queued, beyond its schema: prompt lengths in tokens,
// generated tokens, sweep sizes, positions inside their prompts. Each failure says the limit.
import { answerTokenIds, BOX_SCHEMA, checkSchema } from "../../experiments/binding/schema.ts";
import type { Tokenizer } from "../../load/tokenizer.ts";
import type { Limits, ModelInfo, RunKind, RunRequests } from "../protocol.ts";

export class LimitError extends Error {}

export function checkRun<K extends RunKind>(
  kind: K,
  body: RunRequests[K],
  model: ModelInfo,
  tokenizer: Tokenizer,
  limits: Limits,
): void {
  const count = (text: string, what: string, limit: number = limits.promptTokens) => {
    const n = tokenizer.encode(text).length;
    if (n > limit) throw new LimitError(`${what} is ${n} tokens, over the limit of ${limit} tokens for ${kind}`);
    return n;
  };
  const sweep = (rows: number, columns: number, what: string) => {
    if (rows * columns > limits.sweepCells) {
      throw new LimitError(
        `${what} would be ${rows} x ${columns} = ${rows * columns} cells, over the limit of ${limits.sweepCells} cells; use a shorter prompt`,
      );
    }
  };
  switch (kind) {
    case "lens":
      count((body as RunRequests["lens"]).prompt, "prompt");
      return;
    case "generate": {
      const request = body as RunRequests["generate"];
      count(request.prompt, "prompt");
      const max = request.maxTokens ?? 64;
      if (max > limits.generatedTokens) {
        throw new LimitError(`maxTokens ${max} is over the limit of ${limits.generatedTokens} generated tokens`);
      }
      if (request.topK !== undefined && request.topK >= model.vocabSize) {
        throw new LimitError(`topK ${request.topK} must be below the vocabulary size (${model.vocabSize})`);
      }
      return;
    }
    case "attention":
      count((body as RunRequests["attention"]).prompt, "prompt", limits.patternTokens);
      return;
    case "heads": {
      const request = body as RunRequests["heads"];
      const tokens = (request.batch ?? 8) * (1 + 2 * (request.repeatLength ?? 20));
      if (tokens > limits.detectorTokens) {
        throw new LimitError(
          `batch x (1 + 2 x repeatLength) is ${tokens} tokens, over the limit of ${limits.detectorTokens} tokens per head-detector run`,
        );
      }
      return;
    }
    case "patch-layers": {
      const request = body as RunRequests["patch-layers"];
      const source = count(request.source, "source", limits.patternTokens);
      const target = count(request.target, "target", limits.patternTokens);
      if (request.sourcePosition >= source) {
        throw new LimitError(
          `sourcePosition ${request.sourcePosition} is past the source's last token (${source - 1})`,
        );
      }
      if (request.targetPosition >= target) {
        throw new LimitError(
          `targetPosition ${request.targetPosition} is past the target's last token (${target - 1})`,
        );
      }
      return;
    }
    case "patch-sweep": {
      const request = body as RunRequests["patch-sweep"];
      const clean = count(request.clean, "clean", limits.patternTokens);
      const corrupted = count(request.corrupted, "corrupted", limits.patternTokens);
      if (clean !== corrupted) {
        throw new LimitError(
          `clean is ${clean} tokens and corrupted ${corrupted}: patching pairs positions, so give prompts of the same length in tokens`,
        );
      }
      sweep(model.layers, request.site === "z" ? model.heads : clean, "the sweep");
      return;
    }
    case "steering": {
      const request = body as RunRequests["steering"];
      count(request.prompt, "prompt");
      for (const set of ["positives", "negatives"] as const) {
        const prompts = request[set];
        if (prompts.length > limits.steeringPrompts) {
          throw new LimitError(
            `${set} has ${prompts.length} prompts, over the limit of ${limits.steeringPrompts} prompts per set`,
          );
        }
        prompts.forEach((p, i) => {
          count(p, `${set}[${i}]`);
        });
      }
      if (request.layer !== undefined && request.layer >= model.layers) {
        throw new LimitError(`layer ${request.layer} is past the model's last layer: give 0 to ${model.layers - 1}`);
      }
      const max = request.maxTokens ?? 40;
      if (max > limits.generatedTokens) {
        throw new LimitError(`maxTokens ${max} is over the limit of ${limits.generatedTokens} generated tokens`);
      }
      return;
    }
    case "binding": {
      const request = body as RunRequests["binding"];
      const pairs = request.pairs ?? 64;
      if (pairs > limits.bindingPairs) {
        throw new LimitError(`pairs ${pairs} is over the limit of ${limits.bindingPairs} prompt pairs per run`);
      }
      const past = request.layers?.find((layer) => layer >= model.layers);
      if (past !== undefined) {
        throw new LimitError(`layers: ${past} is past the model's last layer: give layers 0 to ${model.layers - 1}`);
      }
      // The schema's wording must suit this model's tokenizer (each answer one token): said now,
      // rather than after the model has started.
      try {
        const schema = checkSchema(request.schema ?? BOX_SCHEMA, Math.max(...(request.groups ?? [4, 5])));
        answerTokenIds(schema, tokenizer);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new LimitError(
          request.schema === undefined
            ? `${reason}: the default schema is the wording of the entity-binding fixture (fixtures/entity-binding); load that model, or give a schema in this model's wording`
            : `schema: ${reason}`,
        );
      }
      return;
    }
    case "ablation": {
      const request = body as RunRequests["ablation"];
      const n = count(request.prompt, "prompt");
      sweep(model.layers, request.site === "z" ? model.heads : n, "the ablation");
      return;
    }
  }
}
