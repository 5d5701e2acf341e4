"""What mlx-lm generates: tokens of generate_step and text of generate, for the generation tests.
A JSON list of requests on stdin, their answers on stdout (protocol.answer_batch):

  .venv-oracle/bin/python -m tools.oracle.generation < requests.json

  {"op": "logits_and_tokens", "dir": CHECKPOINT, "ids": [ids], "max_tokens": N,
   "repetition_penalty": R, "repetition_context_size": C}   (the last two optional)
      -> {"logits": the last position's float32 logits of a forward pass over ids,
          "tokens": N greedy tokens of mlx_lm's generate_step, with the penalty when given}
  {"op": "text", "dir": CHECKPOINT, "prompt": TEXT, "max_tokens": N, "temp": T, "seed": S}
      -> the text of mlx_lm.generate with make_sampler(temp=T), MLX's generator seeded with S
         after the model is loaded (as a library caller seeds; the mlx_lm command seeds before)
  {"op": "keys_drawn_by_load", "dir": CHECKPOINT}
      -> how many keys mlx_lm.load draws from MLX's global generator (building the model draws
         random initial weights), which `mlx_lm.generate --seed` has drawn before it samples
"""

import mlx.core as mx
from mlx_lm import generate
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_logits_processors, make_sampler

from tools.oracle.loading import load_checkpoint
from tools.oracle.protocol import answer_batch


def logits_and_tokens(request: dict) -> dict:
    model, _, _ = load_checkpoint(request["dir"])
    ids = request["ids"]
    logits = model(mx.array([ids]))[0, -1].astype(mx.float32)
    processors = None
    if request.get("repetition_penalty") is not None:
        processors = make_logits_processors(repetition_penalty=request["repetition_penalty"],
                                            repetition_context_size=request.get("repetition_context_size", 20))
    steps = generate_step(mx.array(ids), model, max_tokens=request["max_tokens"], logits_processors=processors)
    return {"logits": logits.tolist(), "tokens": [int(token) for token, _ in steps]}


def text(request: dict) -> str:
    model, tokenizer, _ = load_checkpoint(request["dir"])
    mx.random.seed(request["seed"])
    return generate(model, tokenizer, request["prompt"], max_tokens=request["max_tokens"],
                    sampler=make_sampler(temp=request["temp"]))


# More draws than any supported model's build makes (a few per layer).
MAX_KEYS = 100_000


def keys_drawn_by_load(request: dict) -> int:
    mx.random.seed(0)
    load_checkpoint(request["dir"])
    after = mx.random.state[0]
    mx.random.seed(0)
    for keys in range(MAX_KEYS):
        if mx.array_equal(mx.random.state[0], after).item():
            return keys
        mx.random.uniform()  # draws the next key of the global generator, as an initializer does
    raise ValueError(f"loading {request['dir']} drew more than {MAX_KEYS} keys")


if __name__ == "__main__":
    answer_batch({"logits_and_tokens": logits_and_tokens, "text": text, "keys_drawn_by_load": keys_drawn_by_load})
