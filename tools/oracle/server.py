"""The long-running oracle of test/oracle/oracle.ts: evaluates MLX expressions sent by the tests.

  .venv-oracle/bin/python -m tools.oracle.server

One JSON object per line on stdin, one per line on stdout (protocol.serve_lines):
  request:  {"id": n, "code": "<python>", "inputs": {name: array}}
            The code runs with `mx`, `np` and the inputs bound to names, and sets `result` to an
            array, a number, or a list/tuple of them.
  response: {"id": n, "outputs": [array, ...]} or {"id": n, "error": "...", "trace": "..."}
Arrays travel as arrays.to_wire / from_wire write them.
"""

import mlx.core as mx
import numpy as np

from tools.oracle import cuda_quantized
from tools.oracle.arrays import from_wire, to_wire
from tools.oracle.protocol import serve_lines


def evaluate(request: dict) -> dict:
    scope = {"mx": mx, "np": np}
    for name, spec in request.get("inputs", {}).items():
        scope[name] = from_wire(spec)
    exec(request["code"], scope)
    result = scope["result"]
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    return {"id": request["id"], "outputs": [to_wire(x) for x in items]}


if __name__ == "__main__":
    # On a GPU, quantized products as mlux computes them where MLX's CUDA kernel is wrong.
    cuda_quantized.install()
    serve_lines(evaluate)
