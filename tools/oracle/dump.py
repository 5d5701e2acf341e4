"""Reference outputs of Python mlx-lm for one checkpoint, for the TypeScript tests.

  python -m tools.oracle.dump CHECKPOINT_DIR --out PREFIX
         [--prompts test/checkpoints/prompts.json] [--max-tokens 32] [--full-logits]

Loads the checkpoint with mlx_lm.load, and for every prompt (tokenized as mlx-lm's
generate does, loading.encode_prompt):

  a full forward pass over the prompt, no cache, fp32 logits [L, V]:
    p{i}.tokens          int32 [L]      prompt token ids
    p{i}.logits_last     f32   [V]      the whole last row
    p{i}.sample_ids      int32 [K]      vocab ids kept for every position: 0..255, 256 seeded
                                        random ids, and each position's top 8
    p{i}.logits_sample   f32   [L, K]   logits at those ids
    p{i}.logsumexp       f32   [L]      logsumexp of each full row
    p{i}.argmax          int32 [L]
    p{i}.logits          f32   [L, V]   only with --full-logits
  greedy generation with mlx_lm's generate_step (KV cache, argmax sampler, no EOS stop):
    p{i}.generated       int32 [T]
    p{i}.gen_top_ids     int32 [T, 8]   top-8 ids of each step's log-probabilities
    p{i}.gen_top_logprobs f32  [T, 8]

Writes PREFIX.safetensors with those arrays and PREFIX.json with the prompts, ids, decoded
text, versions and checks (whether cached generation matches argmax of a full forward pass
over prompt + generated tokens, logit spread across positions).
"""

import argparse
import json
import sys
from pathlib import Path

import mlx.core as mx
import mlx_lm
import numpy as np
from mlx_lm.generate import generate_step

from tools.oracle.arrays import write_arrays
from tools.oracle.loading import encode_prompt, load_checkpoint

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROMPTS = REPO / "test" / "checkpoints" / "prompts.json"
TOP = 8


def top_ids(x: mx.array, k: int) -> mx.array:
    """Indices of the k largest entries along the last axis, largest first."""
    part = mx.argpartition(-x, kth=k - 1, axis=-1)[..., :k]
    vals = mx.take_along_axis(x, part, axis=-1)
    return mx.take_along_axis(part, mx.argsort(-vals, axis=-1), axis=-1)


def forward_logits(model, tokens: list) -> mx.array:
    logits = model(mx.array(tokens, dtype=mx.int32)[None])[0]
    return logits.astype(mx.float32)


def dump(checkpoint: Path, prompts: list, max_tokens: int, full: bool) -> tuple:
    model, tokenizer, config = load_checkpoint(checkpoint)
    arrays = {}
    report = {
        "checkpoint": str(checkpoint),
        "model_type": config["model_type"],
        "quantization": config.get("quantization"),
        "mlx": mx.__version__,
        "mlx_lm": mlx_lm.__version__,
        "max_tokens": max_tokens,
        "prompts": [],
    }
    rng = np.random.default_rng(0)
    for i, prompt in enumerate(prompts):
        tokens = encode_prompt(tokenizer, prompt)
        logits = forward_logits(model, tokens)
        lse = mx.logsumexp(logits, axis=-1)
        top = top_ids(logits, TOP)
        mx.eval(logits, lse, top)
        vocab = logits.shape[-1]
        ids = np.concatenate(
            [np.arange(min(256, vocab)), rng.choice(vocab, size=min(256, vocab), replace=False),
             np.array(top).reshape(-1)]
        )
        ids = np.unique(ids).astype(np.int32)
        logits_np = np.array(logits)

        gen, gen_ids, gen_lp = [], [], []
        for token, logprobs in generate_step(
            mx.array(tokens, dtype=mx.int32), model, max_tokens=max_tokens
        ):
            order = top_ids(logprobs, TOP)
            mx.eval(order)
            gen.append(int(token))
            gen_ids.append(np.array(order))
            gen_lp.append(np.array(logprobs[order].astype(mx.float32)))

        # Cached generation vs full forward passes over prompt + generated tokens.
        full_seq = forward_logits(model, tokens + gen[:-1])
        full_argmax = np.array(mx.argmax(full_seq[len(tokens) - 1 :], axis=-1)).tolist()
        agree = sum(int(a == b) for a, b in zip(full_argmax, gen))

        p = f"p{i}."
        arrays[p + "tokens"] = mx.array(tokens, dtype=mx.int32)
        arrays[p + "logits_last"] = logits[-1]
        arrays[p + "sample_ids"] = mx.array(ids)
        arrays[p + "logits_sample"] = mx.array(logits_np[:, ids])
        arrays[p + "logsumexp"] = lse
        arrays[p + "argmax"] = mx.argmax(logits, axis=-1).astype(mx.int32)
        arrays[p + "generated"] = mx.array(gen, dtype=mx.int32)
        arrays[p + "gen_top_ids"] = mx.array(np.stack(gen_ids).astype(np.int32))
        arrays[p + "gen_top_logprobs"] = mx.array(np.stack(gen_lp))
        if full:
            arrays[p + "logits"] = logits

        row_std = logits_np.std(axis=-1)
        report["prompts"].append(
            {
                "text": prompt,
                "tokens": tokens,
                "generated": gen,
                "generated_text": tokenizer.decode(gen),
                "distinct_argmax_in_prompt": len(set(np.array(top[:, 0]).tolist())),
                "logit_std_min": float(row_std.min()),
                "logit_std_max": float(row_std.max()),
                "max_position_row_diff": float(
                    np.abs(logits_np - logits_np[:1]).max() if len(tokens) > 1 else 0.0
                ),
                "cache_matches_full_forward": f"{agree}/{len(gen)}",
            }
        )
    return arrays, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--full-logits", action="store_true")
    args = parser.parse_args(argv)

    prompts = json.loads(args.prompts.read_text(encoding="utf-8"))["prompts"]
    arrays, report = dump(args.checkpoint, prompts, args.max_tokens, args.full_logits)
    write_arrays(args.out, arrays, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
