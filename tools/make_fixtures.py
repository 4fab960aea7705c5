"""Builds the tiny parity fixtures under tests/fixtures/ (run once; needs torch + transformers).

    python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install torch transformers
    /work/venv-torch/bin/python tools/make_fixtures.py

For each architecture it trains a tiny byte-level BPE tokenizer, builds a random model whose
weights are scaled up (so log-probs vary a lot and a wrong kernel shows), saves it with
save_pretrained, reloads it from disk and writes reference per-token log-probs (float32, eval
mode) and a greedy continuation to reference.json.
"""
import json
import os
import sys

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
TEXTS = [
    "Summarize the following paragraph in one sentence.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Q: What is 12 + 30?\nA: 42",
    "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.",
]
CORPUS = TEXTS + [
    "Instruction tuning data pairs an instruction with a response.",
    "Write a short poem about the sea and the sky.",
    "The model predicts the next token given all previous tokens.",
    "Numbers like 1, 2, 3, 10, 100 and symbols: + - * / = ? ! appear too.",
] * 4


def make_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def scramble(model, seed):
    """Random weights far from the 0.02-std init so every parameter matters. A tied embedding
    is also the output layer, so it is kept smaller to keep the logits moderate."""
    emb_std = 0.25 if model.config.tie_word_embeddings else 1.0
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(emb_std * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[1]
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in**0.5))


def build(name, cfg_cls, model_cls, extra, legacy_config):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    tok = make_tokenizer()
    tok.save(os.path.join(out, "tokenizer.json"))
    cfg = cfg_cls(
        vocab_size=tok.get_vocab_size(),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-5,
        bos_token_id=0,
        eos_token_id=1,
        **extra,
    )
    torch.manual_seed(0)
    model = model_cls(cfg)
    scramble(model, 1234)
    model.save_pretrained(out, safe_serialization=True)
    cfg_path = os.path.join(out, "config.json")
    if legacy_config:
        # Rewrite in transformers 4.x style (top-level rope_theta, torch_dtype) so the Rust
        # loader's other rope path is exercised; transformers 5 still reads it.
        c = json.load(open(cfg_path))
        rp = c.pop("rope_parameters", None) or {}
        c["rope_theta"] = rp.get("rope_theta", c.get("rope_theta"))
        c["rope_scaling"] = None
        if "dtype" in c:
            c["torch_dtype"] = c.pop("dtype")
        json.dump(c, open(cfg_path, "w"), indent=2)
    model = model_cls.from_pretrained(out, dtype=torch.float32).eval()
    refs = []
    with torch.no_grad():
        for text in TEXTS:
            ids = tok.encode(text).ids
            x = torch.tensor([ids])
            logits = model(x).logits[0].float()
            lp = torch.log_softmax(logits, dim=-1)[:-1].gather(1, x[0, 1:, None])[:, 0]
            refs.append({"text": text, "ids": ids, "logprobs": lp.tolist()})
        prompt = tok.encode(TEXTS[0]).ids[:6]
        seq = list(prompt)
        for _ in range(12):
            nxt = int(model(torch.tensor([seq])).logits[0, -1].argmax())
            seq.append(nxt)
    spread = torch.tensor([v for r in refs for v in r["logprobs"]])
    ref = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "sequences": refs,
        "greedy": {"prompt": prompt, "continuation": seq[len(prompt):]},
    }
    json.dump(ref, open(os.path.join(out, "reference.json"), "w"), indent=1)
    print(name, "params", sum(p.numel() for p in model.parameters()),
          "logprob mean %.3f std %.3f" % (spread.mean(), spread.std()),
          "config keys:", sorted(json.load(open(cfg_path)).keys()), file=sys.stderr)


def main():
    build(
        "tiny-llama",
        transformers.LlamaConfig,
        transformers.LlamaForCausalLM,
        dict(
            tie_word_embeddings=False,
            rope_parameters={
                "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
            },
        ),
        legacy_config=False,
    )
    build(
        "tiny-qwen2",
        transformers.Qwen2Config,
        transformers.Qwen2ForCausalLM,
        dict(tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
        legacy_config=True,
    )


if __name__ == "__main__":
    main()
