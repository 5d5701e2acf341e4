"""Writes random checkpoints shaped like two real models, for the Linux CPU speed benchmark, into
OUT_DIR (default .bench-models/, git-ignored; nothing here is committed):

  qwen3-0.6b-4bit   Qwen3-0.6B's shape, 4-bit affine, group 64, float16 scales and biases
                    (as mlx-community ships Qwen3-0.6B-4bit)
  llama-3.2-1b-bf16 Llama-3.2-1B's shape in bfloat16

Weights are seeded normal draws with std 0.02 (as Hugging Face initialises these models) and
norms of one, so activations keep a real model's sizes. Speed does not depend on the values.

  .venv-oracle/bin/python bench/speed/make_checkpoints.py [OUT_DIR]
"""

import json
import sys
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten
from mlx_lm.models import llama, qwen3

# Llama-3.2-1B's shape is the CUDA benchmark's too: one config for both.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cuda"))
from make_llama1b import CONFIG as LLAMA_32_1B  # noqa: E402

QWEN3_06B = {
    "model_type": "qwen3",
    "architectures": ["Qwen3ForCausalLM"],
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "max_position_embeddings": 40960,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}



def random_model(module, config, dtype):
    model = module.Model(module.ModelArgs.from_dict(config))
    weights = []
    for name, value in tree_flatten(model.parameters()):
        if name.endswith("norm.weight"):
            weights.append((name, mx.ones(value.shape, dtype=dtype)))
        else:
            weights.append((name, (0.02 * mx.random.normal(value.shape)).astype(dtype)))
        mx.eval(weights[-1][1])
    model.load_weights(weights)
    return model


def write(model, config, out):
    out.mkdir(parents=True, exist_ok=True)
    weights = dict(tree_flatten(model.parameters()))
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return {"dir": str(out), "bytes": sum(v.nbytes for v in weights.values())}


root = Path(sys.argv[1] if len(sys.argv) > 1 else ".bench-models")
mx.random.seed(0)
made = []

qwen = random_model(qwen3, QWEN3_06B, mx.float16)
nn.quantize(qwen, group_size=64, bits=4)
made.append(write(qwen, {**QWEN3_06B, "quantization": {"group_size": 64, "bits": 4}}, root / "qwen3-0.6b-4bit"))
del qwen

llama_model = random_model(llama, LLAMA_32_1B, mx.bfloat16)
made.append(write(llama_model, LLAMA_32_1B, root / "llama-3.2-1b-bf16"))
print(json.dumps(made))
