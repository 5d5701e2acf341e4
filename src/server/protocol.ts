// What the server and the pages say to each other: every request body as a schema (the server
// validates with it; TypeBox gives the same schema as a TypeScript type), every response and stream
// event as a type, and the limits. The pages import this module too, so both sides share one
// definition. It imports nothing of mlux: the web bundle and the HTTP thread may load it.
import { type Static, Type } from "@sinclair/typebox";

/** What one request may ask of the model; each is checked before the request is queued. */
export const LIMITS = {
  /** Bytes of a request body. */
  bodyBytes: 64 * 1024,
  /** Tokens of one prompt (after the tokenizer's BOS). */
  promptTokens: 256,
  /** Tokens of one attention-pattern or patching prompt (their figures grow as the square). */
  patternTokens: 64,
  /** Tokens one generation may ask for. */
  generatedTokens: 512,
  /** Cells (rows x columns) of one patching or ablation sweep. */
  sweepCells: 4096,
  /** Sequences x positions of one head-detector run. */
  detectorTokens: 8192,
  /** Prompts in each of a steering vector's two sets. */
  steeringPrompts: 32,
  /** Prompt pairs of one binding-mechanisms run. */
  bindingPairs: 256,
  /** Requests waiting for the model at once. */
  queueLength: 64,
} as const;
export type Limits = { [K in keyof typeof LIMITS]: number };

const prompt = Type.String({ minLength: 1, maxLength: 16_384 });
const probe = Type.Union([Type.Literal("resid"), Type.Literal("attn"), Type.Literal("mlp")]);
const positionSite = Type.Union([
  Type.Literal("resid_pre"),
  Type.Literal("resid_mid"),
  Type.Literal("resid_post"),
  Type.Literal("attn_out"),
  Type.Literal("mlp_out"),
]);
const tokenRef = Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Integer({ minimum: 0 })]);

export const LensRequest = Type.Object(
  {
    prompt,
    probes: Type.Optional(Type.Array(probe, { minItems: 1, maxItems: 3, uniqueItems: true })),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type LensRequest = Static<typeof LensRequest>;

export const GenerateRequest = Type.Object(
  {
    prompt,
    maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    topP: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    topK: Type.Optional(Type.Integer({ minimum: 1 })),
    minP: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    repetitionPenalty: Type.Optional(Type.Number({ minimum: 0.5, maximum: 5 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
    /** Stop when the text contains one of these (not included). */
    stop: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 4 })),
  },
  { additionalProperties: false },
);
export type GenerateRequest = Static<typeof GenerateRequest>;

export const AttentionRequest = Type.Object({ prompt }, { additionalProperties: false });
export type AttentionRequest = Static<typeof AttentionRequest>;

export const HeadsRequest = Type.Object(
  {
    batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    repeatLength: Type.Optional(Type.Integer({ minimum: 2, maximum: 256 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
    /** How many of the best heads of each kind to return patterns for. */
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
  },
  { additionalProperties: false },
);
export type HeadsRequest = Static<typeof HeadsRequest>;

export const PatchLayersRequest = Type.Object(
  {
    source: prompt,
    target: prompt,
    sourcePosition: Type.Integer({ minimum: 0 }),
    targetPosition: Type.Integer({ minimum: 0 }),
    site: Type.Optional(positionSite),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  },
  { additionalProperties: false },
);
export type PatchLayersRequest = Static<typeof PatchLayersRequest>;

export const PatchSweepRequest = Type.Object(
  {
    clean: prompt,
    corrupted: prompt,
    site: Type.Optional(Type.Union([positionSite, Type.Literal("z")])),
    /** The metric: the logit of `answer` minus that of `wrong` at the last position. */
    answer: tokenRef,
    wrong: tokenRef,
  },
  { additionalProperties: false },
);
export type PatchSweepRequest = Static<typeof PatchSweepRequest>;

export const AblationRequest = Type.Object(
  {
    prompt,
    site: Type.Optional(Type.Union([positionSite, Type.Literal("z")])),
    kind: Type.Optional(Type.Union([Type.Literal("mean"), Type.Literal("zero")])),
  },
  { additionalProperties: false },
);
export type AblationRequest = Static<typeof AblationRequest>;

const steeringSet = Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1 });

export const SteeringRequest = Type.Object(
  {
    /** The prompt generated at -alpha, 0 and +alpha. */
    prompt,
    /** Prompts that show the property (the vector points towards them) and prompts that do not. */
    positives: steeringSet,
    negatives: steeringSet,
    /** Where the vector is read and added (default: two thirds down, floor(2n/3)). */
    layer: Type.Optional(Type.Integer({ minimum: 0 })),
    at: Type.Optional(Type.Union([Type.Literal("last"), Type.Literal("mean")])),
    /** How strongly to steer (default: the vector's suggested alpha). */
    alpha: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000 })),
    positions: Type.Optional(Type.Union([Type.Literal("all"), Type.Literal("last"), Type.Literal("generated")])),
    maxTokens: Type.Optional(Type.Integer({ minimum: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
  },
  { additionalProperties: false },
);
export type SteeringRequest = Static<typeof SteeringRequest>;

const word = Type.String({ minLength: 1, maxLength: 64 });

/** How binding prompts are worded (the library's BindingSchema). */
export const BindingSchemaBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    entities: Type.Array(word, { minItems: 2, maxItems: 256 }),
    attributes: Type.Array(word, { minItems: 2, maxItems: 256 }),
    statement: Type.String({ minLength: 1, maxLength: 256 }),
    question: Type.String({ minLength: 1, maxLength: 256 }),
    separator: Type.Optional(Type.String({ maxLength: 16 })),
    answer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const BindingRequest = Type.Object(
  {
    /** Default: the library's BOX_SCHEMA, the wording of fixtures/entity-binding. */
    schema: Type.Optional(BindingSchemaBody),
    pairs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Facts (bound groups) per prompt, each pair drawing one of these. */
    groups: Type.Optional(Type.Array(Type.Integer({ minimum: 4, maximum: 32 }), { minItems: 1, maxItems: 8 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
    site: Type.Optional(Type.Union([Type.Literal("resid_pre"), Type.Literal("resid_post")])),
    /** Layers patched (default all). */
    layers: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 1024, uniqueItems: true })),
    threshold: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type BindingRequest = Static<typeof BindingRequest>;

export const TokenizeRequest = Type.Object({ prompt }, { additionalProperties: false });
export type TokenizeRequest = Static<typeof TokenizeRequest>;

export const ChatTemplateRequest = Type.Object({ prompt }, { additionalProperties: false });
export type ChatTemplateRequest = Static<typeof ChatTemplateRequest>;

export const LoadModelRequest = Type.Object(
  { model: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
export type LoadModelRequest = Static<typeof LoadModelRequest>;

/** A model to download from the Hugging Face Hub (into its cache) and then load. */
export const DownloadRequest = Type.Object(
  {
    /** A Hub id, "owner/name". */
    model: Type.String({ minLength: 3, maxLength: 200, pattern: "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$" }),
    /** A branch, tag or commit (default main). */
    revision: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: "^[A-Za-z0-9_./-]+$" })),
  },
  { additionalProperties: false },
);
export type DownloadRequest = Static<typeof DownloadRequest>;

/** Every computation the server runs, by the path it is posted to (`POST /api/run/<kind>`). */
export const RUN_SCHEMAS = {
  lens: LensRequest,
  generate: GenerateRequest,
  attention: AttentionRequest,
  heads: HeadsRequest,
  "patch-layers": PatchLayersRequest,
  "patch-sweep": PatchSweepRequest,
  ablation: AblationRequest,
  steering: SteeringRequest,
  binding: BindingRequest,
} as const;
export type RunKind = keyof typeof RUN_SCHEMAS;
export const RUN_KINDS = Object.keys(RUN_SCHEMAS) as RunKind[];

export interface RunRequests {
  lens: LensRequest;
  generate: GenerateRequest;
  attention: AttentionRequest;
  heads: HeadsRequest;
  "patch-layers": PatchLayersRequest;
  "patch-sweep": PatchSweepRequest;
  ablation: AblationRequest;
  steering: SteeringRequest;
  binding: BindingRequest;
}

// ---- responses ----

export interface ModelInfo {
  /** As the user named it (a folder or a Hub id). */
  name: string;
  path: string;
  architecture: string;
  layers: number;
  heads: number;
  kvHeads: number;
  dModel: number;
  vocabSize: number;
  /** The dtype the model computes in. */
  dtype: string;
  /** Whether the checkpoint is quantized (it may have been dequantized at load: see storage). */
  quantized: boolean;
  /** How the weights are held: e.g. "float16 cast to float32 at load", "4-bit, group 64, dequantized to float32 at load". */
  storage: string;
  /** Why the model computes in its dtype (the compute dtype's reason at load). */
  computeReason: string;
  /** Bytes of the weights. */
  weightBytes: number;
  /** MLX's active memory after the load, in bytes. */
  activeBytes: number;
  hasChatTemplate: boolean;
}

export interface ModelState {
  model: ModelInfo | undefined;
  /** A load in progress: the model asked for. */
  loading: string | undefined;
  /** The last load that failed, with why; the previous model keeps serving. */
  lastError: { model: string; message: string } | undefined;
}

export interface CatalogEntry {
  /** What to post to /api/model to load it. */
  model: string;
  label: string;
  source: "fixture" | "hub-cache";
}

export interface Health {
  status: "ok";
  limits: Limits;
  model: string | undefined;
  busy: boolean;
  queued: number;
}

export interface TokenizeResponse {
  ids: number[];
  tokens: string[];
}

export interface ErrorResponse {
  error: string;
  statusCode: number;
}

// ---- stream events (server-sent events, one JSON object per `data:` line) ----

export type StreamEvent =
  | { type: "queued"; position: number }
  | { type: "started" }
  | { type: "chunk"; data: unknown }
  /** Steps of the running computation done, of how many (a layer, a batch of a sweep ...). */
  | { type: "progress"; done: number; total: number }
  | { type: "result"; data: unknown }
  | { type: "error"; message: string }
  | { type: "stopped" };

/**
 * A chunk of a download's stream (POST /api/download), before the load's own events: bytes of the
 * file being fetched and of the whole download.
 */
export interface DownloadChunk {
  download: {
    repoId: string;
    file: string;
    fileBytes: number;
    fileTotal: number;
    filesDone: number;
    filesTotal: number;
    bytes: number;
    totalBytes: number;
  };
}

/** A chunk of the playground's stream. */
export interface GenerateChunk {
  text: string;
}

export interface GenerateResult {
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
  finishReason: "eos" | "stop" | "length";
  text: string;
}

export interface AttentionResult {
  tokens: string[];
  layers: number[];
  /** patterns[i][head][query][key] for layers[i]. */
  patterns: number[][][][];
}

export interface HeadsResult {
  layers: number[];
  scores: Record<string, number[][]>;
  heads: Record<string, { layer: number; head: number; score: number }[]>;
  threshold: number;
  /** The first detector sequence's tokens and, for the top heads, their patterns on it. */
  example: { tokens: string[]; patterns: { layer: number; head: number; kind: string; pattern: number[][] }[] };
}

/** One layer of a streamed ablation: its row of the heatmap. */
export interface AblationRow {
  layer: number;
  values: number[];
  effect: number[];
}

export interface AblationStart {
  site: string;
  kind: string;
  columnKind: "position" | "head";
  labels: string[];
  layers: number[];
  baseline: number;
  /** The token whose probability is the metric. */
  token: string;
}

/** The steering vector's facts (the first chunk of a steering stream). */
export interface SteeringFacts {
  layer: number;
  site: string;
  at: "last" | "mean";
  /** |v| (L2). */
  norm: number;
  /** The mean L2 norm of the residual vectors the difference was taken from. */
  residualNorm: number;
  /** The alpha at which alpha·|v| is suggestedShare of the residual norm. */
  suggestedAlpha: number;
  suggestedShare: number;
  positives: number;
  negatives: number;
  /** The alphas generated at, in column order (-alpha, 0, +alpha). */
  alphas: number[];
  positions: "all" | "last" | "generated";
}

/** A steering stream's chunks: the vector first, then pieces of each generation and its end. */
export type SteeringChunk =
  | { vector: SteeringFacts }
  | { index: number; text: string }
  | { index: number; done: SteeredGeneration };

export interface SteeredGeneration {
  alpha: number;
  text: string;
  finishReason: "eos" | "stop" | "length";
  generatedTokens: number;
}

export interface SteeringResult {
  prompt: string;
  steering: SteeringFacts;
  generations: SteeredGeneration[];
}

/** The outcomes of a patched binding prompt, in the library's order. */
export const BINDING_OUTCOMES = ["positional", "lexical", "reflexive", "mixed", "noEffect", "other"] as const;
export type BindingOutcome = (typeof BINDING_OUTCOMES)[number];

/** One layer of a binding run: the outcome fractions and the causal model's fit. */
export interface BindingLayerResult {
  layer: number;
  fractions: Record<BindingOutcome, number>;
  carrier: BindingOutcome;
  fit: {
    params: {
      positionalWeight: number;
      sigma: number;
      lexicalWeight: number;
      reflexiveWeight: number;
      originalWeight: number;
    };
    jsDistance: number;
  } | null;
}

/** One prompt pair of a binding run (as the library gives it; `patched` has one entry per layer). */
export interface BindingPairResult {
  original: { text: string; answer: string };
  counterfactual: { text: string; answer: string };
  predictions: { positional: string; lexical: string; reflexive: string; noEffect: string };
  originalCorrect: boolean;
  counterfactualCorrect: boolean;
  counted: boolean;
  patched: { top: string; topProb: number; outcome: BindingOutcome; attributeProbs: number[] }[];
}

/** The first chunk of a binding stream: the run's facts and its prompt pairs (patched filled in per layer). */
export interface BindingStart {
  schema: string;
  site: string;
  threshold: number;
  seed: number;
  accuracy: { original: number; counterfactual: number };
  counted: number;
  layers: number[];
  pairs: BindingPairResult[];
}

/** A binding stream's chunks: the start, then one per layer (its row and each pair's patched answer). */
export type BindingChunk =
  | { start: BindingStart }
  | { layer: BindingLayerResult; patched: BindingPairResult["patched"][number][] };

/** The whole run, as the library's BindingResult.toJSON(). */
export interface BindingResultBody extends Omit<BindingStart, "layers"> {
  layers: BindingLayerResult[];
}
