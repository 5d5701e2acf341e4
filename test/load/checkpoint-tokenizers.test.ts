// The tokenizers of the tiny test checkpoints (tools/checkpoints: every family, real and reduced
// vocabularies, with their config.json), against Python tokenizers and mlx-lm.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { StreamingDetokenizer } from "../../src/load/detokenizer.ts";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { askOracle, mixedTexts } from "./tokenizer-fixtures.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const checkpoints = process.env.MLUX_CHECKPOINTS_DIR ?? join(root, ".checkpoints");
if (!existsSync(join(checkpoints, "manifest.json"))) {
  throw new Error(`no test checkpoints in ${checkpoints}; make them with node test/checkpoints/setup.mjs`);
}
const manifest = JSON.parse(readFileSync(join(checkpoints, "manifest.json"), "utf8")) as {
  checkpoints: Record<string, { variants: Record<string, { path: string }> }>;
};
const folders: Record<string, string> = {};
for (const [name, entry] of Object.entries(manifest.checkpoints)) {
  const variant = entry.variants.fp32 ?? Object.values(entry.variants)[0];
  if (variant) folders[name] = join(checkpoints, variant.path);
}
const names = Object.keys(folders);

interface Encoded {
  with: number[];
  without: number[];
  decoded: string;
}
interface MlxAnswer {
  eos_token_ids: number[];
  bos_token: string | null;
  eos_token: string | null;
  prompts: number[][];
}
interface ChatAnswer {
  mlx_text?: string;
  error?: string;
}

const conversation = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Bonjour, 你好 👋" },
  { role: "assistant", content: "Salut !" },
  { role: "user", content: "def f():\n\treturn 1" },
];

const tokenizers: Record<string, Tokenizer> = {};
const answers: Record<string, { encoded: Encoded[]; mlx: MlxAnswer; chat: ChatAnswer[] }> = {};

before(async () => {
  for (const name of names) tokenizers[name] = Tokenizer.fromFolder(folders[name] as string);
  const requests = names.flatMap((name) => {
    const dir = folders[name];
    const tokenizer = tokenizers[name] as Tokenizer;
    const prompts = ["Hello there", `${tokenizer.bosToken ?? ""}Hello there`];
    return [
      { op: "encode", dir, texts: mixedTexts },
      { op: "mlx", dir, prompts },
      { op: "chat", dir, cases: [{ messages: conversation, add_generation_prompt: true }] },
    ];
  });
  const results = await askOracle(requests);
  names.forEach((name, i) => {
    answers[name] = {
      encoded: results[3 * i] as Encoded[],
      mlx: results[3 * i + 1] as MlxAnswer,
      chat: results[3 * i + 2] as ChatAnswer[],
    };
  });
});

describe("tokenizers of the test checkpoints", () => {
  test("there are checkpoints to check", () => assert.ok(names.length >= 10, names.join(", ")));

  for (const name of names) {
    test(`${name}: ids, decodes, EOS ids, BOS handling, chat template and streaming as Python`, () => {
      const tokenizer = tokenizers[name] as Tokenizer;
      const { encoded, mlx, chat } = answers[name] as (typeof answers)[string];
      mixedTexts.forEach((text, i) => {
        const expected = encoded[i] as Encoded;
        assert.deepEqual(tokenizer.encode(text, { addSpecialTokens: false }), expected.without, JSON.stringify(text));
        assert.deepEqual(tokenizer.encode(text), expected.with, JSON.stringify(text));
        assert.equal(tokenizer.decode(expected.with), expected.decoded, JSON.stringify(text));
        const detokenizer = new StreamingDetokenizer(tokenizer);
        const streamed = expected.with.map((id) => detokenizer.add(id)).join("") + detokenizer.finalize();
        assert.equal(streamed, expected.decoded);
      });
      assert.deepEqual(
        [...tokenizer.eosTokenIds].sort((a, b) => a - b),
        mlx.eos_token_ids,
      );
      assert.equal(tokenizer.bosToken ?? null, mlx.bos_token);
      assert.equal(tokenizer.eosToken ?? null, mlx.eos_token);
      assert.deepEqual(tokenizer.encode("Hello there"), mlx.prompts[0]);
      assert.deepEqual(tokenizer.encode(`${tokenizer.bosToken ?? ""}Hello there`), mlx.prompts[1]);
      const answer = chat[0] as ChatAnswer;
      if (answer.error !== undefined) {
        assert.equal(tokenizer.hasChatTemplate, false, `Python: ${answer.error}`);
        assert.throws(() => tokenizer.applyChatTemplate(conversation), /has no chat template/);
      } else {
        assert.equal(tokenizer.applyChatTemplate(conversation, { addGenerationPrompt: true }), answer.mlx_text);
      }
    });
  }
});
