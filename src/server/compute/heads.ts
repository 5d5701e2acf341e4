// The head detectors explorer: the layer x head scores of each detector on repeated random tokens,
// and the best heads' patterns on the first of those sequences. The detector runs in chunks of
// sequences and stops between them.
import { detectHeads, repeatedRandomTokens } from "../../experiments/head-detectors.ts";
import type { HeadsRequest, HeadsResult } from "../protocol.ts";
import { type Job, steps } from "./job.ts";

export const headsJob: Job<HeadsRequest> = async (hm, request, io) => {
  const options = { batch: request.batch ?? 8, repeatLength: request.repeatLength ?? 20, seed: request.seed ?? 0 };
  const detected = detectHeads(hm, { ...options, ...steps(io) }).toJSON();
  const scores = detected.scores as Record<string, number[][]>;
  const top = request.top ?? 3;
  const best = Object.entries(scores).flatMap(([kind, rows]) =>
    rows
      .flatMap((row, i) => row.map((score, head) => ({ kind, layer: detected.layers[i] as number, head, score })))
      .sort((a, b) => b.score - a.score)
      .slice(0, top),
  );
  const example = (repeatedRandomTokens(hm, options)[0] as number[]).slice();
  const layers = [...new Set(best.map((h) => h.layer))];
  const patterns = hm.getAttentionPatterns([example], layers);
  const rows = new Map([...patterns].map(([layer, p]) => [layer, (p.tolist() as number[][][][])[0] as number[][][]]));
  for (const p of patterns.values()) p.dispose();
  const tokenizer = hm.tokenizer;
  const result: HeadsResult = {
    layers: detected.layers,
    scores,
    heads: detected.heads,
    threshold: detected.threshold,
    example: {
      tokens: example.map((id) => (tokenizer === undefined ? String(id) : tokenizer.decode([id]))),
      patterns: best.map(({ kind, layer, head }) => ({
        kind,
        layer,
        head,
        pattern: (rows.get(layer) as number[][][])[head] as number[][],
      })),
    },
  };
  return result;
};
