// Text generation end to end on the bundled model: the same text as mlx_lm.generate, greedy and
// seeded sampling; stop strings; pieces that join to the whole.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadModel, mx } from "mlux";
import { type GenerationStats, type StreamOptions, streamGenerate } from "../../src/generate/stream.ts";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { askOracle, repoRoot as root } from "../oracle/python.ts";

const modelDir = join(root, "fixtures", "tiny-lm-f16");

async function mlxLmGenerate(prompt: string, maxTokens: number, temp: number, seed: number): Promise<string> {
  const [text] = await askOracle<string>("generation", [
    { op: "text", dir: modelDir, prompt, max_tokens: maxTokens, temp, seed },
  ]);
  return text as string;
}

// mlx-lm's streaming detokenizers drop the space the first generated token starts with; ours keeps
// it (the pieces join to decode(generated ids), so prompt + pieces reads as the model wrote it).
function assertSameText(ours: string, mlxLm: string): void {
  assert.equal(ours.startsWith(" ") && !mlxLm.startsWith(" ") ? ours.slice(1) : ours, mlxLm);
}

async function collect(prompt: string, options: StreamOptions): Promise<{ pieces: string[]; stats: GenerationStats }> {
  const { model } = await loadModel(modelDir, { dtype: "native" });
  const tokenizer = Tokenizer.fromFolder(modelDir);
  const stream = streamGenerate(model, tokenizer, prompt, options);
  const pieces: string[] = [];
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      model.dispose();
      return { pieces, stats: next.value };
    }
    pieces.push(next.value.text);
  }
}

describe("streamGenerate on the bundled model", () => {
  const prompt = "And the LORD said unto Moses,";

  test("greedy text equals mlx_lm.generate's", async () => {
    const { pieces, stats } = await collect(prompt, { maxTokens: 40 });
    assertSameText(pieces.join(""), await mlxLmGenerate(prompt, 40, 0, 0));
    assert.equal(stats.generatedTokens, 40);
    assert.equal(stats.finishReason, "length");
    assert.ok(stats.tokensPerSecond > 0);
  });

  test("seeded sampling equals mlx_lm.generate's with the same seed", async () => {
    mx.random.seed(11);
    const { pieces } = await collect(prompt, { maxTokens: 30, temperature: 0.9 });
    assertSameText(pieces.join(""), await mlxLmGenerate(prompt, 30, 0.9, 11));
  });

  test("a stop string ends generation before it", async () => {
    const full = (await collect(prompt, { maxTokens: 40 })).pieces.join("");
    const stop = full.slice(10, 14);
    const { pieces, stats } = await collect(prompt, { maxTokens: 40, stop: [stop] });
    assert.equal(stats.finishReason, "stop");
    assert.equal(pieces.join(""), full.slice(0, full.indexOf(stop)));
  });
});
