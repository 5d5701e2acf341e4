"""PyTorch's side of the CUDA benchmark: the same checkpoint in transformers' LlamaForCausalLM
(bfloat16, SDPA attention), what TransformerLens and nnsight run on. The same steps as
mlux_side.ts; caching every layer's output uses forward hooks on the decoder layers. With
--check FILE it also reports how far its logits of the parity prompt are from FILE's (mlx-lm's).
Prints one JSON line."""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

work = json.loads(Path(os.environ.get("MLUX_CUDA_WORKLOAD", Path(__file__).parent / "workload.json")).read_text())
path = Path(sys.argv[1])
# Token ids below the vocabulary (for Llama-3.2-1B's 128,256, the ids of every side).
SPAN = min(120000, json.loads((path / "config.json").read_text())["vocab_size"] - 10)
config = LlamaConfig(**json.loads((path / "config.json").read_text()))
config._attn_implementation = "sdpa"
with torch.device("cuda"):
    model = LlamaForCausalLM(config).to(torch.bfloat16)
state = load_file(str(path / "model.safetensors"), device="cuda")
missing, unexpected = model.load_state_dict(state, strict=False)
missing = [m for m in missing if m != "lm_head.weight"]  # tied to the embedding
if missing or unexpected:
    raise SystemExit(f"weights do not match: missing {missing}, unexpected {unexpected}")
model.tie_weights()
model.eval()
torch.set_grad_enabled(False)


def tokens(rows, length):
    return torch.tensor(
        [[(i * 7919 + r * 104729) % SPAN + 10 for i in range(length)] for r in range(rows)], device="cuda"
    )


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start, out


def prefill_seconds(rows):
    x = tokens(rows, work["promptLength"])
    return timed(lambda: model(x, use_cache=False).logits)[0]


def after_prompt():
    """A cache filled with the decode prompt, and the first greedy token (not yet read)."""
    cache = DynamicCache()
    return cache, greedy_step(tokens(1, work["decodePrompt"]), cache)


def greedy_step(token, cache):
    return model(token, past_key_values=cache, use_cache=True).logits[:, -1].argmax(-1, keepdim=True)


def decode_tokens_per_second():
    cache, token = after_prompt()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(work["decodeTokens"]):
        token = greedy_step(token, cache)
        token.item()  # greedy decoding reads each token, as the other peers do
    return work["decodeTokens"] / (time.perf_counter() - start)


def decode_anatomy(steps=32):
    """Where a decode step's time goes: the host's time to launch it (model() and argmax return before
    the GPU has run them), the step's whole time with the token read, and, from one profiled step,
    the kernels it launches and the GPU's busy time in them."""
    cache, token = after_prompt()
    token.item()
    launch, whole = [], []
    for _ in range(steps):
        start = time.perf_counter()
        token = greedy_step(token, cache)
        launched = time.perf_counter()
        token.item()
        launch.append(launched - start)
        whole.append(time.perf_counter() - start)
    anatomy = {"stepMs": statistics.median(whole) * 1000, "launchMs": statistics.median(launch) * 1000}
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            greedy_step(token, cache).item()
        device = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
        anatomy["kernels"] = sum(e.count for e in device)
        anatomy["gpuBusyMs"] = sum(e.self_device_time_total for e in device) / 1000
    except Exception as error:  # the profiler's API moves between versions; the timings above stand alone
        anatomy["profilerError"] = repr(error)
    return anatomy


one = tokens(1, work["promptLength"])


def plain_seconds():
    return timed(lambda: model(one, use_cache=False).logits)[0]


def cached_seconds():
    store = {}

    def keep(index):
        def hook(_module, _inputs, output):
            store[index] = output[0] if isinstance(output, tuple) else output

        return hook

    handles = [layer.register_forward_hook(keep(i)) for i, layer in enumerate(model.model.layers)]
    elapsed = timed(lambda: model(one, use_cache=False).logits)[0]
    for h in handles:
        h.remove()
    return elapsed


result = {"peer": "torch", "torch": torch.__version__, "gpu": torch.cuda.get_device_name()}
if len(sys.argv) > 3 and sys.argv[2] == "--check":
    reference = load_file(sys.argv[3])["logits"].to("cuda")
    ours = model(tokens(1, work["parityLength"]), use_cache=False).logits.float()
    diff = (ours - reference).abs()
    result["logitsMaxAbsDiffVsMlxLm"] = diff.max().item()
    result["logitsRelErrVsMlxLm"] = (torch.linalg.norm(ours - reference) / torch.linalg.norm(reference)).item()
    result["argmaxAgreement"] = (ours.argmax(-1) == reference.argmax(-1)).float().mean().item()

# Warm-up passes, as many on every side (workload.json "warmUp"): mlux's V8 compiles its code
# over the first passes; kernels are compiled and memory pooled on first use.
for _ in range(work["warmUp"]):
    prefill_seconds(1)
    prefill_seconds(work["batch"])
    plain_seconds()
    cached_seconds()
decode_tokens_per_second()
b1, bn, plain, cached = [], [], [], []
for _ in range(work["repeats"]):
    b1.append(prefill_seconds(1))
    bn.append(prefill_seconds(work["batch"]))
    plain.append(plain_seconds())
    cached.append(cached_seconds())
decode = [decode_tokens_per_second() for _ in range(3)]
result.update({
    "prefill1": work["promptLength"] / statistics.median(b1),
    "prefillBatch": work["batch"] * work["promptLength"] / statistics.median(bn),
    "decode": statistics.median(decode),
    "plainMs": statistics.median(plain) * 1000,
    "cachedMs": statistics.median(cached) * 1000,
    "decodeStep": decode_anatomy(),
})
print(json.dumps(result))
