// mlux: look inside language models and intervene in them, on MLX.
export * as mx from "./mx/index.ts";
