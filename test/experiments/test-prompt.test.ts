// testPrompt against the naive route: one forward pass per answer token over the prompt and the
// answer so far, the last position's logits sorted in JavaScript, the softmax in float64.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HookedModel, mx } from "mlux";
import { testPrompt } from "../../src/experiments/test-prompt.ts";
import { halfOnGpu } from "./half-on-gpu.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

// Per fixture: a prompt, an answer of two tokens, and how close the two routes must agree. The
// passes differ in length only; the models compute each position from the ones before it alone, but
// matrix products over more rows may round a row differently. float32 (attn-only-2l): seen 1.9e-6 on
// logits of ~11. 4-bit (tiny-lm-4bit, float16 logits): one float16 ulp at 8 to 16 is 2^-7 (seen: equal).
const CASES = [
  { name: "attn-only-2l", prompt: "dosi dola sida mire nopa nuku reno bete dosi dola", answer: "sida mire", tol: 1e-5 },
  {
    name: "tiny-lm-4bit",
    prompt: "In the beginning God created the heaven and the",
    answer: "earth and",
    tol: 2 ** -7,
  },
];

describe("testPrompt", () => {
  for (const { name, prompt, answer, tol } of CASES) {
    test(`${name}: ranks, probabilities and top tokens equal the naive per-token passes`, async () => {
      const hm = await HookedModel.fromPretrained(join(root, "fixtures", name), { dtype: "native" });
      const result = testPrompt(hm, prompt, answer, { k: 4 });
      const promptIds = hm.toTokens(prompt)[0] as number[];
      const answerIds = hm.tokenizer?.encode(` ${answer}`, { addSpecialTokens: false }) as number[];
      assert.equal(result.answers.length, answerIds.length);
      assert.equal(result.promptTokens.length, promptIds.length);
      for (const [i, id] of answerIds.entries()) {
        const context = [...promptIds, ...answerIds.slice(0, i)];
        const logits = mx.index(hm.forward([context]), 0, -1).tolist() as number[];
        const norm = Math.log(logits.reduce((s, v) => s + Math.exp(v), 0));
        const sorted = logits.map((logit, t) => ({ logit, t })).sort((a, b) => b.logit - a.logit || a.t - b.t);
        const got = result.answers[i];
        assert.ok(got !== undefined);
        assert.equal(got.id, id);
        assert.equal(got.rank, logits.filter((v) => v > (logits[id] as number)).length, `rank of answer ${i}`);
        assert.ok(Math.abs(got.logit - (logits[id] as number)) <= tol, `logit of answer ${i}`);
        assert.ok(Math.abs(got.prob - Math.exp((logits[id] as number) - norm)) <= tol, `prob of answer ${i}`);
        const expectedTop = sorted.slice(0, 4);
        if (halfOnGpu(hm)) {
          // float16 on a GPU rounds the two routes apart (half-on-gpu.ts): near ties may swap places,
          // so each token shown must have, in the naive pass, the logit of its rank there.
          got.top.forEach((t, j) => {
            const at = Math.abs((logits[t.id] as number) - (expectedTop[j]?.logit as number));
            assert.ok(at <= tol, `top token ${j} of answer ${i}`);
          });
        } else {
          assert.deepEqual(
            got.top.map((t) => t.id),
            expectedTop.map((s) => s.t),
            `top tokens of answer ${i}`,
          );
        }
      }
      hm.model.dispose();
    });
  }

  test("prints as TransformerLens does and serializes", async () => {
    const hm = await HookedModel.fromPretrained(join(root, "fixtures", "attn-only-2l"));
    const result = testPrompt(hm, "dosi dola sida mire dosi", "dola", { k: 2 });
    const text = result.toString().split("\n");
    assert.equal(text[0], "Tokenized prompt: ['<s>', 'dosi', 'dola', 'sida', 'mire', 'dosi']");
    assert.equal(text[1], "Tokenized answer: ['dola']");
    assert.equal(text[2], "Performance on answer token:");
    assert.match(text[3] as string, /^Rank: \d+ +Logit: -?\d+\.\d\d Prob: +\d+\.\d\d% Token: \|dola\|$/);
    assert.match(text[4] as string, /^Top 0th token\. Logit: /);
    assert.match(text.at(-1) as string, /^Ranks of the answer tokens: \[\('dola', \d+\)\]$/);
    const json = JSON.parse(JSON.stringify(result));
    assert.deepEqual(json.answerTokens, ["dola"]);
    assert.equal(json.answers[0].top.length, 2);
    assert.throws(() => testPrompt(hm, "dosi", ""), /the answer not empty/);
    assert.throws(() => testPrompt(hm, "dosi", "dola", { topK: 3 } as object), /unknown option "topK"/);
    hm.model.dispose();
  });
});
