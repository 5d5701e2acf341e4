// A checkpoint's tokenizer: tokenizer.json run by the maintained @huggingface/tokenizers, with the
// special tokens, end-of-sequence ids and chat template that transformers and mlx-lm read around it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import {
  type ChatMessage,
  type ChatTemplateOptions,
  type ChatTemplates,
  readChatTemplates,
  renderChatTemplate,
  selectChatTemplate,
} from "./chat-template.ts";
import { readJsonObject } from "./config.ts";

export interface EncodeOptions {
  /**
   * Add the tokens the tokenizer's post-processor adds (BOS, ...). Default true, as in Python. A
   * text that already begins with the BOS token gets none added, so BOS is never doubled.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, chat markers). Default false, as in transformers. */
  skipSpecialTokens?: boolean;
}

/** Pairs of tokens that open and close a model's reasoning, as mlx-lm looks for them. */
const THINK_TOKENS: [string, string][] = [
  ["<think>", "</think>"],
  ["<longcat_think>", "</longcat_think>"],
  ["<|think:start|>", "<|think:end|>"],
];

/** The named special tokens transformers passes to chat templates, in its order. */
const NAMED_SPECIAL_TOKENS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
];

// A special token in tokenizer_config.json is a string or a serialized AddedToken {"content": ...}.
function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content;
  }
  return undefined;
}

// The special tokens as transformers 5 collects them: the named ones and any other "*_token" string
// of tokenizer_config.json, the named entries of "extra_special_tokens", and, for configs without
// "added_tokens_decoder", special_tokens_map.json on top.
function readSpecialTokens(dir: string, config: Record<string, unknown>): Record<string, string> {
  const tokens: Record<string, string> = {};
  const take = (source: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(source)) {
      if (!NAMED_SPECIAL_TOKENS.includes(key) && !key.endsWith("_token")) continue;
      const text = tokenText(value);
      if (text !== undefined) tokens[key] = text;
      else if (value === null && NAMED_SPECIAL_TOKENS.includes(key)) delete tokens[key];
    }
  };
  take(config);
  const extra = config.extra_special_tokens;
  if (typeof extra === "object" && extra !== null && !Array.isArray(extra)) take(extra as Record<string, unknown>);
  const mapFile = join(dir, "special_tokens_map.json");
  if (!("added_tokens_decoder" in config) && existsSync(mapFile)) take(readJsonObject(mapFile, "special tokens map"));
  return tokens;
}

function idList(value: unknown): number[] {
  if (typeof value === "number" && Number.isInteger(value)) return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === "number" && Number.isInteger(v));
  return [];
}

/** A tokenizer of a checkpoint folder, encoding and decoding exactly as the Python `tokenizers` package. */
export class Tokenizer {
  /** The folder the tokenizer was read from. */
  readonly folder: string;
  /** tokenizer_config.json as read ({} when the folder has none). */
  readonly config: Record<string, unknown>;
  /** The "decoder" section of tokenizer.json (null when it has none). */
  readonly decoderConfig: Record<string, unknown> | null;
  /** The named special tokens (bos_token, eos_token, ...), as chat templates see them. */
  readonly specialTokens: Readonly<Record<string, string>>;
  /** The chat templates of the checkpoint, if any. */
  readonly chatTemplates: ChatTemplates | undefined;
  /** The text that opens the model's reasoning ("<think>", ...), where the vocabulary has one. */
  readonly thinkStart: string | undefined;
  /** The text that closes the model's reasoning. */
  readonly thinkEnd: string | undefined;
  readonly #tokenizer: HfTokenizer;
  readonly #eosTokenIds: Set<number>;
  readonly #vocabSize: number;

  private constructor(
    folder: string,
    json: Record<string, unknown>,
    config: Record<string, unknown>,
    configEosIds: number[],
  ) {
    this.folder = folder;
    this.config = config;
    const decoder = json.decoder;
    this.decoderConfig = typeof decoder === "object" && decoder !== null ? (decoder as Record<string, unknown>) : null;
    requireCompactIds(json, folder);
    try {
      this.#tokenizer = new HfTokenizer(json, config);
    } catch (error) {
      throw new Error(`tokenizer.json in ${folder} could not be loaded: ${(error as Error).message}`);
    }
    this.specialTokens = readSpecialTokens(folder, config);
    this.chatTemplates = readChatTemplates(folder, config);
    const vocab = this.#tokenizer.get_vocab(true);
    this.#vocabSize = vocab.size;
    [this.thinkStart, this.thinkEnd] = inferThinking(vocab);
    // As mlx-lm's TokenizerWrapper: the model config's ids plus the tokenizer's own EOS token.
    this.#eosTokenIds = new Set(configEosIds);
    const eosId = this.eosToken === undefined ? undefined : this.tokenToId(this.eosToken);
    if (eosId !== undefined) this.#eosTokenIds.add(eosId);
  }

  /**
   * Reads tokenizer.json and tokenizer_config.json from `dir`, and the end-of-sequence ids as mlx-lm
   * does: "eos_token_id" (a number or a list) of config.json, replaced by generation_config.json's
   * when that file has one, plus the tokenizer's EOS token.
   */
  static fromFolder(dir: string): Tokenizer {
    const jsonPath = join(dir, "tokenizer.json");
    if (!existsSync(jsonPath)) {
      throw new Error(
        `no tokenizer.json in ${dir}; a checkpoint folder needs tokenizer.json (the Hugging Face tokenizers format)`,
      );
    }
    const json = readJsonObject(jsonPath, "tokenizer file");
    if (typeof json.model !== "object" || json.model === null) {
      throw new Error(`tokenizer file ${jsonPath} has no "model" object; is it a Hugging Face tokenizer.json?`);
    }
    const configPath = join(dir, "tokenizer_config.json");
    const config = existsSync(configPath) ? readJsonObject(configPath, "tokenizer config") : {};

    const modelConfigPath = join(dir, "config.json");
    let eos = existsSync(modelConfigPath) ? readJsonObject(modelConfigPath, "model config").eos_token_id : undefined;
    const generationPath = join(dir, "generation_config.json");
    if (existsSync(generationPath)) {
      let generation: unknown;
      try {
        generation = JSON.parse(readFileSync(generationPath, "utf8"));
      } catch {
        // mlx-lm reads past a broken generation_config.json too.
      }
      const fromGeneration = (generation as { eos_token_id?: unknown } | undefined)?.eos_token_id;
      if (isTruthy(fromGeneration)) eos = fromGeneration;
    }
    return new Tokenizer(dir, json, config, idList(eos));
  }

  /** The number of tokens, added tokens included (Python's len(tokenizer)). */
  get vocabSize(): number {
    return this.#vocabSize;
  }

  /** The BOS token's text, if the tokenizer has one. */
  get bosToken(): string | undefined {
    return this.specialTokens.bos_token;
  }

  /** The BOS token's id, if the tokenizer has one. */
  get bosTokenId(): number | undefined {
    return this.bosToken === undefined ? undefined : this.tokenToId(this.bosToken);
  }

  /** The EOS token's text, if the tokenizer has one. */
  get eosToken(): string | undefined {
    return this.specialTokens.eos_token;
  }

  /** Every id that ends generation (see fromFolder). */
  get eosTokenIds(): ReadonlySet<number> {
    return this.#eosTokenIds;
  }

  /** Adds an id, or a token given by its text, to the ids that end generation (mlx-lm's --extra-eos-token). */
  addEosToken(token: string | number): void {
    const id = typeof token === "number" ? token : this.tokenToId(token);
    if (id === undefined || !Number.isInteger(id) || id < 0 || id >= this.#vocabSize) {
      throw new Error(
        `${JSON.stringify(token)} is not a token of this tokenizer (its ids are 0..${this.#vocabSize - 1})`,
      );
    }
    this.#eosTokenIds.add(id);
  }

  /** The token ids of `text`; BOS is added at most once (see EncodeOptions). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error(`encode takes a string, not ${typeof text}`);
    let addSpecialTokens = options.addSpecialTokens ?? true;
    // As mlx-lm's generate: a prompt that already starts with BOS (a rendered chat template) gets
    // no special tokens added.
    if (addSpecialTokens && this.bosToken !== undefined && text.startsWith(this.bosToken)) addSpecialTokens = false;
    return this.#tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /**
   * The text of `ids`, as Python's tokenizers decodes it: ids that name no token are left out, and
   * no clean-up of spaces is done (transformers 5 does none for BPE tokenizers either).
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new Error(`decode takes an array of token ids, not ${typeof ids}`);
    const known: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id)) throw new Error(`decode takes integer token ids; got ${JSON.stringify(id)}`);
      if (id >= 0 && id < this.#vocabSize && this.#tokenizer.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return "";
    return this.#tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The id of a token given by its text (as in the vocabulary, e.g. "Ġthe"), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.#tokenizer.token_to_id(token);
  }

  /** The text of the token `id` (as in the vocabulary), or undefined. */
  idToToken(id: number): string | undefined {
    return this.#tokenizer.id_to_token(id);
  }

  /** Whether the checkpoint has a chat template. */
  get hasChatTemplate(): boolean {
    return this.chatTemplates !== undefined;
  }

  /** Whether the model reasons between thinking tokens (mlx-lm's has_thinking). */
  get hasThinking(): boolean {
    return this.thinkStart !== undefined;
  }

  /**
   * The conversation rendered by the checkpoint's chat template, as mlx-lm's TokenizerWrapper renders
   * it: transformers' apply_chat_template(tokenize=False) with enable_thinking set to hasThinking
   * unless `vars` sets it.
   */
  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    const kind = this.config.chat_template_type;
    if (typeof kind === "string") {
      throw new Error(
        `the tokenizer in ${this.folder} renders chats with mlx-lm's Python module chat_templates/${kind} ` +
          '("chat_template_type" in tokenizer_config.json), which mlux does not have',
      );
    }
    if (this.chatTemplates === undefined) {
      throw new Error(
        `the tokenizer in ${this.folder} has no chat template (none in tokenizer_config.json, ` +
          "chat_template.jinja or chat_template.json); encode plain text instead",
      );
    }
    const template = selectChatTemplate(this.chatTemplates, options);
    const vars = { enable_thinking: this.hasThinking, ...options.vars };
    return renderChatTemplate(template, messages, { ...options, vars }, this.specialTokens);
  }

  /** The token ids of the rendered conversation; the template supplies BOS, so none is added. */
  encodeChat(messages: ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }
}

// mlx-lm's rules: a pair of single thinking tokens, else Gemma's "<|channel>thought" ... "<channel|>",
// The tokenizer library builds tables as long as the largest id, so a vocabulary whose ids run far
// past its size (an id of 1e9 in a file of a few thousand tokens) would take it minutes or all the
// memory there is. Ids must be non-negative integers, and none may exceed the number of tokens by
// more than a generous margin for gaps.
function requireCompactIds(json: Record<string, unknown>, folder: string): void {
  const model = json.model as Record<string, unknown> | undefined;
  const vocab = model?.vocab;
  // A list vocabulary (Unigram) numbers its tokens by position; a map names each id.
  const entries: [string, unknown][] =
    typeof vocab === "object" && vocab !== null && !Array.isArray(vocab) ? Object.entries(vocab) : [];
  const listed = Array.isArray(vocab) ? vocab.length : 0;
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as { content?: unknown; id?: unknown }[]) : [];
  for (const t of added) entries.push([String(t?.content), t?.id]);
  const count = entries.length + listed;
  const limit = Math.max(2 * count, count + 65536);
  for (const [token, id] of entries) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new Error(
        `tokenizer.json in ${folder}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids must be integers ` +
          `from 0 to below ${limit} for a vocabulary of ${count} tokens`,
      );
    }
  }
}

// else the open/close/sep markup of some vocabularies.
function inferThinking(vocab: Map<string, number>): [string | undefined, string | undefined] {
  for (const [start, end] of THINK_TOKENS) if (vocab.has(start) && vocab.has(end)) return [start, end];
  if (vocab.has("<|channel>") && vocab.has("<channel|>")) return ["<|channel>thought", "<channel|>"];
  if (["<|open|>", "<|close|>", "<|sep|>", "<|end_of_msg|>"].every((t) => vocab.has(t))) {
    return ["<|open|>think<|sep|>", "<|close|>think<|sep|>"];
  }
  return [undefined, undefined];
}

// Python's truth test, which mlx-lm applies to generation_config.json's "eos_token_id".
function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}
