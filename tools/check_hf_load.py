"""Loads a sift checkpoint with transformers and compares its per-token log-probs with sift's.

    cargo run --release --example hf_logprobs -- MODEL_DIR /tmp/ours.json
    /work/venv-torch/bin/python tools/check_hf_load.py MODEL_DIR /tmp/ours.json [--tol 1e-3]

Exits 1 when the maximum absolute difference exceeds the tolerance.
"""
import argparse
import json
import sys

import torch
import transformers

p = argparse.ArgumentParser()
p.add_argument("model_dir")
p.add_argument("ours")
p.add_argument("--tol", type=float, default=1e-3)
args = p.parse_args()

torch.set_num_threads(2)
model = transformers.AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
tok = transformers.PreTrainedTokenizerFast(tokenizer_file=f"{args.model_dir}/tokenizer.json")
ours = json.load(open(args.ours))
worst = 0.0
n = 0
for ids, lp in zip(ours["ids"], ours["logprobs"]):
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = model(input_ids=x).logits.float()
    ref = torch.log_softmax(logits[0, :-1], dim=-1).gather(1, x[0, 1:, None])[:, 0]
    d = (ref - torch.tensor(lp)).abs().max().item()
    worst = max(worst, d)
    n += len(lp)
    # The tokenizer.json loads in transformers and gives the same ids (after our BOS).
    hf_ids = tok(tok.decode(ids[1:]), add_special_tokens=False)["input_ids"]
    if hf_ids != ids[1:]:
        print("note: transformers re-tokenised a text differently", file=sys.stderr)
print(json.dumps({"tokens": n, "max_abs_diff": worst, "tol": args.tol}))
sys.exit(0 if worst <= args.tol else 1)
