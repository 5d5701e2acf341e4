import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { StreamingDetokenizer } from "../../src/load/detokenizer.ts";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { askOracle, mixedTexts, tokenizerFolders } from "./tokenizer-fixtures.ts";

const names = Object.keys(tokenizerFolders);
const tokenizers: Record<string, Tokenizer> = {};
const REPLACEMENT = "\uFFFD";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Text a model might generate: multi-byte characters that byte-level BPE and byte fallback split
// over several tokens (rare CJK, astral-plane symbols, emoji with modifiers and joiners).
const streamTexts = [
  ...mixedTexts,
  "Rare: 𝄞 𠜎 𪚥 龘 ꙮ 𓀀 — and 🫠🫶🏻 then 👩🏽‍🚀.",
  "Ünïcödé everywhere: ß ẞ ŉ ǅ ﬁ Å Ω ℃ ½ ① ㈱ ｶﾀｶﾅ",
];

function stream(tokenizer: Tokenizer, ids: number[], options = {}): string[] {
  const detokenizer = new StreamingDetokenizer(tokenizer, options);
  const pieces = ids.map((id) => detokenizer.add(id));
  pieces.push(detokenizer.finalize());
  assert.deepEqual(detokenizer.tokens, ids);
  assert.equal(detokenizer.text, pieces.join(""));
  return pieces;
}

// The sequences as a model would produce them: with special tokens, and a chat turn where there is a template.
function sequences(tokenizer: Tokenizer): number[][] {
  const seqs = streamTexts.map((text) => tokenizer.encode(text));
  if (tokenizer.hasChatTemplate) {
    const prompt = tokenizer.encodeChat([{ role: "user", content: "Say 你好 🌍" }], { addGenerationPrompt: true });
    seqs.push([...prompt, ...tokenizer.encode("你好 🌍!", { addSpecialTokens: false }), ...tokenizer.eosTokenIds]);
  }
  return seqs;
}

const mlxTexts: Record<string, string[]> = {};

before(async () => {
  for (const name of names) tokenizers[name] = Tokenizer.fromFolder(tokenizerFolders[name] as string);
  const answers = await askOracle<string[]>(
    names.map((name) => ({
      op: "detokenize",
      dir: tokenizerFolders[name],
      sequences: sequences(tokenizers[name] as Tokenizer),
    })),
  );
  names.forEach((name, i) => {
    mlxTexts[name] = answers[i] as string[];
  });
});

describe("streaming detokenizer", () => {
  for (const name of names) {
    test(`${name}: pieces join to the full decode; no piece breaks a character`, () => {
      const tokenizer = tokenizers[name] as Tokenizer;
      let held = 0;
      for (const ids of sequences(tokenizer)) {
        const full = tokenizer.decode(ids);
        const pieces = stream(tokenizer, ids);
        assert.equal(pieces.join(""), full, JSON.stringify(full));
        for (const piece of pieces) {
          assert.ok(!LONE_SURROGATE.test(piece), `a piece splits a surrogate pair: ${JSON.stringify(piece)}`);
          if (!full.includes(REPLACEMENT)) assert.ok(!piece.includes(REPLACEMENT), JSON.stringify(piece));
        }
        held += pieces.filter((p) => p === "").length;
        // The text arrives with the tokens: finalize has at most the last token's text left.
        const last = tokenizer.decode(ids.slice(-1));
        assert.ok(
          (pieces.at(-1) as string).length <= Math.max(last.length, 1),
          `held to the end: ${JSON.stringify(full)}`,
        );
        assert.deepEqual(
          stream(tokenizer, ids, { skipSpecialTokens: true }).join(""),
          tokenizer.decode(ids, { skipSpecialTokens: true }),
        );
      }
      assert.ok(held > 0, "some token ended inside a character and was held back");
    });

    test(`${name}: the same text as mlx-lm's streaming detokenizer, but for its trimmed leading space`, () => {
      const tokenizer = tokenizers[name] as Tokenizer;
      sequences(tokenizer).forEach((ids, i) => {
        const ours = stream(tokenizer, ids).join("");
        const theirs = (mlxTexts[name] as string[])[i] as string;
        // mlx-lm's BPE and SentencePiece detokenizers drop one space at the very start of the stream.
        assert.ok(
          ours === theirs || ours === ` ${theirs}`,
          `${JSON.stringify(ours)} vs mlx-lm ${JSON.stringify(theirs)}`,
        );
      });
    });
  }

  test("a character split over byte tokens comes out whole, once complete", () => {
    for (const name of names) {
      const tokenizer = tokenizers[name] as Tokenizer;
      const ids = tokenizer.encode("𓀀", { addSpecialTokens: false });
      assert.ok(ids.length > 1, `${name} splits 𓀀 over ${ids.length} tokens`);
      const pieces = stream(tokenizer, ids);
      assert.deepEqual(pieces.slice(0, ids.length - 1), Array(ids.length - 1).fill(""), name);
      assert.equal(pieces.join("").trim(), "𓀀", name);
    }
    // SentencePiece byte fallback: the character is <0xF0><0x93><0x80><0x80>.
    for (const name of ["llama2", "gemma3"]) {
      const tokenizer = tokenizers[name] as Tokenizer;
      const tokens = tokenizer.encode("𓀀", { addSpecialTokens: false }).map((id) => tokenizer.idToToken(id));
      assert.ok(tokens.includes("<0xF0>"), tokens.join(" "));
    }
  });

  test("finalize flushes an incomplete character as decode shows it; reset starts over", () => {
    const tokenizer = tokenizers.gpt2 as Tokenizer;
    const ids = tokenizer.encode("ok 𝄞", { addSpecialTokens: false });
    const cut = ids.slice(0, -1);
    const detokenizer = new StreamingDetokenizer(tokenizer);
    const pieces = cut.map((id) => detokenizer.add(id));
    assert.ok(pieces.join("").startsWith("ok") && !pieces.join("").includes(REPLACEMENT));
    const rest = detokenizer.finalize();
    assert.equal(pieces.join("") + rest, tokenizer.decode(cut));
    assert.ok(rest.includes(REPLACEMENT));
    assert.equal(detokenizer.finalize(), "");
    detokenizer.reset();
    assert.deepEqual(detokenizer.tokens, []);
    assert.equal(detokenizer.text, "");
    assert.equal(ids.map((id) => detokenizer.add(id)).join("") + detokenizer.finalize(), "ok 𝄞");
  });

  test("ids that are not token ids are refused; the stream goes on", () => {
    const detokenizer = new StreamingDetokenizer(tokenizers.gpt2 as Tokenizer);
    assert.throws(() => detokenizer.add(-1), /a token id is a non-negative integer, not -1/);
    assert.throws(() => detokenizer.add(2.5), /not 2.5/);
    assert.equal(detokenizer.add(15496), "Hello");
  });
});
