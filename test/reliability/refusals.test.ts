// Inputs that were accepted without a word and gave wrong or meaningless results: token ids out of
// the vocabulary, bad prompts, config fields that change the math, vocabularies with huge ids.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { generateTokens, loadModel, mx } from "mlux";
import { configProblems } from "../../src/load/config-rules.ts";
import type { CausalLM } from "../../src/models/causal-lm.ts";
import { runIsolated } from "./isolated.ts";

const checkpoint = fileURLToPath(new URL("../../.checkpoints/llama/fp32", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "mlux-refusals-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the tiny llama checkpoint whose config.json has `changes` applied (undefined deletes). */
function mutatedCheckpoint(name: string, changes: Record<string, unknown>, raw?: string): string {
  const dir = join(scratch, name);
  cpSync(checkpoint, dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) delete config[field];
    else config[field] = value;
  }
  writeFileSync(join(dir, "config.json"), raw ?? JSON.stringify(config));
  return dir;
}

describe("token ids", () => {
  let model: CausalLM;
  before(async () => {
    model = (await loadModel(checkpoint)).model;
  });

  test("model.call refuses a negative id (it read the last row) and float ids", () => {
    assert.throws(() => model.call(mx.array([[1, -1]])), /token id -1 is negative/);
    assert.throws(() => model.call(mx.array([[1.5, 2]])), /token ids must be an integer Array, got float32/);
    assert.deepEqual(model.call(mx.array([[1, 2]])).shape.slice(0, 2), [1, 2]);
  });

  test("generateTokens refuses a bad prompt even when no token is asked for", () => {
    for (const maxTokens of [4, 0, -1]) {
      assert.throws(() => generateTokens(model, [-5], { maxTokens }), /prompt token 0 is -5/);
      assert.throws(() => generateTokens(model, [1, 2.5], { maxTokens }), /prompt token 1 is 2.5/);
      assert.throws(() => generateTokens(model, [1, Number.NaN], { maxTokens }), /prompt token 1 is NaN/);
    }
    assert.deepEqual(generateTokens(model, [1, 2], { maxTokens: 0 }), []);
  });

  test("a sampler that returns -1 is refused, not yielded", () => {
    const minusOne = (logprobs: mx.Array) => mx.subtract(mx.zeros([logprobs.shape[0] as number], "int32"), 1);
    assert.throws(
      () => generateTokens(model, [1, 2], { maxTokens: 3, sampler: minusOne }),
      /the sampler chose token -1/,
    );
    assert.equal(generateTokens(model, [1, 2], { maxTokens: 3 }).length, 3);
  });
});

describe("config.json fields that change the math are checked at load", () => {
  test("every shipped fixture and test checkpoint passes the rules", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const configs = readdirSync(root, { recursive: true, encoding: "utf8" }).filter(
      (f) => /^(fixtures|\.checkpoints)\//.test(f) && f.endsWith("config.json") && !f.endsWith("tokenizer_config.json"),
    );
    assert.ok(configs.length >= 3, `found only ${configs.length} configs`);
    for (const file of configs) {
      const config = JSON.parse(readFileSync(join(root, file), "utf8"));
      if (typeof config.model_type === "string") assert.deepEqual(configProblems(config), [], file);
    }
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["layers", { num_hidden_layers: 2 ** 31 }, /"num_hidden_layers" must be an integer from 1 to 4096, got 2147483648/],
    ["layers-fraction", { num_hidden_layers: 1.5 }, /"num_hidden_layers" must be an integer/],
    ["theta-negative", { rope_theta: -1 }, /"rope_theta" must be a finite number above 0, got -1/],
    ["theta-zero", { rope_theta: 0 }, /"rope_theta" must be a finite number above 0, got 0/],
    ["theta-string", { rope_theta: "10000" }, /"rope_theta" must be a finite number above 0, got "10000"/],
    ["eps", { rms_norm_eps: 0 }, /"rms_norm_eps" must be a finite number above 0, got 0/],
    ["eps-negative", { rms_norm_eps: -1e-5 }, /"rms_norm_eps" must be a finite number above 0/],
    ["positions", { max_position_embeddings: 0 }, /"max_position_embeddings" must be an integer from 1/],
    [
      "rope-factor",
      { rope_scaling: { rope_type: "linear", factor: 0 } },
      /"rope_scaling.factor" must be a finite number above 0, got 0/,
    ],
    ["rope-scaling-type", { rope_scaling: 3 }, /"rope_scaling" must be an object/],
    ["group", { quantization: { group_size: 0, bits: 4 } }, /"quantization.group_size" must be an integer from 1/],
    [
      "bits",
      { quantization: { group_size: 64, bits: 99 } },
      /"quantization.bits" must be an integer from 1 to 8, got 99/,
    ],
    ["heads", { num_attention_heads: -4 }, /"num_attention_heads" must be an integer from 1/],
    ["vocab", { vocab_size: 0 }, /"vocab_size" must be an integer from 1/],
    ["tie", { tie_word_embeddings: "yes" }, /"tie_word_embeddings" must be true or false/],
  ];
  for (const [name, changes, message] of cases) {
    test(`${Object.keys(changes)[0]}: ${JSON.stringify(Object.values(changes)[0])}`, async () => {
      await assert.rejects(loadModel(mutatedCheckpoint(name, changes)), message);
    });
  }

  test("Infinity (1e999 in JSON) is refused with the field's name", async () => {
    const dir = mutatedCheckpoint("head-dim-infinity", {});
    const text = readFileSync(join(dir, "config.json"), "utf8").replace(/"head_dim": *\d+/, '"head_dim": 1e999');
    writeFileSync(join(dir, "config.json"), text);
    await assert.rejects(loadModel(dir), /"head_dim" must be an integer from 1 to 1048576, got Infinity/);
  });

  test("every problem is listed at once, and a good config still loads", async () => {
    await assert.rejects(loadModel(mutatedCheckpoint("two", { rope_theta: -1, rms_norm_eps: 0 })), (error: Error) => {
      assert.match(error.message, /has bad fields:\n {2}"rope_theta".*\n {2}"rms_norm_eps"/);
      return true;
    });
    const { model } = await loadModel(mutatedCheckpoint("good", {}));
    assert.equal(model.call(mx.array([[1, 2]])).shape.length, 3);
  });
});

describe("tokenizer vocabularies", () => {
  test("an id of 1e9 is refused at load instead of hanging", () => {
    const dir = mutatedCheckpoint("tokenizer-huge-id", {});
    const tokenizer = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
    tokenizer.added_tokens[0].id = 1e9;
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer));
    // In a child process: were it to hang again, the timeout fails this test and nothing else.
    // HookedModel.fromPretrained loads it too (and goes on without a tokenizer when it fails).
    const outcome = runIsolated(
      `await mlux.HookedModel.fromPretrained(${JSON.stringify(dir)});
       const { Tokenizer } = await import("./src/load/tokenizer.ts");
       Tokenizer.fromFolder(${JSON.stringify(dir)});`,
      { timeoutMs: 60_000 },
    );
    assert.match(outcome.error ?? "", /has id 1000000000; ids must be integers from 0 to below/);
  });
});
