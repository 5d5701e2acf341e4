// The attention explorer: every attention layer's pattern on one prompt, from the model's own
// attention (getAttentionPatterns: RoPE, q/k norms, scales and windows as the model computes them).
// The patterns come from one forward pass; reading them out is a step per layer, where it may stop.
import type { AttentionRequest, AttentionResult } from "../protocol.ts";
import { type Job, Stopped } from "./job.ts";

export const attentionJob: Job<AttentionRequest> = async (hm, request, io) => {
  const tokens = hm.toStrTokens(request.prompt);
  const patterns = hm.getAttentionPatterns(request.prompt);
  const result: AttentionResult = { tokens, layers: [], patterns: [] };
  try {
    for (const [layer, pattern] of patterns) {
      result.layers.push(layer);
      result.patterns.push((pattern.tolist() as number[][][][])[0] as number[][][]);
      pattern.dispose();
      io.step(result.layers.length, patterns.size);
      if (io.signal.aborted) throw new Stopped();
    }
  } finally {
    for (const pattern of patterns.values()) pattern.dispose();
  }
  return result;
};
