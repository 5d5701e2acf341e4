"""The Python peers' wrapper of an mlx-lm module: a subclass's __call__ runs the wrapped module
(self.inner) with its own change around it; every other attribute is the wrapped module's, since
mlx-lm's models read flags of their layers (use_sliding ...). Shared by ablation_mlx_lm.py and
lens_mlx_lm.py, run from this folder."""

import mlx.nn as nn


class Wrapped(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def __getattr__(self, key):
        value = self.get(key, None)
        if value is not None:
            return value
        return getattr(self.get("inner"), key)
