"""mlx-lm's side of bench/cuda/decode_build.ts: the host time of building one greedy decode step's
graph, and the mlx.core calls that building makes. Prints one JSON line (ms, median and min).

  python bench/cuda/decode_build.py CHECKPOINT_DIR REPEATS [--count]

With --count it only counts the calls into mlx.core made to build one step, by name (see
count_calls), and the nodes of the step's graph (mx.export_to_dot)."""

import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mlx.core as mx
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.utils import load_model

model, _ = load_model(Path(sys.argv[1]))
repeats = int(sys.argv[2])
counting = len(sys.argv) > 3 and sys.argv[3] == "--count"
decode_prompt = 128


def tokens(length):
    return [(i * 7919) % 1000 + 10 for i in range(length)]


def build(cache, x):
    return mx.argmax(model(x, cache=cache)[:, -1, :], axis=-1)


def start():
    cache = make_prompt_cache(model)
    prompt = tokens(decode_prompt)
    model(mx.array([prompt[:-1]]), cache=cache)
    mx.eval([c.state for c in cache])
    current = build(cache, mx.array([prompt[-1:]]))
    mx.async_eval(current)
    return cache, current


def quiet():
    cache, current = start()
    current.item()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        nxt = build(cache, current.reshape(1, 1))
        times.append((time.perf_counter() - t0) * 1000)
        mx.eval(nxt)
        nxt.item()
        current = nxt
    return times


def pipelined():
    cache, current = start()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        nxt = build(cache, current.reshape(1, 1))
        mx.async_eval(nxt)
        times.append((time.perf_counter() - t0) * 1000)
        current.item()
        current = nxt
    return times


# Counting wraps every function of mlx.core and mx.fast, and every method, operator and property of
# mx.array (shape, T ...), with a counter; the model looks them up at each call, so it sees the
# wrappers. A compiled function (mlx-lm's swiglu) counts as one call.
calls = collections.Counter()
recording = False


def counted(name, fn):
    def call(*args, **kwargs):
        if recording:
            calls[name] += 1
        return fn(*args, **kwargs)

    return call


def count_calls():
    skip = {"__new__", "__init__", "__init_subclass__", "__subclasshook__", "__getattribute__", "__setattr__"}
    skip |= {"__delattr__", "__dir__", "__reduce__", "__reduce_ex__", "__sizeof__", "__format__", "__repr__"}
    skip |= {"__str__", "__hash__", "__class__", "__getstate__", "__setstate__", "__del__"}
    for namespace, prefix in ((mx, "mx."), (mx.fast, "mx.fast.")):
        for name in dir(namespace):
            fn = getattr(namespace, name)
            if callable(fn) and not isinstance(fn, type) and not name.startswith("_"):
                setattr(namespace, name, counted(prefix + name, fn))
    for name, attr in list(vars(mx.array).items()):
        if name in skip:
            continue
        if isinstance(attr, property):
            getter = attr.fget
            setattr(mx.array, name, property(counted("array." + name, getter)))
        elif callable(attr):
            setattr(mx.array, name, counted("array." + name, attr))


def count():
    global recording
    cache, current = start()
    current.item()
    mx.eval(build(cache, current.reshape(1, 1)))  # warm-up, as the mlux side
    x = current.reshape(1, 1)
    recording = True
    out = build(cache, x)
    recording = False
    # The graph's nodes as MLX builds them on this device (on a CPU, fast ops are written out in
    # plain ones: rope and attention make many nodes here and one on a GPU).
    with tempfile.NamedTemporaryFile("r", suffix=".dot") as dot:
        mx.export_to_dot(dot.name, out)
        nodes = sum(1 for line in open(dot.name) if "label" in line)
    return nodes


if counting:
    count_calls()
    nodes = count()
    print(
        json.dumps(
            {"peer": "mlx-lm", "callsPerStep": sum(calls.values()), "graphNodes": nodes, "calls": dict(calls.most_common())}
        )
    )
else:
    quiet()  # warm-up
    q, p = quiet(), pipelined()
    print(
        json.dumps(
            {
                "peer": "mlx-lm",
                "quietMedianMs": statistics.median(q),
                "quietMinMs": min(q),
                "pipelinedMedianMs": statistics.median(p),
                "pipelinedMinMs": min(p),
            }
        )
    )
