"""Writes a random checkpoint shaped like Llama-3.2-1B in bfloat16 (mlx-lm format: config.json +
model.safetensors), for the CUDA benchmark and the GPU parity check. Weights are seeded normal
draws with std 0.02 (as Hugging Face initialises Llama) and norms of one, so activations keep
the sizes of a real model rather than of mlx-lm's uniform initialisation.

  python bench/cuda/make_llama1b.py OUT_DIR
"""

import json
import sys
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm.models.llama import Model, ModelArgs

CONFIG = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "vocab_size": 128256,
    "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0,
    "rope_scaling": {
        "factor": 32.0,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "max_position_embeddings": 131072,
    "tie_word_embeddings": True,
    "attention_bias": False,
    "mlp_bias": False,
    "hidden_act": "silu",
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "torch_dtype": "bfloat16",
}


def main(out: Path, config: dict = CONFIG, dtype: mx.Dtype = mx.bfloat16) -> None:
    out.mkdir(parents=True, exist_ok=True)
    mx.random.seed(0)
    model = Model(ModelArgs.from_dict(config))
    weights = {}
    for name, value in tree_flatten(model.parameters()):
        if name.endswith("norm.weight"):
            weights[name] = mx.ones(value.shape, dtype=dtype)
        else:
            weights[name] = (0.02 * mx.random.normal(value.shape)).astype(dtype)
    mx.eval(weights)
    mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    (out / "config.json").write_text(json.dumps(config, indent=2))
    print(json.dumps({"dir": str(out), "parameters": sum(v.size for v in weights.values())}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
