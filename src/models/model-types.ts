// Which checkpoints mlux runs, as far as config.json alone tells, in a module that imports nothing:
// the server's HTTP thread checks a download's config.json with it without loading the addon.
// registry.ts maps each type to its builder and fails at import if this list and its builders disagree.

/** Every model_type mlux loads, sorted (`mlux models` prints them). */
export const SUPPORTED_MODEL_TYPES: readonly string[] = [
  "gemma",
  "gemma2",
  "gemma3_text",
  "gpt2",
  "gpt_neox",
  "granite",
  "iquestcoder",
  "lfm2",
  "llama",
  "mistral",
  "olmo2",
  "olmo3",
  "phi3",
  "qwen2",
  "qwen3",
  "smollm3",
  "starcoder2",
  "xverse",
];

/** Throws, listing the supported types, unless mlux runs models of `modelType`. */
export function checkModelType(modelType: string): void {
  if (!SUPPORTED_MODEL_TYPES.includes(modelType)) {
    throw new Error(`model_type "${modelType}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(", ")}`);
  }
}

/**
 * Throws unless mlux runs the checkpoint whose config.json holds `config`: a known model_type, no
 * custom model code, and MLX's own quantization entry where it is quantized. Messages start with
 * `where` (the folder or Hub id). Loading reads every other field after this.
 */
export function checkRunnableConfig(config: unknown, where: string): void {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`${where}: config.json does not hold a JSON object`);
  }
  const fields = config as Record<string, unknown>;
  if (typeof fields.model_type !== "string" || fields.model_type === "") {
    throw new Error(`${where}: config.json has no "model_type" string; mlx-lm checkpoints always name one`);
  }
  try {
    checkModelType(fields.model_type);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
  if (fields.model_file !== undefined) {
    throw new Error(
      `${where} asks to run custom model code (${String(fields.model_file)}); mlux runs only its own architectures`,
    );
  }
  if (fields.quantization === undefined && fields.quantization_config !== undefined) {
    throw new Error(
      `${where}: config.json has a "quantization_config" (${JSON.stringify(fields.quantization_config)}) but no MLX "quantization" entry; ` +
        "convert the checkpoint with mlx_lm.convert",
    );
  }
}
