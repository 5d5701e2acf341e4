// What each config.json field that changes a model's numbers may hold, checked once at load, so a
// bad value fails there with the field's name instead of running (a NaN rope_theta gives NaN
// logits) or exhausting memory (num_hidden_layers 2**31). A field that is absent or null is left
// to the architecture's default; one that is present must satisfy its rule.

type Rule = (value: unknown) => string | undefined;

/** Integers in [least, most]: counts and sizes. */
function integer(least: number, most: number): Rule {
  return (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= least && v <= most
      ? undefined
      : `an integer from ${least} to ${most}`;
}

/** Finite numbers above zero (or at least zero): epsilons, bases, scales. */
function positive(options: { orZero?: boolean } = {}): Rule {
  return (v) =>
    typeof v === "number" && Number.isFinite(v) && (v > 0 || (options.orZero === true && v === 0))
      ? undefined
      : options.orZero
        ? "a finite number of at least 0"
        : "a finite number above 0";
}

function finite(): Rule {
  return (v) => (typeof v === "number" && Number.isFinite(v) ? undefined : "a finite number");
}

/** A fraction in (0, 1]: the share of a head's dimensions that rotate. */
function fraction(): Rule {
  return (v) => (typeof v === "number" && v > 0 && v <= 1 ? undefined : "a number above 0 and at most 1");
}

function boolean(): Rule {
  return (v) => (typeof v === "boolean" ? undefined : "true or false");
}

function positiveList(): Rule {
  return (v) =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x) && x > 0)
      ? undefined
      : "a non-empty list of finite numbers above 0";
}

// Bounds far above any released model and far below what would exhaust memory while building one.
const MAX_LAYERS = 4096;
const MAX_WIDTH = 2 ** 20;
const MAX_VOCAB = 2 ** 27;
const MAX_POSITIONS = 2 ** 31 - 1;

/** The rules for top-level fields, by name. */
export const CONFIG_RULES: Readonly<Record<string, Rule>> = {
  num_hidden_layers: integer(1, MAX_LAYERS),
  n_layer: integer(1, MAX_LAYERS),
  hidden_size: integer(1, MAX_WIDTH),
  n_embd: integer(1, MAX_WIDTH),
  d_model: integer(1, MAX_WIDTH),
  intermediate_size: integer(1, MAX_WIDTH),
  n_inner: integer(1, MAX_WIDTH),
  block_dim: integer(1, MAX_WIDTH),
  block_ff_dim: integer(1, MAX_WIDTH),
  num_attention_heads: integer(1, MAX_WIDTH),
  n_head: integer(1, MAX_WIDTH),
  num_key_value_heads: integer(1, MAX_WIDTH),
  head_dim: integer(1, MAX_WIDTH),
  vocab_size: integer(1, MAX_VOCAB),
  max_position_embeddings: integer(1, MAX_POSITIONS),
  n_positions: integer(1, MAX_POSITIONS),
  n_ctx: integer(1, MAX_POSITIONS),
  sliding_window: integer(1, MAX_POSITIONS),
  sliding_window_pattern: integer(1, MAX_LAYERS),
  conv_L_cache: integer(1, MAX_WIDTH),
  rope_theta: positive(),
  rotary_emb_base: positive(),
  rope_local_base_freq: positive(),
  rms_norm_eps: positive(),
  layer_norm_eps: positive(),
  layer_norm_epsilon: positive(),
  norm_eps: positive(),
  norm_epsilon: positive(),
  block_norm_eps: positive(),
  query_pre_attn_scalar: positive(),
  attn_logit_softcapping: positive(),
  final_logit_softcapping: positive(),
  logits_scaling: positive(),
  attention_multiplier: positive(),
  embedding_multiplier: finite(),
  residual_multiplier: finite(),
  partial_rotary_factor: fraction(),
  rotary_pct: fraction(),
  tie_word_embeddings: boolean(),
  attention_bias: boolean(),
  mlp_bias: boolean(),
  use_parallel_residual: boolean(),
  rope_traditional: boolean(),
};

/** The rules for the fields of rope_scaling (and of lfm2's rope_parameters). */
const ROPE_RULES: Readonly<Record<string, Rule>> = {
  factor: positive(),
  low_freq_factor: positive(),
  high_freq_factor: positive(),
  original_max_position_embeddings: integer(1, MAX_POSITIONS),
  beta_fast: positive(),
  beta_slow: positive(),
  mscale: positive(),
  mscale_all_dim: positive({ orZero: true }),
  attention_factor: positive(),
  long_factor: positiveList(),
  short_factor: positiveList(),
  rope_theta: positive(),
};

/** The rules for the quantization entry (and for a per-layer entry inside it). */
const QUANTIZATION_RULES: Readonly<Record<string, Rule>> = {
  group_size: integer(1, MAX_WIDTH),
  bits: integer(1, 8),
  mode: (v) => (typeof v === "string" ? undefined : "a string"),
};

function checkFields(
  fields: Record<string, unknown>,
  rules: Readonly<Record<string, Rule>>,
  prefix: string,
  problems: string[],
): void {
  for (const [name, rule] of Object.entries(rules)) {
    const value = fields[name];
    if (value === undefined || value === null) continue;
    const expected = rule(value);
    if (expected !== undefined) problems.push(`"${prefix}${name}" must be ${expected}, got ${shown(value)}`);
  }
}

// JSON.stringify writes Infinity as null, which would hide the very value that is wrong.
function shown(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Every problem with the config's fields, one line each naming the field, what it must be and
 * what it holds. (JSON has no NaN, but 1e999 parses as Infinity; the number rules refuse both.)
 */
export function configProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  checkFields(config, CONFIG_RULES, "", problems);
  for (const field of ["rope_scaling", "rope_parameters"]) {
    const value = config[field];
    if (value === undefined || value === null) continue;
    if (!isObject(value)) problems.push(`"${field}" must be an object, got ${shown(value)}`);
    else checkFields(value, ROPE_RULES, `${field}.`, problems);
  }
  const quantization = config.quantization;
  if (quantization !== undefined && quantization !== null) {
    if (!isObject(quantization)) {
      problems.push(`"quantization" must be an object with group_size and bits, got ${JSON.stringify(quantization)}`);
    } else {
      checkFields(quantization, QUANTIZATION_RULES, "quantization.", problems);
      // mlx-lm allows a per-layer entry (an object, or false for a layer left unquantized).
      for (const [name, entry] of Object.entries(quantization)) {
        if (isObject(entry)) checkFields(entry, QUANTIZATION_RULES, `quantization.${name}.`, problems);
      }
    }
  }
  return problems;
}
