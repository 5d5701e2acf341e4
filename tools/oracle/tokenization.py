"""The oracle of the tokenizer tests: what `tokenizers`, `transformers` and mlx-lm make of a
tokenizer folder. A JSON list of requests on stdin, a JSON list of answers on stdout
(protocol.answer_batch), from test/load/tokenizer-fixtures.ts:

  .venv-oracle/bin/python -m tools.oracle.tokenization < requests.json

  {"op": "encode", "dir": d, "texts": [...]}
      -> per text: ids with and without special tokens (tokenizers.Tokenizer), their decodes
  {"op": "chat", "dir": d, "cases": [{"messages", "add_generation_prompt", "kwargs"}]}
      -> per case: {"text", "ids"} from transformers' apply_chat_template, "mlx_text" from mlx-lm's
         TokenizerWrapper.apply_chat_template, or {"error"}
  {"op": "mlx", "dir": d, "prompts": [...]}
      -> mlx-lm's eos_token_ids, bos/eos tokens, and each prompt's ids as mlx-lm's generate encodes it
  {"op": "detokenize", "dir": d, "sequences": [[ids]]}
      -> per sequence: the text of mlx-lm's streaming detokenizer after all ids and finalize()
"""

import warnings
from pathlib import Path

from tools.oracle.loading import encode_prompt
from tools.oracle.protocol import answer_batch

warnings.filterwarnings("ignore")


def encode(request):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(request["dir"]) / "tokenizer.json"))
    answers = []
    for text in request["texts"]:
        with_special = tokenizer.encode(text, add_special_tokens=True).ids
        without = tokenizer.encode(text, add_special_tokens=False).ids
        answers.append(
            {
                "with": with_special,
                "without": without,
                "decoded_without": tokenizer.decode(without, skip_special_tokens=False),
                "decoded": tokenizer.decode(with_special, skip_special_tokens=False),
                "decoded_skip": tokenizer.decode(with_special, skip_special_tokens=True),
            }
        )
    return answers


def chat(request):
    from mlx_lm.tokenizer_utils import load
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(request["dir"])
    wrapper = load(Path(request["dir"]))
    answers = []
    for case in request["cases"]:
        try:
            options = dict(
                add_generation_prompt=case.get("add_generation_prompt", False),
                continue_final_message=case.get("continue_final_message", False),
                tools=case.get("tools"),
                **case.get("kwargs", {}),
            )
            text = tokenizer.apply_chat_template(case["messages"], tokenize=False, **options)
            ids = tokenizer.apply_chat_template(case["messages"], tokenize=True, return_dict=False, **options)
            mlx_text = wrapper.apply_chat_template(case["messages"], tokenize=False, **options)
            answers.append({"text": text, "ids": list(ids), "mlx_text": mlx_text})
        except Exception as error:  # noqa: BLE001 - the error is the answer
            answers.append({"error": f"{type(error).__name__}: {error}"})
    return answers


def mlx(request):
    from mlx_lm.tokenizer_utils import load
    from mlx_lm.utils import load_config

    path = Path(request["dir"])
    config = load_config(path) if (path / "config.json").exists() else {}
    tokenizer = load(path, eos_token_ids=config.get("eos_token_id"))
    prompts = []
    for prompt in request.get("prompts", []):
        prompts.append(encode_prompt(tokenizer, prompt))
    return {
        "eos_token_ids": sorted(tokenizer.eos_token_ids),
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "bos_token_id": tokenizer.bos_token_id,
        "vocab_size": len(tokenizer),
        "think_start": tokenizer.think_start,
        "think_end": tokenizer.think_end,
        "prompts": prompts,
    }


def detokenize(request):
    from mlx_lm.tokenizer_utils import load

    tokenizer = load(Path(request["dir"]))
    texts = []
    for ids in request["sequences"]:
        detokenizer = tokenizer.detokenizer
        for token in ids:
            detokenizer.add_token(token)
        detokenizer.finalize()
        texts.append(detokenizer.text)
    return texts


OPS = {"encode": encode, "chat": chat, "mlx": mlx, "detokenize": detokenize}

if __name__ == "__main__":
    answer_batch(OPS)
