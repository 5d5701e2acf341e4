"""The Python oracle: what Python MLX and mlx-lm compute, for mlux's tests to compare against.

Run its modules from the repository root, with the oracle venv's Python (scripts/setup-oracle.mjs
makes `.venv-oracle` from requirements.txt and requirements.lock here):

  .venv-oracle/bin/python -m tools.oracle.<module> ...

  server        a long-running process that evaluates MLX expressions sent by the TypeScript tests
                (test/oracle/oracle.ts), one JSON request per line
  dump          logits, log-probs and greedy tokens of one checkpoint (the model parity references;
                tools/checkpoints/smoke.py runs it for every tiny checkpoint)
  hooks         what mlx-lm's own modules output, ablated and patched (the hook tests)
  tokenization  what tokenizers, transformers and mlx-lm make of a tokenizer folder (the tokenizer tests)
  generation    tokens and text of mlx-lm's generate_step and generate (generation and fixture tests)
  hub           what huggingface_hub makes of a Hub cache (the model-resolution tests)
  fixtures      attention patterns, head scores and binding accuracy of the fixture models
                (tools/fixtures/export.py and verify.py, test/fixture-models)

Shared by them: loading.py (a checkpoint and its prompts, as mlx-lm's generate reads them), arrays.py
(arrays to files and to JSON), protocol.py (the JSON requests and answers on stdin and stdout).
"""
