// The logit lens explorer: the library's logitLens on one prompt, as JSON; it stops after the
// forward pass or any probe's grid.
import { logitLens } from "../../experiments/logit-lens.ts";
import type { LensRequest } from "../protocol.ts";
import { type Job, steps } from "./job.ts";

export const lensJob: Job<LensRequest> = async (hm, request, io) =>
  logitLens(hm, request.prompt, {
    ...(request.probes === undefined ? {} : { probes: request.probes }),
    k: request.k ?? 5,
    ...steps(io),
  }).toJSON();
