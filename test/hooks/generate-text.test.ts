// hm.generateText / hm.completeText: the text of mlx_lm.generate (greedy, on the bundled model and
// its 4-bit twin); ends at EOS and at stop strings (one split across tokens too); whole characters
// only on a byte-level BPE whose characters span tokens; hooks (the model's and the call's) change
// the text exactly as hm.generate's tokens; chat prompts; bad options refused before anything runs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import { askOracle, repoRoot } from "../oracle/python.ts";

const PROMPT = "And the LORD said unto Moses,";
const fixture = (name: string) => join(repoRoot, "fixtures", name);

async function mlxLmText(dir: string, prompt: string, maxTokens: number): Promise<string> {
  const [text] = await askOracle<string>("generation", [
    { op: "text", dir, prompt, max_tokens: maxTokens, temp: 0, seed: 0 },
  ]);
  return text as string;
}

// mlx-lm's streaming detokenizer drops the space the first generated token starts with; ours keeps
// it (the text is the decode of the generated ids).
function withoutFirstSpace(text: string): string {
  return text.startsWith(" ") ? text.slice(1) : text;
}

/**
 * Every step's choice forced from `script` (one id per generated token), as a logits processor; the
 * step the pipelined loop builds past the last token gets the first id again (it is never read).
 */
function forcing(script: readonly number[], promptLength: number) {
  return (tokens: number[], logits: mx.Array) => {
    const id = script[tokens.length - promptLength] ?? (script[0] as number);
    return mx.tidy(() => {
      const vocab = logits.shape.at(-1) as number;
      const onehot = mx.equal(mx.arange(vocab), id);
      return mx.astype(mx.reshape(mx.where(onehot, 0, -1e9), logits.shape), logits.dtype);
    });
  };
}

for (const name of ["tiny-lm-f16", "tiny-lm-4bit"]) {
  describe(`generateText on ${name}`, () => {
    let hm: HookedModel;
    before(async () => {
      hm = await HookedModel.fromPretrained(fixture(name), { dtype: "native" });
    });
    after(() => hm.model.dispose?.());

    test("greedy text equals mlx_lm.generate's, and the pieces join to it", async () => {
      const pieces = [...hm.generateText(PROMPT, { maxTokens: 40 })];
      const completion = hm.completeText(PROMPT, { maxTokens: 40 });
      assert.equal(pieces.join(""), completion.text);
      assert.equal(withoutFirstSpace(completion.text), await mlxLmText(fixture(name), PROMPT, 40));
      assert.equal(completion.finishReason, "length");
      assert.equal(completion.generatedTokens, 40);
      assert.deepEqual(completion.promptIds, hm.toTokens(PROMPT)[0]);
      assert.equal(completion.text, hm.toString(completion.tokenIds));
    });
  });
}

describe("generateText on the bundled model", () => {
  let hm: HookedModel;
  let full: ReturnType<HookedModel["completeText"]>;
  before(async () => {
    hm = await HookedModel.fromPretrained(fixture("tiny-lm-f16"));
    full = hm.completeText(PROMPT, { maxTokens: 40 });
  });
  after(() => hm.model.dispose?.());

  test("ends at an end-of-sequence token, which is not in the text", async () => {
    // Make the 6th generated token an end-of-sequence token of this tokenizer (as a config's
    // eos_token_id list would): the text ends before it.
    const other = await HookedModel.fromPretrained(fixture("tiny-lm-f16"));
    const eos = full.tokenIds[5] as number;
    assert.ok(!full.tokenIds.slice(0, 5).includes(eos), "the chosen token first occurs at step 6");
    other.tokenizer?.addEosToken(eos);
    const ended = other.completeText(PROMPT, { maxTokens: 40 });
    assert.equal(ended.finishReason, "eos");
    assert.deepEqual(ended.tokenIds, full.tokenIds.slice(0, 6));
    assert.equal(ended.text, hm.toString(full.tokenIds.slice(0, 5)));
    other.model.dispose?.();
  });

  test("ends at a stop string, also one split across two tokens, without giving it out", () => {
    const texts = full.tokenIds.map((id) => hm.toString([id]));
    // A stop string made of the end of token 7's text and the start of token 8's.
    const before = texts.slice(0, 8).join("");
    const stop = before.slice(-2) + (texts[8] as string).slice(0, 2);
    const at = full.text.indexOf(stop);
    assert.ok(at >= 0 && at <= before.length - 2, `"${stop}" spans tokens 7 and 8`);
    const pieces = [...hm.generateText(PROMPT, { maxTokens: 40, stop: ["never in this text", stop] })];
    assert.equal(pieces.join(""), full.text.slice(0, at));
    const completion = hm.completeText(PROMPT, { maxTokens: 40, stop });
    assert.equal(completion.finishReason, "stop");
    assert.equal(completion.text, full.text.slice(0, at));
    assert.ok(pieces.every((p) => !p.includes(stop)));
  });

  test("for await gives the same pieces; a generation is read once", async () => {
    const generation = hm.generateText(PROMPT, { maxTokens: 20 });
    const pieces: string[] = [];
    for await (const piece of generation) pieces.push(piece);
    assert.equal(pieces.join(""), generation.completion?.text);
    assert.equal(generation.completion?.text, hm.completeText(PROMPT, { maxTokens: 20 }).text);
    assert.throws(() => [...generation], /read once/);
  });

  test("nothing is left to dispose, also when the loop is left early or sampling with a seed", () => {
    const live = mx.liveArrays();
    hm.completeText(PROMPT, { maxTokens: 10 });
    for (const _ of hm.generateText(PROMPT, { maxTokens: 10 })) break;
    assert.equal(mx.liveArrays(), live);
    const a = hm.completeText(PROMPT, { maxTokens: 15, temperature: 1, seed: 4 });
    const b = hm.completeText(PROMPT, { maxTokens: 15, temperature: 1, seed: 4 });
    assert.equal(a.text, b.text, "a seed gives the same sampled text");
  });

  test("hooks change the text: the call's own (scoped to it) and the model's (addHook), as hm.generate's tokens", () => {
    const zero = (x: mx.Array) => mx.zerosLike(x);
    const ablated = hm.completeText(PROMPT, { maxTokens: 30, hooks: [["mlp_out.2", zero]] });
    assert.notEqual(ablated.text, full.text.slice(0, ablated.text.length), "ablating layer 2's MLP changes the text");
    // The same tokens as the hooked token generator, an independent path through the hooks.
    const tokens = [...hm.generate(PROMPT, { maxTokens: 30, hooks: [["mlp_out.2", zero]] })].map((s) => s.token);
    assert.deepEqual(ablated.tokenIds, tokens);
    // Scoped: the next generation is unhooked again.
    assert.equal(hm.completeText(PROMPT, { maxTokens: 40 }).text, full.text);
    const handle = hm.addHook("mlp_out.2", zero);
    try {
      assert.equal(hm.completeText(PROMPT, { maxTokens: 30 }).text, ablated.text);
    } finally {
      handle.remove();
    }
    // Inside withHooks, a synchronous read sees the scope's hooks too.
    const scoped = hm.withHooks({ hooks: [["mlp_out.2", zero]] }, () => [
      ...hm.generateText(PROMPT, { maxTokens: 30 }),
    ]);
    assert.equal(scoped.join(""), ablated.text);
  });

  test("hooks see the prompt as the run's tokens and each step's position past it", () => {
    const seen: [number, number][] = [];
    hm.completeText(PROMPT, {
      maxTokens: 3,
      preHooks: [
        [
          "resid_pre.0",
          (x, ctx) => {
            seen.push([ctx.tokens?.[0]?.length ?? -1, x.shape[1] as number]);
          },
        ],
      ],
    });
    const length = full.promptTokens;
    // Prefill of all but the last prompt token, the last one, then one pass per token after it
    // (the pipelined loop builds one step past the last token it gives).
    assert.deepEqual(seen, [
      [length, length - 1],
      [length, 1],
      [length, 1],
      [length, 1],
      [length, 1],
    ]);
  });

  test("bad options are refused before anything runs, naming the option and what it takes", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ maxTokens: -1 }, /maxTokens must be a whole number >= 0, got -1/],
      [{ maxTokens: 2.5 }, /maxTokens must be a whole number >= 0, got 2.5/],
      [{ topP: 1.5 }, /topP must be a number in \(0, 1\], got 1.5/],
      [{ topK: -3 }, /topK must be a whole number from 0 \(all tokens\) to 4095, got -3/],
      [{ topK: 4096 }, /topK must be a whole number from 0 \(all tokens\) to 4095/],
      [{ temperature: -0.5 }, /temperature must be a number >= 0/],
      [{ temperature: Number.NaN }, /temperature must be a number >= 0/],
      [{ repetitionPenalty: 0 }, /repetitionPenalty must be a number > 0/],
      [{ stop: "" }, /stop must be a non-empty string or a list of them/],
      [{ stop: [3] }, /stop must be a non-empty string or a list of them/],
      [{ seed: 1, key: mx.random.key(1) }, /give seed or key, not both/],
      [{ max_tokens: 5 }, /unknown option "max_tokens"; did you mean maxTokens\?/],
      [{ chat: "yes" }, /chat must be true or false/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => hm.generateText(PROMPT, options), message, JSON.stringify(options));
    }
    assert.throws(() => hm.generateText([5, 6], { chat: true }), /chat: true takes a text or messages/);
    assert.throws(() => hm.generateText([], {}), /not empty/);
    assert.throws(() => hm.generateText([5, 99999]), /whole numbers from 0 to 4095/);
    assert.throws(() => hm.generateText(PROMPT, { chat: true }), /has no chat template/);
  });
});

describe("generateText on a byte-level BPE whose characters span tokens (gpt2 checkpoint)", () => {
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(join(repoRoot, ".checkpoints", "gpt2", "fp32"));
  });
  after(() => hm.model.dispose?.());

  test("never gives out a piece with a broken character", () => {
    const tokenizer = hm.tokenizer as NonNullable<HookedModel["tokenizer"]>;
    const wanted = "naïve café – 😀 €";
    const script = tokenizer.encode(wanted, { addSpecialTokens: false });
    const halves = script.filter((id) => tokenizer.decode([id]).includes("\uFFFD"));
    assert.ok(halves.length >= 6, "the script has tokens that are parts of characters");
    const prompt = hm.toTokens("Hello")[0] as number[];
    const pieces = [
      ...hm.generateText(prompt, { maxTokens: script.length, logitsProcessors: [forcing(script, prompt.length)] }),
    ];
    assert.equal(pieces.join(""), wanted);
    for (const piece of pieces) {
      assert.ok(!piece.includes("\uFFFD"), `piece ${JSON.stringify(piece)} has a broken character`);
      assert.equal(piece, Buffer.from(piece, "utf8").toString("utf8"), "no lone surrogate");
    }
  });
});

describe("chat prompts (llama checkpoint, which has a chat template)", () => {
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(join(repoRoot, ".checkpoints", "llama", "fp32"));
  });
  after(() => hm.model.dispose?.());

  test("messages and chat: true render the template with the assistant's header", () => {
    const messages = [{ role: "user", content: "Name a colour." }];
    const expected = hm.tokenizer?.encodeChat(messages, { addGenerationPrompt: true });
    const fromMessages = hm.completeText(messages, { maxTokens: 4 });
    const fromText = hm.completeText("Name a colour.", { chat: true, maxTokens: 4 });
    assert.deepEqual(fromMessages.promptIds, expected);
    assert.deepEqual(fromText.promptIds, expected);
    assert.deepEqual(fromText.tokenIds, fromMessages.tokenIds);
    assert.notDeepEqual(fromMessages.promptIds, hm.toTokens("Name a colour.")[0]);
  });
});
