"""What Python mlx-lm's own modules see and do, recorded by wrapping them, for the hook tests.

  python -m tools.oracle.hooks < REQUEST.json

REQUEST.json is a JSON list of jobs (protocol.answer_batch); each names a checkpoint folder and
what to do:

  {"op": "run", "checkpoint": DIR, "out": FILE.safetensors,
   "tokens": [ids], "corrupted": [ids of the same length],
   "inputs_of": [paths whose first input is recorded too (o_proj, c_proj, dense, out_proj)],
   "ablate": [paths whose output is replaced by zeros],
   "ablate_heads": [{"projection": P, "head": h, "heads": H}]: zeros in head h's slice of the
                   input of the output projection P (one of inputs_of), of H heads,
   "patch": [{"path": P, "positions": [i, ...]}],
   "zero_inputs": [{"path": P, "positions": [i, ...]}]: zeros in P's first input at those positions,
   "patterns": [{"attention": PATH, "layer": i}]}

The model is loaded with mlx_lm.load; then every module in its tree is replaced, in its parent,
by a Tap that calls the original module and records (or changes) what it returns. Run it with
LD_PRELOAD of mlux's GEMM shim so fp32 matrix products are the ones mlux computes.

FILE.safetensors receives, on `tokens` (batch of one):
  logits                       the unhooked forward pass (float32)
  out:PATH#N                   the output of the N-th call of the module at PATH
  in:PATH#N                    its first input (only for inputs_of)
  ablate:PATH                  logits with PATH's output replaced by zeros
  ablate_head:P#h              logits with head h's slice of P's input replaced by zeros
  zero_input:PATH              logits with PATH's first input zero at the given positions
  corrupted                    logits on `corrupted`, unhooked
  patch:PATH                   logits on `corrupted` with PATH's output taken from the `tokens`
                               run at the given positions
  pattern:PATH                 softmax(q kᵀ · scale (soft-capped) + causal/window mask) from the
                               queries and keys the attention module at PATH made (its rope's two
                               outputs; GPT-2: the split c_attn output), kv heads repeated
and the job's answer on stdout is {"paths": the module paths of the tree (before wrapping),
"patterns": the parameters of each pattern, "mlx_lm": its version}.
"""

import mlx.core as mx
import mlx.nn as nn
import mlx_lm

from tools.oracle.loading import load_checkpoint
from tools.oracle.protocol import answer_batch


class Tap(nn.Module):
    """Calls the module it wraps; `recorder.before` may replace the call's inputs, and
    `recorder.after` sees the inputs and output and may return a replacement output. Attribute
    reads fall through to the wrapped module, so parents that read their children's fields
    (use_sliding, as_linear, ...) see the original."""

    def __init__(self, inner, path, recorder):
        super().__init__()
        self.inner = inner
        self.path = path
        self.recorder = recorder
        self.calls = 0

    def __getattr__(self, key):
        value = self.get(key, None)
        if value is not None:
            return value
        inner = self.get("inner", None)
        if inner is None:
            raise AttributeError(key)
        return getattr(inner, key)

    def __call__(self, *args, **kwargs):
        args = self.recorder.before(self.path, args)
        output = self.inner(*args, **kwargs)
        index = self.calls
        self.calls += 1
        replaced = self.recorder.after(self.path, index, args, output)
        return output if replaced is None else replaced


class Recorder:
    """What the taps do during one forward pass: record everything asked, apply interventions."""

    def __init__(self, inputs_of=()):
        self.inputs_of = set(inputs_of)
        self.outputs = {}
        self.inputs = {}
        self.interventions = {}  # path -> fn(output) -> output
        self.input_changes = {}  # path -> fn(first input) -> first input

    def before(self, path, args):
        change = self.input_changes.get(path)
        return (change(args[0]), *args[1:]) if change else args

    def after(self, path, index, args, output):
        # Kept as separate Python objects: a caller's `h += ...` rebinds the object it was handed
        # (mlx-lm's gpt2 and gemma3 do so to the embedding output), not this one.
        if isinstance(output, mx.array):
            self.outputs[f"{path}#{index}"] = mx.array(output)
        if path in self.inputs_of and args and isinstance(args[0], mx.array):
            self.inputs[f"{path}#{index}"] = mx.array(args[0])
        change = self.interventions.get(path)
        return change(output) if change else None


def wrap_every_module(model, recorder):
    """Replaces each module (root excluded) by a Tap in its parent; returns {path: tap}, in tree order."""
    paths = [path for path, _ in model.named_modules() if path != ""]
    taps = {}
    # Deepest first, so each parent is reached through the original tree while its children are wrapped.
    for path in sorted(paths, key=lambda p: -p.count(".")):
        *parents, last = path.split(".")
        container = model
        for part in parents:
            container = container[int(part)] if isinstance(container, list) else container[part]
        tap = Tap(resolve(model, path), path, recorder)
        taps[path] = tap
        if isinstance(container, list):
            container[int(last)] = tap
        else:
            container[last] = tap
    return {path: taps[path] for path in paths}


def resolve(model, path):
    """The module at `path` in a tree not yet wrapped above it."""
    node = model
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def run(model, taps, recorder, tokens):
    for tap in taps.values():
        tap.calls = 0
        tap.recorder = recorder
    logits = model(mx.array([tokens], dtype=mx.int32)).astype(mx.float32)
    mx.eval(logits, recorder.outputs, recorder.inputs)
    return logits


def attention_pattern(taps, config, job_pattern, recorded):
    """The pattern from the queries and keys the module made, computed here from its own fields."""
    path = job_pattern["attention"]
    layer = job_pattern["layer"]
    attention = taps[path]["inner"]
    if f"{path}.rope#0" in recorded:
        queries, keys = recorded[f"{path}.rope#0"], recorded[f"{path}.rope#1"]
    else:  # GPT-2: no rope; queries and keys are the first two thirds of c_attn's output
        qkv = recorded[f"{path}.c_attn#0"]
        batch, length, _ = qkv.shape
        queries, keys, _ = mx.split(qkv, 3, axis=-1)
        heads = attention.n_head
        queries = queries.reshape(batch, length, heads, -1).transpose(0, 2, 1, 3)
        keys = keys.reshape(batch, length, heads, -1).transpose(0, 2, 1, 3)
    heads, kv_heads, length = queries.shape[1], keys.shape[1], queries.shape[2]
    keys = mx.repeat(keys, heads // kv_heads, axis=1)
    scale = float(attention.scale)
    softcap = getattr(attention, "attn_logit_softcapping", None)
    scores = (queries @ keys.swapaxes(-1, -2)) * scale
    if softcap is not None:
        scores = mx.tanh(scores / softcap) * softcap
    # Sliding layers are the ones config.layer_types names so (mistral/llama, olmo3, gemma3_text);
    # a sliding_window without layer_types is ignored by mlx-lm (gemma2, qwen2, phi3, starcoder2).
    layer_types = config.get("layer_types")
    window = config["sliding_window"] if layer_types and layer_types[layer] == "sliding_attention" else None
    query_at = mx.arange(length)[:, None]
    key_at = mx.arange(length)[None]
    visible = key_at <= query_at
    if window is not None:
        visible = visible & (query_at - key_at < window)
    scores = mx.where(visible, scores, -float("inf"))
    pattern = mx.softmax(scores, axis=-1, precise=True)
    return pattern, {"scale": scale, "softcap": softcap, "window": window, "heads": heads, "kv_heads": kv_heads}


def positions_mask(length, positions):
    chosen = mx.zeros((length,), dtype=mx.bool_)
    chosen[mx.array(positions)] = True
    return chosen


def run_job(job):
    model, _, config = load_checkpoint(job["checkpoint"])
    record_all = Recorder(job.get("inputs_of", []))
    taps = wrap_every_module(model, record_all)
    tokens = job["tokens"]
    out = {"logits": run(model, taps, record_all, tokens)}
    for key, value in record_all.outputs.items():
        out[f"out:{key}"] = value
    for key, value in record_all.inputs.items():
        out[f"in:{key}"] = value

    for path in job.get("ablate", []):
        recorder = Recorder()
        recorder.interventions[path] = mx.zeros_like
        out[f"ablate:{path}"] = run(model, taps, recorder, tokens)

    for ablation in job.get("ablate_heads", []):
        # One head's slice of the output projection's input (heads are contiguous there).
        projection, head, heads = ablation["projection"], ablation["head"], ablation["heads"]
        width = record_all.inputs[f"{projection}#0"].shape[-1] // heads
        columns = (mx.arange(heads * width) // width) == head
        recorder = Recorder()
        recorder.input_changes[projection] = lambda x, columns=columns: mx.where(columns, mx.zeros_like(x), x)
        out[f"ablate_head:{projection}#{head}"] = run(model, taps, recorder, tokens)

    for zeroing in job.get("zero_inputs", []):
        path = zeroing["path"]
        chosen = positions_mask(len(tokens), zeroing["positions"])
        recorder = Recorder()
        recorder.input_changes[path] = lambda x, chosen=chosen: mx.where(chosen[None, :, None], mx.zeros_like(x), x)
        out[f"zero_input:{path}"] = run(model, taps, recorder, tokens)

    corrupted = job.get("corrupted")
    if corrupted is not None:
        if len(corrupted) != len(tokens):
            raise ValueError("the corrupted prompt must have the clean prompt's length")
        out["corrupted"] = run(model, taps, Recorder(), corrupted)
        for patch in job.get("patch", []):
            path = patch["path"]
            clean = record_all.outputs[f"{path}#0"]
            chosen = positions_mask(len(tokens), patch["positions"])
            recorder = Recorder()
            recorder.interventions[path] = lambda output, clean=clean, chosen=chosen: mx.where(
                chosen[None, :, None], clean, output
            )
            out[f"patch:{path}"] = run(model, taps, recorder, corrupted)

    parameters = {}
    for job_pattern in job.get("patterns", []):
        pattern, used = attention_pattern(taps, config, job_pattern, record_all.outputs)
        out[f"pattern:{job_pattern['attention']}"] = pattern
        parameters[job_pattern["attention"]] = used

    mx.eval(out)
    mx.save_safetensors(job["out"], out)
    return {"paths": list(taps), "patterns": parameters, "mlx_lm": mlx_lm.__version__}


if __name__ == "__main__":
    answer_batch({"run": run_job})
