"""Arrays out of the oracle: to a safetensors file with a JSON report beside it, or to JSON."""

import base64
import json
from pathlib import Path

import mlx.core as mx
import numpy as np


def write_arrays(prefix, arrays: dict, report: dict) -> None:
    """Writes PREFIX.safetensors (the arrays, mlx-lm's metadata) and PREFIX.json (the report)."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(prefix) + ".safetensors", arrays, metadata={"format": "mlx"})
    Path(str(prefix) + ".json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


# On the wire an array is {"dtype", "shape", "data": base64 of its bytes in row-major order};
# float16 and bfloat16 travel as their 16-bit patterns (NumPy has no bfloat16).
HALF_TYPES = ("float16", "bfloat16")


def from_wire(spec: dict) -> mx.array:
    raw = base64.b64decode(spec["data"])
    dtype, shape = spec["dtype"], spec["shape"]
    if dtype in HALF_TYPES:
        return mx.array(np.frombuffer(raw, dtype=np.uint16).reshape(shape)).view(getattr(mx, dtype))
    if dtype == "bool":
        return mx.array(np.frombuffer(raw, dtype=np.bool_).reshape(shape))
    return mx.array(np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape))


def to_wire(value) -> dict:
    if not isinstance(value, mx.array):
        value = mx.array(value)
    mx.eval(value)
    name = str(value.dtype).split(".")[-1]
    data = np.array(value.view(mx.uint16)) if name in HALF_TYPES else np.array(value)
    return {
        "dtype": name,
        "shape": list(value.shape),
        "data": base64.b64encode(np.ascontiguousarray(data).tobytes()).decode("ascii"),
    }
