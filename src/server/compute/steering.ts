// The steering explorer: the contrastive vector of two prompt sets, then the prompt generated at
// -alpha, 0 and +alpha under its hooks (the library's steeredGenerations, the runs compareSteering
// reads to the end), each piece sent as it comes and a stop looked for between pieces.
import { steeredGenerations, steeringVector } from "../../experiments/steering.ts";
import type { TextCompletion } from "../../hooks/generate-text.ts";
import type { SteeredGeneration, SteeringFacts, SteeringRequest, SteeringResult } from "../protocol.ts";
import { type Job, Stopped } from "./job.ts";

/** The layer steered when the request names none: two thirds down, as `mlux steer`. */
const defaultSteeringLayer = (layers: number) => Math.floor((2 * layers) / 3);

export const steeringJob: Job<SteeringRequest> = async (hm, request, io) => {
  const at = request.at ?? "last";
  const positions = request.positions ?? "all";
  const vector = steeringVector(hm, request.positives, request.negatives, {
    layer: request.layer ?? defaultSteeringLayer(hm.layers),
    at,
  });
  const alpha = request.alpha ?? vector.suggestedAlpha;
  const alphas = [-alpha, 0, alpha];
  const { vector: _direction, ...facts } = vector.toJSON();
  const steering: SteeringFacts = { ...facts, at, alphas, positions };
  io.send({ vector: steering });
  await io.pause();
  if (io.stopped) throw new Stopped();
  const runs = steeredGenerations(hm, request.prompt, vector, {
    alphas,
    positions,
    maxTokens: request.maxTokens ?? 40,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
  });
  const generations: SteeredGeneration[] = [];
  for (const [index, run] of runs.entries()) {
    // Leaving the loop (a stop) ends the generation and frees its cache.
    for await (const text of run.generation) {
      io.send({ index, text });
      if (io.stopped) throw new Stopped();
    }
    const done = run.generation.completion as TextCompletion;
    const generation: SteeredGeneration = {
      alpha: run.alpha,
      text: done.text,
      finishReason: done.finishReason,
      generatedTokens: done.generatedTokens,
    };
    generations.push(generation);
    io.send({ index, done: generation });
  }
  const result: SteeringResult = { prompt: request.prompt, steering, generations };
  return result;
};
