"""Writes a random float32 Llama shaped like SmolLM-135M (d 576, 30 layers, 9 heads over 3 KV heads,
vocabulary 49,152) in mlx-lm's format, for CPU measurements at a real model's sizes. Weights are
seeded normal draws with std 0.02 and norms of one. A tokenizer is not written: copy one in (for
example .checkpoints/llama/fp32/tokenizer*.json) for mlx_lm.load.

  .venv-oracle/bin/python bench/models/make_llama135m.py OUT_DIR
"""

import json
import sys
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm.models.llama import Model, ModelArgs

CONFIG = {
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
}

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
mx.random.seed(0)
model = Model(ModelArgs.from_dict(CONFIG))
weights = {
    name: mx.ones(value.shape) if "norm" in name else mx.random.normal(value.shape) * 0.02
    for name, value in tree_flatten(model.parameters())
}
mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
(out / "config.json").write_text(json.dumps(CONFIG, indent=1))
