"""PyTorch side of benches/train_throughput.rs: the "tiny" Llama config of ../shared/notes/perf.md trained
with AdamW on random tokens, f32, 2 threads. Prints one JSON line:
{"tokens_per_s": [...per timed step...], "peak_rss_mb": float}.

    /work/venv-torch/bin/python tools/bench_torch_train.py --steps 3 --batch 8 --seq 256
"""
import argparse
import json
import resource
import time

import torch
import transformers

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=3)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=256)
args = p.parse_args()

torch.set_num_threads(2)
torch.manual_seed(0)
cfg = transformers.LlamaConfig(
    vocab_size=32000, hidden_size=288, intermediate_size=768, num_hidden_layers=6,
    num_attention_heads=6, num_key_value_heads=6, max_position_embeddings=512, tie_word_embeddings=False,
)
model = transformers.LlamaForCausalLM(cfg).float().train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
ids = torch.randint(0, 32000, (args.batch, args.seq + 1))


def step():
    out = model(input_ids=ids[:, :-1], labels=ids[:, :-1])
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


step()  # warm-up
rates = []
for _ in range(args.steps):
    t = time.perf_counter()
    step()
    rates.append(args.batch * args.seq / (time.perf_counter() - t))
# VmHWM belongs to this process image (ru_maxrss keeps the parent's high-water mark across exec).
with open("/proc/self/status") as f:
    peak = next((int(l.split()[1]) / 1024.0 for l in f if l.startswith("VmHWM:")),
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
print(json.dumps({"tokens_per_s": rates, "peak_rss_mb": peak}))
