// The logit lens explorer: the library's logitLens on one prompt, as JSON.
import { logitLens } from "../../experiments/logit-lens.ts";
import type { LensRequest } from "../protocol.ts";
import type { Job } from "./job.ts";

export const lensJob: Job<LensRequest> = async (hm, request) =>
  logitLens(hm, request.prompt, {
    ...(request.probes === undefined ? {} : { probes: request.probes }),
    k: request.k ?? 5,
  }).toJSON();
