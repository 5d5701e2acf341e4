// The patching explorer: the single-cell view (one source position into one target position, at
// every layer: patchAcrossLayers) and the full layers x positions (or heads) sweep
// (activationPatching with a logit-difference metric). Both stop between batches of patched runs.
import { activationPatching, patchAcrossLayers } from "../../experiments/patching.ts";
import type { PatchLayersRequest, PatchSweepRequest } from "../protocol.ts";
import { type Job, steps } from "./job.ts";

export const patchLayersJob: Job<PatchLayersRequest> = async (hm, request, io) =>
  patchAcrossLayers(hm, {
    source: request.source,
    target: request.target,
    sourcePosition: request.sourcePosition,
    targetPosition: request.targetPosition,
    site: request.site ?? "resid_post",
    k: request.k ?? 3,
    // A layer per forward pass, so a stop is seen after each layer.
    batchSize: 1,
    ...steps(io),
  }).toJSON();

export const patchSweepJob: Job<PatchSweepRequest> = async (hm, request, io) =>
  activationPatching(hm, {
    clean: request.clean,
    corrupted: request.corrupted,
    site: request.site ?? "resid_post",
    metric: { kind: "logitDiff", answer: request.answer, wrong: request.wrong },
    ...steps(io),
  }).toJSON();
