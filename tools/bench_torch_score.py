"""PyTorch side of the scoring benchmark (compare with `cargo bench --bench score_throughput`).

Same random Llama configs and batch (8 x 256, f32); forward of all positions plus per-token
log-probs via log_softmax + gather. Prints the median tokens/s. Run interleaved with the Rust
bench (A B A B ...) on a quiet machine; only ratios from one interleaved run mean anything:

    for i in 1 2 3; do
      cargo bench --bench score_throughput -- tiny
      /work/venv-torch/bin/python tools/bench_torch_score.py tiny
    done

`--serve NAME IDS.json` is driven by `cargo bench --bench score_vs_torch`, which interleaves the two
in one process tree: the batch comes from IDS.json (the same token ids candle scores), "ready" is
printed after a warm-up, and every stdin line runs one timed scoring and prints its seconds.
"""
import statistics
import sys
import time

import torch
import transformers

CONFIGS = {
    "tiny": dict(hidden_size=288, intermediate_size=768, num_hidden_layers=6, num_attention_heads=6),
    "small": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12),
}


def serve(name, ids_path):
    import json
    torch.set_num_threads(int(__import__("os").environ.get("RAYON_NUM_THREADS", "2")))
    cfg = transformers.LlamaConfig(vocab_size=32000, max_position_embeddings=2048,
                                   tie_word_embeddings=False, **CONFIGS[name])
    model = transformers.LlamaForCausalLM(cfg).eval()
    with open(ids_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)

    def score():
        with torch.inference_mode():
            logits = model(ids).logits[:, :-1].float()
            return torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None])

    score()
    print(f"ready torch {torch.__version__} transformers {transformers.__version__}", flush=True)
    for _ in sys.stdin:
        t = time.perf_counter()
        score()
        print(time.perf_counter() - t, flush=True)


def main():
    if sys.argv[1:2] == ["--serve"]:
        return serve(sys.argv[2], sys.argv[3])
    names = sys.argv[1:] or list(CONFIGS)
    threads = int(__import__("os").environ.get("RAYON_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    for name in names:
        cfg = transformers.LlamaConfig(vocab_size=32000, max_position_embeddings=2048,
                                       tie_word_embeddings=False, **CONFIGS[name])
        model = transformers.LlamaForCausalLM(cfg).eval()
        ids = torch.randint(0, 32000, (8, 256), generator=torch.Generator().manual_seed(0))
        runs = 7 if name == "tiny" else 5

        def score():
            with torch.inference_mode():
                logits = model(ids).logits[:, :-1].float()
                return torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None])

        score()
        rates = []
        for _ in range(runs):
            t = time.perf_counter()
            score()
            rates.append(ids.numel() / (time.perf_counter() - t))
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"torch {name:>5}: {params:6.1f}M params | scoring {statistics.median(rates):7.0f} tok/s "
              f"(median of {runs}, {threads} threads, torch {torch.__version__})")


if __name__ == "__main__":
    main()
