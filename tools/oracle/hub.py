"""What Python's huggingface_hub makes of a Hub cache, for the model-resolution tests.
A JSON list of requests on stdin, their answers on stdout (protocol.answer_batch):

  .venv-oracle/bin/python -m tools.oracle.hub < requests.json

  {"op": "snapshot", "repo": OWNER/NAME, "cache_dir": DIR, "local_files_only": bool,
   "allow_patterns": [glob, ...] (optional)}
      -> the snapshot folder huggingface_hub.snapshot_download returns (it downloads from
         HF_ENDPOINT unless local_files_only)
"""

from huggingface_hub import snapshot_download

from tools.oracle.protocol import answer_batch


def snapshot(request: dict) -> str:
    return snapshot_download(request["repo"], cache_dir=request["cache_dir"],
                             local_files_only=request.get("local_files_only", False),
                             allow_patterns=request.get("allow_patterns"))


if __name__ == "__main__":
    answer_batch({"snapshot": snapshot})
