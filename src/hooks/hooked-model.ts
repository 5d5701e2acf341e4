// HookedModel: a loaded model plus its tokenizer, with hooks on any module path or standard name,
// activation caching and the model's real attention patterns. The model's own forward pass runs
// unchanged; hooks see and change what flows through Module.call.
//
// Batches: prompts of different lengths run together, left-padded to the longest (see
// PaddedBatch). Every result is then [B, L, ...] with row b's prompt in its last lengths[b]
// positions, and those positions hold what the prompt alone gives: the models count RoPE and
// learned positions from each row's first real token and hide padded keys from every query. (In
// float32 up to rounding: a matrix product of more rows may round a row differently, as in any
// batch; where products compute each row alike, as the quantized ones do, bit for bit.)
import { type ModelReadout, modelReadout } from "../analysis/readout.ts";
import { type UnembedOptions, unembed } from "../analysis/unembed.ts";
import { type GeneratedToken, type GenerateStepOptions, generateStep } from "../generate/generate.ts";
import { Tokenizer } from "../load/tokenizer.ts";
import type { CausalLM, LayerCache } from "../models/causal-lm.ts";
import { type LoadedModel, type LoadOptions, loadModel } from "../models/load.ts";
import { freeWhenDropped, MxArray } from "../mx/array.ts";
import { isInteger } from "../mx/dtype.ts";
import * as mx from "../mx/index.ts";
import { checkOptionKeys, keysOf } from "../nn/option-keys.ts";
import { ActivationCache } from "./activation-cache.ts";
import {
  completeText,
  type GenerateTextOptions,
  generateText,
  type TextCompletion,
  type TextGeneration,
  type TextPrompt,
} from "./generate-text.ts";
import type { Hook, PreHook } from "./hook-types.ts";
import { describeConfig, type HookedModelConfig, type LoadedInfo, modelConfig, oneLine } from "./model-config.ts";
import { PaddedBatch } from "./padded-batch.ts";
import { inputLogProbs, inputLoss, type LossOptions, type NamedTopToken, namedTopTokens } from "./readout-calls.ts";
import { type HookHandle, HookRegistry, HookRun } from "./registry.ts";
import { type HookSelector, type SelectedTarget, TargetResolver } from "./select.ts";
import { StandardNames } from "./standard-names.ts";

/** Text, a batch of texts, token ids [L] or [B][L] (rows may differ in length), or an int Array [B, L]. */
export type ModelInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[] | MxArray;

export interface TokenOptions {
  /**
   * Prepend the tokenizer's BOS token (default: as the tokenizer's post-processor does, i.e. as
   * mlx-lm encodes). A text that already starts with BOS never gets a second one.
   */
  prependBos?: boolean;
}

export interface HookOptions extends TokenOptions {
  /** [selector, hook] pairs on outputs: every target the selector names gets the hook. */
  hooks?: readonly (readonly [HookSelector, Hook])[];
  /** [selector, pre-hook] pairs on inputs. */
  preHooks?: readonly (readonly [HookSelector, PreHook])[];
}

export interface CacheOptions extends HookOptions {
  /** What to record (default: every standard name of every layer, plus embed and ln_final). */
  names?: HookSelector | readonly HookSelector[];
}

export interface HookedGenerateOptions extends GenerateStepOptions, HookOptions {
  /** Record these activations at every step (prefill included); each step's cache goes with its token. */
  capture?: HookSelector | readonly HookSelector[];
}

export interface HookedToken extends GeneratedToken {
  /** The activations of the forward pass that produced this token, when `capture` was given. */
  cache?: ActivationCache;
}

// The keys each method reads (the compiler checks each list against its options type).
const TOKEN_KEYS = keysOf<TokenOptions>({ prependBos: true });
const HOOK_KEYS = keysOf<HookOptions>({ prependBos: true, hooks: true, preHooks: true });
const CACHE_KEYS = keysOf<CacheOptions>({ prependBos: true, hooks: true, preHooks: true, names: true });
const GENERATE_KEYS = keysOf<HookedGenerateOptions>({
  prependBos: true,
  hooks: true,
  preHooks: true,
  capture: true,
  maxTokens: true,
  sampler: true,
  logitsProcessors: true,
  prefillStepSize: true,
  cache: true,
});
const LOAD_KEYS = keysOf<LoadOptions>({
  dtype: true,
  dequantizeBudget: true,
  offline: true,
  revision: true,
  cacheDir: true,
  hubUrl: true,
  accessToken: true,
  onProgress: true,
  signal: true,
  timeoutMs: true,
});
// Options of one call that mean something on another.
const HINTS = {
  cache: "To record activations, call runWithCache(input, { names }).",
  names: "names selects what runWithCache records.",
  capture: "capture records activations during generate().",
};

export class HookedModel {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer | undefined;
  /** The model's layout in standard names (`resid_post.3` → `<blocks>.3`). */
  readonly names: StandardNames;
  /** The final norm and unembedding, for the caches' applyLn and logitAttrs. */
  readonly readout: ModelReadout;
  /** This HookedModel's own hooks (addHook ...): on in each of its runs, never in another's. */
  readonly #hooks = new HookRegistry();
  readonly #targets: TargetResolver;
  /** The checkpoint's config and what the loader did with its dtype (for a model from loadModel). */
  readonly #loaded: (LoadedInfo & { path: string }) | undefined;
  #config: HookedModelConfig | undefined;

  constructor(model: CausalLM, tokenizer?: Tokenizer, loaded?: LoadedInfo & { path: string }) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.#loaded = loaded;
    this.names = new StandardNames(model);
    this.readout = modelReadout(model);
    this.#targets = new TargetResolver(model, this.names);
    checkNoSharedModules(model);
  }

  /** Loads a checkpoint (a folder or a Hub repo id) and its tokenizer. */
  static async fromPretrained(pathOrRepoId: string, options: LoadOptions = {}): Promise<HookedModel> {
    checkOptionKeys(options, LOAD_KEYS, "HookedModel.fromPretrained");
    return HookedModel.fromLoaded(await loadModel(pathOrRepoId, options));
  }

  /** Wraps a model loadModel() returned, with the tokenizer of its folder when it has one. */
  static fromLoaded(loaded: LoadedModel): HookedModel {
    let tokenizer: Tokenizer | undefined;
    try {
      tokenizer = Tokenizer.fromFolder(loaded.path);
    } catch {
      tokenizer = undefined; // token ids still work; text input will say a tokenizer is needed
    }
    return new HookedModel(loaded.model, tokenizer, loaded);
  }

  // ---- what the model is ----

  /**
   * The model's sizes and kind, as it declares them: layers, heads, kv heads, head dim, widths,
   * vocabulary, soft-caps, each layer's attention window, the block path, the dtype it computes in
   * and the checkpoint's quantization.
   */
  get config(): HookedModelConfig {
    this.#config ??= modelConfig(this.model, this.#loaded);
    return this.#config;
  }

  /** Every field of `config` in words, with the compute dtype and why it was chosen. */
  describe(): string {
    const t = this.tokenizer;
    const bos = t?.bosTokenId === undefined ? "no BOS" : `BOS ${JSON.stringify(t.decode([t.bosTokenId]))}`;
    return describeConfig(this.config, {
      ...(this.#loaded ? { path: this.#loaded.path } : {}),
      tokenizer: t === undefined ? "none (token ids only)" : `${t.vocabSize} tokens, ${bos}`,
    });
  }

  /**
   * The hookable module paths and standard keys that match `pattern`: a glob (`*` one path
   * segment, `**` any number: `*.mlp`, `resid_post.*`) or a RegExp; standard keys first.
   */
  findHooks(pattern: string | RegExp): string[] {
    return this.#targets.find(pattern);
  }

  /** Every hookable path: modules and the hook points inside them (findHooks filters them). */
  paths(): string[] {
    return this.#targets.paths();
  }

  /** Every standard key this model has (`embed`, `resid_pre.0`, `pattern.0` ...). */
  standardKeys(): string[] {
    return this.names.keys();
  }

  get layers(): number {
    return this.names.layers;
  }

  // ---- tokens ----

  /** Token ids [B][L] of the input (texts are encoded; ids pass through). */
  toTokens(input: ModelInput, options: TokenOptions = {}): number[][] {
    checkOptionKeys(options, TOKEN_KEYS, "toTokens");
    if (input instanceof MxArray) {
      if (input.ndim !== 2) throw new Error(`token Arrays must be [batch, positions], got shape [${input.shape}]`);
      if (!isInteger(input.dtype)) {
        throw new TypeError(
          `token Arrays must have an integer dtype, got ${input.dtype}; cast whole-number ids with .astype("int32")`,
        );
      }
      return (input.tolist() as number[][]).map((ids, b) => this.#checkIds(ids, input.shape[0] === 1 ? undefined : b));
    }
    if (typeof input === "string") return [this.#encode(input, options)];
    if (!Array.isArray(input) || input.length === 0) {
      throw new Error("input must be a text, a list of texts, or token ids ([L] or [B][L]), and not empty");
    }
    if (input.every((x) => typeof x === "string")) return input.map((text) => this.#encode(text as string, options));
    if (input.every((x) => typeof x === "number")) return [this.#checkIds(input as number[])];
    if (input.every((x) => Array.isArray(x))) return (input as number[][]).map((ids, b) => this.#checkIds(ids, b));
    throw new Error("input must be a text, a list of texts, or token ids ([L] or [B][L]); this one mixes kinds");
  }

  /** Each token of one prompt as its own string (a batch is refused: call it per prompt). */
  toStrTokens(input: ModelInput, options: TokenOptions = {}): string[] {
    const tokenizer = this.#needTokenizer();
    const batch = this.toTokens(input, options);
    if (batch.length !== 1) {
      throw new Error(`toStrTokens takes one prompt, got a batch of ${batch.length}; call it for each prompt`);
    }
    return (batch[0] as number[]).map((id) => tokenizer.decode([id]));
  }

  /**
   * The text of token ids (each an integer from 0 to the vocabulary size - 1); without ids, the
   * model in one line: `HookedModel(gemma2, 26L/8H/256D, 4-bit/float16)` (layers, heads, head dim, weights).
   */
  toString(): string;
  toString(ids: readonly number[]): string;
  toString(ids?: readonly number[]): string {
    if (ids === undefined) return oneLine(this.config);
    const tokenizer = this.#needTokenizer();
    if (!Array.isArray(ids)) throw new TypeError(`toString takes a list of token ids, got ${typeof ids}`);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) {
        throw new RangeError(
          `token id ${JSON.stringify(id)} at position ${i} is not in the vocabulary (0 to ${tokenizer.vocabSize - 1})`,
        );
      }
    });
    return tokenizer.decode(ids);
  }

  /**
   * The position of `token` (a string that is one token, or an id) in the input; the first
   * occurrence unless `occurrence` says which (negative counts from the end).
   */
  tokenPosition(
    token: string | number,
    input: ModelInput,
    options: TokenOptions & { occurrence?: number } = {},
  ): number {
    checkOptionKeys(options, [...TOKEN_KEYS, "occurrence"], "tokenPosition");
    const ids = this.toTokens(
      input,
      options.prependBos === undefined ? {} : { prependBos: options.prependBos },
    )[0] as number[];
    let id: number;
    if (typeof token === "number") id = token;
    else {
      const encoded = this.#needTokenizer().encode(token, { addSpecialTokens: false });
      if (encoded.length !== 1) {
        throw new Error(
          `"${token}" is ${encoded.length} tokens (${encoded.join(", ")}); tokenPosition needs one token`,
        );
      }
      id = encoded[0] as number;
    }
    const positions = ids.flatMap((x, i) => (x === id ? [i] : []));
    const occurrence = options.occurrence ?? 0;
    const at = positions[occurrence < 0 ? positions.length + occurrence : occurrence];
    if (at === undefined) {
      throw new Error(
        `token ${JSON.stringify(token)} occurs ${positions.length} time(s) in the input, not at occurrence ${occurrence}`,
      );
    }
    return at;
  }

  /**
   * The input as the model runs it: token ids left-padded to the longest prompt, which positions
   * are padding, and `select(array, b)` to take prompt b's own positions out of a padded result.
   */
  padBatch(input: ModelInput, options: TokenOptions = {}): PaddedBatch {
    checkOptionKeys(options, TOKEN_KEYS, "padBatch");
    return new PaddedBatch(this.toTokens(input, options), this.#padId());
  }

  // ---- running ----

  /**
   * Logits [B, L, vocab] of the input, with any scoped hooks that are on. Prompts of different
   * lengths are left-padded (padBatch says how); each prompt's positions equal its unbatched run
   * (see the top of this file).
   */
  forward(input: ModelInput, options: TokenOptions = {}): MxArray {
    checkOptionKeys(options, TOKEN_KEYS, "forward", HINTS);
    return this.#run(this.padBatch(input, options));
  }

  /**
   * Logits [B, L, vocab] with hooks on for this call only (besides this HookedModel's own, from
   * addHook); no other run sees them. Hooks run in the order given; several on one path run in
   * order. A batch of different lengths runs left-padded: hooks see (and ctx.tokens holds) the
   * padded rows.
   */
  runWithHooks(input: ModelInput, options: HookOptions = {}): MxArray {
    checkOptionKeys(options, HOOK_KEYS, "runWithHooks", HINTS);
    const batch = this.padBatch(input, tokenOptions(options));
    return this.withHooks(options, () => this.#run(batch));
  }

  /**
   * Logits and an ActivationCache holding only what `names` selects (evaluated together, so the
   * cache holds exactly the bytes of those activations). `hooks` may intervene meanwhile; the
   * cache records what flows after them (output hooks added before the cache's). `batch` is the
   * padded input: with prompts of different lengths, `batch.select(cache.get(...), b)` is prompt
   * b's own activation.
   */
  runWithCache(
    input: ModelInput,
    options: CacheOptions = {},
  ): { logits: MxArray; cache: ActivationCache; batch: PaddedBatch } {
    checkOptionKeys(options, CACHE_KEYS, "runWithCache", HINTS);
    const batch = this.padBatch(input, tokenOptions(options));
    const selectors = options.names === undefined ? this.#defaultNames() : asList(options.names);
    const targets = this.#targets.resolveAll(selectors);
    const hooks = this.#callHooks(options);
    const arrays = new Map<string, MxArray>();
    const recorders = this.#record(new HookRegistry(), targets, () => arrays);
    try {
      const logits = this.#runWith([hooks, recorders], () => this.#run(batch));
      mx.eval(logits, ...arrays.values());
      freeWhenDropped(arrays.values());
      return { logits, cache: new ActivationCache(arrays, this.#aliases(targets), this.names, this.readout), batch };
    } catch (error) {
      for (const a of arrays.values()) a.dispose();
      throw error;
    }
  }

  /**
   * Attention patterns [B, heads, query, key] of the given layers (default all attention layers),
   * from the model's own forward pass: RoPE, q/k norms, GQA, the family's scale, soft-capping,
   * sliding windows and masks as the model applies them. A batch of different lengths gives
   * padded patterns: padded keys get exactly 0, and `padBatch(input).select(pattern, b, [2, 3])`
   * is prompt b's own pattern.
   */
  getAttentionPatterns(
    input: ModelInput,
    layers?: readonly number[],
    options: TokenOptions = {},
  ): Map<number, MxArray> {
    checkOptionKeys(options, TOKEN_KEYS, "getAttentionPatterns");
    const wanted = layers ?? this.names.attentionPaths.flatMap((p, i) => (p === undefined ? [] : [i]));
    for (const layer of wanted) {
      if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers) {
        throw new Error(`layer ${layer} is out of range: the model has layers 0 to ${this.layers - 1}`);
      }
      if (this.names.attentionPaths[layer] === undefined) throw new Error(`layer ${layer} has no attention`);
    }
    const { logits, cache } = this.runWithCache(input, { ...options, names: wanted.map((l) => `pattern.${l}`) });
    logits.dispose();
    const out = new Map<number, MxArray>();
    for (const layer of wanted) out.set(layer, mx.array(cache.get("pattern", layer)));
    cache.dispose();
    freeWhenDropped(out.values());
    return out;
  }

  /**
   * Generates from a prompt with hooks on during prefill and every step; with `capture`, each
   * token carries the activations of the pass that computed it (for the first token, the pass
   * over the last prompt token; earlier prefill passes are not captured). A captured decode step's
   * key axis is the KV cache's: in position order for full attention, but in the rotating
   * cache's ring order on sliding-window layers once the window is full (attention does not
   * depend on key order; read positions accordingly). A module called twice per pass (a shared
   * rope) keeps its last call: use hook_q / hook_k for rotated queries and keys.
   *
   * The generation's hooks and recorders (and this HookedModel's own) are on only while the
   * generator computes, from a call of next() to the token it yields: two generators used in turn
   * each see only their own.
   */
  *generate(prompt: string | readonly number[], options: HookedGenerateOptions = {}): Generator<HookedToken> {
    checkOptionKeys(options, GENERATE_KEYS, "generate", HINTS);
    const ids = typeof prompt === "string" ? this.#encode(prompt, options) : this.#checkIds(prompt);
    const capture = options.capture === undefined ? [] : this.#targets.resolveAll(asList(options.capture));
    const hooks = this.#callHooks(options);
    // Captured activations by step. A forward pass belongs to the step whose token it computes,
    // known from the KV cache's offset when it starts: the generator may build step n+1 before
    // it hands out token n, and prefill passes (offsets before the last prompt token) belong to none.
    const steps = new Map<number, Map<string, MxArray>>();
    let current: number | undefined;
    const recorders = new HookRegistry();
    if (capture.length) {
      const start = cacheOffset(options.cache ?? []) + ids.length - 1;
      recorders.add(this.model, "(model)", undefined, "pre", (_x, ctx) => {
        current = cacheOffset(ctx.inputs[1] as readonly LayerCache[] | undefined) - start;
        if (current >= 0) steps.set(current, new Map());
      });
    }
    this.#record(recorders, capture, () => (current === undefined ? undefined : steps.get(current)));
    const aliases = this.#aliases(capture);
    const generation = generateStep(this.model, ids, options);
    try {
      for (let n = 0; ; n++) {
        // Hooks see the prompt as the run's tokens (ctx.tokens), and where it ends.
        const next = this.#runWith([hooks, recorders], () => generation.next(), { tokens: [ids], leftPadding: [0] });
        if (next.done) return;
        const step = next.value;
        const arrays = steps.get(n);
        steps.delete(n);
        if (arrays === undefined) {
          yield step;
          continue;
        }
        mx.eval(...arrays.values());
        freeWhenDropped(arrays.values());
        yield { ...step, cache: new ActivationCache(arrays, aliases, this.names, this.readout) };
      }
    } finally {
      generation.return(undefined);
      for (const arrays of steps.values()) for (const a of arrays.values()) a.dispose();
    }
  }

  // ---- readout (src/analysis/) ----

  /**
   * Logits [..., vocab] (float32) of residual vectors [..., d_model]: the final norm (each vector
   * on its own statistics, unless applyFinalNorm is false), the unembedding, the model's soft-cap
   * and scaling.
   */
  unembed(x: MxArray, options: UnembedOptions = {}): MxArray {
    return unembed(this.readout, x, options);
  }

  /**
   * The k most likely tokens (default 5) of each row of logits [..., vocab] or residual vectors
   * [..., d_model]: { id, token, logit, prob }, one list per row.
   */
  topTokens(x: MxArray, k = 5): NamedTopToken[][] {
    return namedTopTokens(this, x, k);
  }

  /**
   * The next-token cross-entropy of the input (float32): the mean over its predicted positions, or
   * with perToken each position's loss [batch, positions - 1] (an Array the caller owns).
   */
  loss(input: ModelInput, options?: LossOptions & { perToken?: false }): number;
  loss(input: ModelInput, options: LossOptions & { perToken: true }): MxArray;
  loss(input: ModelInput, options: LossOptions = {}): number | MxArray {
    return inputLoss(this, input, options);
  }

  /** log softmax in float32 of logits given (a float Array), or of the input's logits [B, L, vocab]. */
  logProbs(input: ModelInput, options: TokenOptions = {}): MxArray {
    return inputLogProbs(this, input, options);
  }

  /**
   * Text pieces as they are generated (whole characters), ending at an end-of-sequence token, a
   * stop string or maxTokens; with this HookedModel's hooks and the options' own on at every step.
   * Iterate it with `for` or `for await`; nothing to dispose. See generate-text.ts.
   */
  generateText(prompt: TextPrompt, options: GenerateTextOptions = {}): TextGeneration {
    return generateText(this, prompt, options);
  }

  /** The whole text of a generation (as generateText) with its token ids and why it ended. */
  completeText(prompt: TextPrompt, options: GenerateTextOptions = {}): TextCompletion {
    return completeText(this, prompt, options);
  }

  // ---- hooks that stay on ----

  /** Adds a hook on every target of `selector` until the handle is removed (or disposed: `using`). */
  addHook(selector: HookSelector, hook: Hook): HookHandle {
    return this.addHooks({ hooks: [[selector, hook]] });
  }

  /** Adds a pre-hook on every target of `selector` until the handle is removed. */
  addPreHook(selector: HookSelector, hook: PreHook): HookHandle {
    return this.addHooks({ preHooks: [[selector, hook]] });
  }

  /**
   * Adds several hooks at once; all or none (a bad selector adds nothing). One handle removes them
   * all. They are this HookedModel's: on in each of its runs, never in another HookedModel's runs
   * over the same model.
   */
  addHooks(options: HookOptions): HookHandle {
    checkOptionKeys(options, HOOK_KEYS, "addHooks", HINTS);
    return this.#addTo(this.#hooks, options);
  }

  /**
   * Runs fn with these hooks on (besides this HookedModel's own) for every forward pass of its
   * runs inside fn, or of the model called directly there; they are off again when fn returns or
   * throws. fn must be synchronous.
   */
  withHooks<T>(options: HookOptions, fn: () => T): T {
    checkOptionKeys(options, HOOK_KEYS, "withHooks", HINTS);
    return this.#runWith([this.#callHooks(options)], fn);
  }

  /** Paths that have hooks on now: this HookedModel's own, and those of its run in progress. */
  hookedPaths(): string[] {
    const run = HookRun.activeOf(this);
    return run === undefined ? this.#hooks.hookedPaths() : run.hookedPaths();
  }

  /** Takes off every hook added with addHook, addPreHook or addHooks. */
  removeAllHooks(): void {
    this.#hooks.clear();
  }

  // ---- internals ----

  // Runs fn with the given registries on: inside a run of this HookedModel in progress, added to
  // it (nested calls compose); otherwise in a new run of this HookedModel's own hooks and these,
  // which hides any other run's hooks.
  #runWith<T>(registries: readonly HookRegistry[], fn: () => T, input?: HookRun["input"]): T {
    const base = HookRun.activeOf(this) ?? new HookRun(this, [this.#hooks]);
    return base.extended(registries, input).activate(fn);
  }

  // A registry of the call's own hooks (options.hooks, options.preHooks).
  #callHooks(options: HookOptions): HookRegistry {
    const hooks = new HookRegistry();
    this.#addTo(hooks, options);
    return hooks;
  }

  #addTo(registry: HookRegistry, options: HookOptions): HookHandle {
    const planned: [SelectedTarget, "pre" | "post", Hook | PreHook][] = [];
    for (const [selector, hook] of options.preHooks ?? []) {
      checkHookFunction(hook, selector);
      for (const target of this.#targets.resolve(selector)) planned.push([target, "pre", hook]);
    }
    for (const [selector, hook] of options.hooks ?? []) {
      checkHookFunction(hook, selector);
      for (const target of this.#targets.resolve(selector)) planned.push([target, target.input ? "pre" : "post", hook]);
    }
    const handles = planned.map(([target, kind, hook]) => this.#attach(registry, target.path, kind, hook));
    const remove = () => {
      for (const h of handles.reverse()) h.remove();
    };
    return { remove, [Symbol.dispose]: remove };
  }

  // One forward pass of the batch, in a run (of this HookedModel's, or added to the one in
  // progress) whose hooks see the batch's tokens. The logits are the caller's: dispose() frees them
  // at once, and the garbage collector when they are dropped.
  #run(batch: PaddedBatch): MxArray {
    const { tokens, padding } = batch;
    const logits = this.#runWith(
      [],
      () =>
        mx.tidy(() => {
          const ids = mx.array(tokens, "int32");
          return padding ? this.model.call(ids, undefined, padding) : this.model.call(ids);
        }),
      { tokens, leftPadding: batch.leftPadding },
    );
    freeWhenDropped([logits]);
    return logits;
  }

  // Token ids as the model takes them: whole numbers from 0 to its vocabulary size - 1. `row`: the
  // prompt's place in a batch, named in the error.
  #checkIds(ids: readonly number[], row?: number): number[] {
    const where = row === undefined ? "" : `prompt ${row} of the batch: `;
    const vocab = this.model.layout.dims.vocabSize;
    if (ids.length === 0) throw new Error(`${where}token ids must not be empty`);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new RangeError(
          `${where}token ids must be whole numbers from 0 to ${vocab - 1} (the model's vocabulary), got ${JSON.stringify(id)} at position ${i}`,
        );
      }
    });
    return [...ids];
  }

  // The tokenizer's pad token where it has one; any id would do, since padding is masked out.
  #padId(): number {
    const pad = this.tokenizer?.specialTokens.pad_token;
    return (pad === undefined ? undefined : this.tokenizer?.tokenToId(pad)) ?? 0;
  }

  #attach(registry: HookRegistry, path: string, kind: "pre" | "post", hook: Hook | PreHook): HookHandle {
    return registry.add(this.#targets.module(path), path, this.#layerOf(path), kind, hook);
  }

  #layerOf(path: string): number | undefined {
    const index = this.names.layerPaths.findIndex((p) => path === p || path.startsWith(`${p}.`));
    return index < 0 ? undefined : index;
  }

  // Adds to `recorders` hooks that record each target's activation into the map `into()` gives at
  // that moment (none: not recorded). Keys go in the order the activations are produced (pre-hooks
  // fire before a module runs, hooks after its children).
  #record(
    recorders: HookRegistry,
    targets: readonly SelectedTarget[],
    into: () => Map<string, MxArray> | undefined,
  ): HookRegistry {
    const store = (key: string) => (value: MxArray) => {
      const arrays = into();
      if (arrays === undefined) return undefined;
      arrays.get(key)?.dispose();
      arrays.delete(key);
      // A new reference to the same data, owned by the cache, not by the forward pass's scopes.
      arrays.set(key, mx.keep(mx.array(value)));
      return undefined;
    };
    for (const t of targets) this.#attach(recorders, t.path, t.input ? "pre" : "post", store(t.key));
    return recorders;
  }

  // Module paths (and `path:input`) that name a cached standard key.
  #aliases(targets: readonly SelectedTarget[]): Map<string, string> {
    const aliases = new Map<string, string>();
    for (const t of targets) if (t.key !== t.path) aliases.set(t.input ? `${t.path}:input` : t.path, t.key);
    return aliases;
  }

  #defaultNames(): HookSelector[] {
    return this.names.keys().filter((k) => !/^(q|k|v|scores|pattern|z|result)\./.test(k));
  }

  #encode(text: string, options: TokenOptions): number[] {
    const tokenizer = this.#needTokenizer();
    const ids = tokenizer.encode(text, { addSpecialTokens: options.prependBos !== false });
    // prependBos: true also for tokenizers whose post-processor adds none; never a second one.
    const bos = tokenizer.bosTokenId;
    if (options.prependBos === true && bos !== undefined && ids[0] !== bos) return [bos, ...ids];
    return ids;
  }

  #needTokenizer(): Tokenizer {
    if (this.tokenizer === undefined) {
      throw new Error("this model was loaded without a tokenizer; pass token ids instead of text");
    }
    return this.tokenizer;
  }
}

// The position the first offset-keeping layer cache (KVCache, RotatingKVCache) is at; 0 without one.
function cacheOffset(caches: readonly LayerCache[] | undefined): number {
  const found = caches?.find((c) => typeof (c as { offset?: unknown }).offset === "number");
  return found === undefined ? 0 : (found as unknown as { offset: number }).offset;
}

// The token options of a call's options (the rest belong to the call).
function tokenOptions(options: TokenOptions): TokenOptions {
  return options.prependBos === undefined ? {} : { prependBos: options.prependBos };
}

function asList(selectors: HookSelector | readonly HookSelector[]): readonly HookSelector[] {
  return Array.isArray(selectors) ? (selectors as readonly HookSelector[]) : [selectors as HookSelector];
}

function checkHookFunction(hook: unknown, selector: HookSelector): void {
  if (typeof hook !== "function") {
    throw new TypeError(
      `the hook for ${String(selector)} is ${typeof hook}, not a function (output, ctx) => output | undefined`,
    );
  }
}

// A module reachable by two paths would fire its hooks on both; mlux's models never share one.
function checkNoSharedModules(model: CausalLM): void {
  const seen = new Map<object, string>();
  for (const [path, module] of model.namedModules()) {
    const other = seen.get(module);
    if (other !== undefined) {
      throw new Error(`the module at "${path}" is also at "${other}"; hooks need each module at one path`);
    }
    seen.set(module, path);
  }
}
