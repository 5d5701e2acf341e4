"""mlx-lm's logits for a checkpoint computed in another dtype, as mlux's loadModel({dtype}) computes it.

usage: python compute_dtype_oracle.py MODEL_DIR MODE OUT.safetensors TOKEN_IDS_JSON
  MODE "cast":       every floating parameter cast to float32 (nn.Module.set_dtype), quantized layers kept
  MODE "dequantize": quantized layers replaced by plain ones, weights dequantized to float32 with their
                     affine scales and biases widened to float32 first; then every parameter cast to float32
Writes {"logits": [1, L, vocab] float32}.
"""

import json
import sys

import mlx.core as mx
import mlx.nn as nn
from mlx_lm import load


def dequantized(layer):
    affine = layer.mode == "affine"
    widen = (lambda a: a.astype(mx.float32)) if affine else (lambda a: a)
    weight = mx.dequantize(
        layer.weight,
        widen(layer.scales),
        widen(layer.biases) if layer.get("biases") is not None else None,
        group_size=layer.group_size,
        bits=layer.bits,
        mode=layer.mode,
        dtype=mx.float32,
    )
    if isinstance(layer, nn.QuantizedEmbedding):
        dense = nn.Embedding(weight.shape[0], weight.shape[1])
        dense.weight = weight
        return dense
    has_bias = "bias" in layer
    dense = nn.Linear(weight.shape[1], weight.shape[0], bias=has_bias)
    dense.weight = weight
    if has_bias:
        dense.bias = layer.bias.astype(mx.float32)
    return dense


def main():
    model_dir, mode, out, ids = sys.argv[1:5]
    model, _ = load(model_dir)
    if mode == "dequantize":
        replacements = [
            (path, dequantized(module))
            for path, module in model.named_modules()
            if isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding))
        ]
        model.update_modules(_tree(replacements))
    model.set_dtype(mx.float32)
    logits = model(mx.array([json.loads(ids)], dtype=mx.int32)).astype(mx.float32)
    mx.save_safetensors(out, {"logits": logits})


def _tree(pairs):
    """Nested dicts/lists from dotted paths, as Module.update_modules takes them."""
    from mlx.utils import tree_unflatten

    return tree_unflatten(pairs)


if __name__ == "__main__":
    main()
