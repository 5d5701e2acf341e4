// What the commands share: the default model, the --model option, and the error for a bad argument
// that only a loaded model can reveal (exit code 2, like commander's own).
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Option } from "commander";
import { COMPUTE_DTYPES } from "../../models/compute-dtype.ts";

const packageRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** The model a command runs without --model: the tiny KJV model the package ships. */
export const DEFAULT_MODEL = join(packageRoot, "fixtures", "tiny-lm-f16");

export function modelOption(): Option {
  return new Option("--model <path>", "a checkpoint folder or a Hugging Face Hub id (OWNER/NAME)").default(
    DEFAULT_MODEL,
    "the bundled tiny-lm-f16",
  );
}

export function dtypeOption(): Option {
  return new Option(
    "--dtype <dtype>",
    "what the weights compute in: native (as stored, as mlx-lm), auto (float32 on the CPU, dequantized where it fits), or a float dtype",
  )
    .choices(COMPUTE_DTYPES)
    .default("auto");
}

/** A bad argument found after parsing (e.g. against the model's vocabulary). */
export class UsageError extends Error {}
