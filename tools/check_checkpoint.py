"""Loads checkpoints written by sift with transformers and compares per-token log-probs.

    SIFT_EXPORT_DIR=/tmp/ckpt cargo test --release --test model_parity -- --ignored export
    /work/venv-torch/bin/python tools/check_checkpoint.py /tmp/ckpt
"""
import json
import os
import sys

import torch
import transformers


def main():
    root = sys.argv[1]
    refs = json.load(open(os.path.join(root, "rust_logprobs.json")))
    worst_all = 0.0
    for name in ["fresh-llama", "qwen2-copy"]:
        path = os.path.join(root, name)
        model = transformers.AutoModelForCausalLM.from_pretrained(path).eval()
        tok = transformers.AutoTokenizer.from_pretrained(path)
        worst = 0.0
        with torch.no_grad():
            for ids, want in zip(refs["ids"], refs[name]):
                x = torch.tensor([ids])
                lp = torch.log_softmax(model(x).logits[0].float(), -1)[:-1].gather(1, x[0, 1:, None])[:, 0]
                worst = max(worst, (lp - torch.tensor(want)).abs().max().item())
        spread = torch.tensor([v for r in refs[name] for v in r])
        print(f"{name}: {type(model).__name__} loaded, tokenizer {type(tok).__name__}, "
              f"max |diff| vs sift = {worst:.2e} (log-prob std {spread.std():.2f})")
        worst_all = max(worst_all, worst)
    sys.exit(0 if worst_all < 1e-4 else 1)


if __name__ == "__main__":
    main()
