"""Writes a random float32 checkpoint in mlx-lm's format, shaped like a real small model, for CPU
measurements at a real model's sizes:
  llama135m   a Llama shaped like SmolLM-135M (d 576, 30 layers, 9 heads over 3 KV heads, vocabulary 49,152)
  gpt2small   GPT-2 small (d 768, 12 layers, 12 heads, gelu_new, vocabulary 50,257)
Weights are seeded normal draws with std 0.02, norms' weights one and biases zero. A tokenizer is not
written: copy one in (for example .checkpoints/llama/fp32/tokenizer*.json) for mlx_lm.load.

  .venv-oracle/bin/python bench/models/make_random.py llama135m|gpt2small OUT_DIR
"""

import importlib
import json
import sys
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_flatten

SHAPES = {
    "llama135m": {
        "model_type": "llama",
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "head_dim": 64,
        "vocab_size": 49152,
        "rms_norm_eps": 1e-5,
        "rope_theta": 100000.0,
        "max_position_embeddings": 8192,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "mlp_bias": False,
        "hidden_act": "silu",
    },
    "gpt2small": {
        "model_type": "gpt2",
        "n_ctx": 1024,
        "n_embd": 768,
        "n_head": 12,
        "n_layer": 12,
        "n_positions": 1024,
        "layer_norm_epsilon": 1e-5,
        "vocab_size": 50257,
        "activation_function": "gelu_new",
        "tie_word_embeddings": True,
    },
}


def initial(name, shape):
    if name.endswith("bias"):
        return mx.zeros(shape)
    if "norm" in name or "ln_" in name:
        return mx.ones(shape)
    return mx.random.normal(shape) * 0.02


shape_name, out = sys.argv[1], Path(sys.argv[2])
config = SHAPES[shape_name]
architecture = importlib.import_module(f"mlx_lm.models.{config['model_type']}")
out.mkdir(parents=True, exist_ok=True)
mx.random.seed(0)
model = architecture.Model(architecture.ModelArgs.from_dict(config))
weights = {name: initial(name, value.shape) for name, value in tree_flatten(model.parameters())}
mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
(out / "config.json").write_text(json.dumps(config, indent=1))
