// The attention explorer: every attention layer's pattern on one prompt, from the model's own
// attention (getAttentionPatterns: RoPE, q/k norms, scales and windows as the model computes them).
import type { AttentionRequest, AttentionResult } from "../protocol.ts";
import type { Job } from "./job.ts";

export const attentionJob: Job<AttentionRequest> = async (hm, request) => {
  const tokens = hm.toStrTokens(request.prompt);
  const patterns = hm.getAttentionPatterns(request.prompt);
  const result: AttentionResult = { tokens, layers: [], patterns: [] };
  for (const [layer, pattern] of patterns) {
    result.layers.push(layer);
    result.patterns.push((pattern.tolist() as number[][][][])[0] as number[][][]);
    pattern.dispose();
  }
  return result;
};
