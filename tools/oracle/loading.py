"""A checkpoint and its prompts, read the way mlx-lm reads them."""

from pathlib import Path

import mlx_lm

from tools.oracle import cuda_quantized


def load_checkpoint(path):
    """mlx_lm.load of a checkpoint folder: (model, tokenizer wrapper, config dict)."""
    cuda_quantized.install()
    return mlx_lm.load(str(Path(path)), return_config=True)


def encode_prompt(tokenizer, prompt: str) -> list:
    """Token ids of a text prompt as mlx_lm.generate's stream_generate makes them: the tokenizer's
    special tokens are added unless the prompt already starts with the BOS text."""
    bos = tokenizer.bos_token
    add_special = bos is None or not prompt.startswith(bos)
    return tokenizer.encode(prompt, add_special_tokens=add_special)
