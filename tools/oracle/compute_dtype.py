"""mlx-lm's logits for a checkpoint computed in another dtype, as mlux's loadModel({dtype}) computes it.

Requests (a JSON list on stdin, see protocol.py): {"op": "logits", "model": DIR, "mode": MODE,
"tokens": [ids], "out": FILE.safetensors}
  mode "cast":       every floating parameter cast to float32 (nn.Module.set_dtype), quantized layers kept
  mode "dequantize": quantized layers replaced by plain ones, weights dequantized to float32 with their
                     affine scales and biases widened to float32 first; then every parameter cast to float32
Writes {"logits": [1, L, vocab] float32} to `out`; answers {"out": FILE}.
"""

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_unflatten

from .loading import load_checkpoint
from .protocol import answer_batch


def dequantized(layer):
    widen = (lambda a: a.astype(mx.float32)) if layer.mode == "affine" else (lambda a: a)
    biases = layer.get("biases")
    weight = mx.dequantize(
        layer.weight,
        widen(layer.scales),
        widen(biases) if biases is not None else None,
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


def logits(request):
    model, _, _ = load_checkpoint(request["model"])
    if request["mode"] == "dequantize":
        replacements = [
            (path, dequantized(module))
            for path, module in model.named_modules()
            if isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding))
        ]
        model.update_modules(tree_unflatten(replacements))
    model.set_dtype(mx.float32)
    out = model(mx.array([request["tokens"]], dtype=mx.int32)).astype(mx.float32)
    mx.save_safetensors(request["out"], {"logits": out})
    return {"out": request["out"]}


if __name__ == "__main__":
    answer_batch({"logits": logits})
