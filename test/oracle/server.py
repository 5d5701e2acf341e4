"""The Python side of the test oracle: evaluates MLX expressions sent by the TypeScript tests.

Protocol: one JSON object per line on stdin, one per line on stdout.
  request:  {"id": n, "code": "<python>", "inputs": {name: {"dtype", "shape", "data": base64}}}
            The code runs with `mx`, `np` and the inputs bound to names, and sets `result` to an
            array, a number, or a list/tuple of them.
  response: {"id": n, "outputs": [{"dtype", "shape", "data": base64}]} or {"id": n, "error": "..."}
Raw bytes travel in row-major order; float16/bfloat16 as their 16-bit patterns.
"""

import base64
import json
import sys
import traceback

import mlx.core as mx
import numpy as np


def to_mx(spec):
    raw = base64.b64decode(spec["data"])
    dtype = spec["dtype"]
    shape = spec["shape"]
    if dtype in ("float16", "bfloat16"):
        bits = mx.array(np.frombuffer(raw, dtype=np.uint16).reshape(shape))
        return bits.view(getattr(mx, dtype))
    if dtype == "bool":
        return mx.array(np.frombuffer(raw, dtype=np.bool_).reshape(shape))
    return mx.array(np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape))


def from_mx(value):
    if not isinstance(value, mx.array):
        value = mx.array(value)
    mx.eval(value)
    name = str(value.dtype).split(".")[-1]
    if name in ("float16", "bfloat16"):
        data = np.array(value.view(mx.uint16))
    else:
        data = np.array(value)
    return {
        "dtype": name,
        "shape": list(value.shape),
        "data": base64.b64encode(np.ascontiguousarray(data).tobytes()).decode("ascii"),
    }


def handle(request):
    scope = {"mx": mx, "np": np}
    for name, spec in request.get("inputs", {}).items():
        scope[name] = to_mx(spec)
    exec(request["code"], scope)
    result = scope["result"]
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    return {"id": request["id"], "outputs": [from_mx(x) for x in items]}


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            response = handle(request)
        except Exception as error:  # the test reports it; keep serving
            response = {"id": request["id"], "error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
