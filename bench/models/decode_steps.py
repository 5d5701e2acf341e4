"""Milliseconds per greedy decode step, mlx-lm's side of decode_steps.ts (same prompt and rounds).

  .venv-oracle/bin/python bench/models/decode_steps.py CHECKPOINT_DIR [STEPS]
"""

import sys
import time

import mlx.core as mx
from mlx_lm import load
from mlx_lm.generate import generate_step

model, _ = load(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
prompt = [(i * 7919) % 4000 + 10 for i in range(256)]
for _ in generate_step(mx.array(prompt[:16]), model, max_tokens=4):
    pass
for _ in range(3):
    count = 0
    for _ in generate_step(mx.array(prompt), model, max_tokens=steps + 1):
        count += 1
        if count == 1:
            start = time.perf_counter()
    print(f"mlx-lm ms/step {(time.perf_counter() - start) / steps * 1000:.3f}")
