#!/usr/bin/env python3
"""Train 2 steps with TRL on a `sift export --to trl` run folder, on CPU, with nothing downloaded.

Usage: python tools/smoke_train_trl.py RUN_DIR

Builds a word-level tokenizer from the exported data (with a small chat template) and a 1-layer random
Llama, runs SFTTrainer with the folder's data as TRL reads it (conversational prompt/completion,
completion_only_loss), prints which tokens of the first example carry loss, checks that they are exactly
the completion's, and leaves HF trainer_state.json files under RUN_DIR/smoke-output (the format sift's
external-trainer watcher reads).
"""

import json
import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"

from datasets import load_dataset  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402


def main(run: str) -> int:
    data = os.path.join(run, "data.jsonl")
    rows = [json.loads(line) for line in open(data)]
    words = set()
    for r in rows:
        for m in r["prompt"] + r["completion"]:
            words.update(m["content"].split())
            words.add(m["role"])
    specials = ["[UNK]", "[PAD]", "<s>", "</s>", "<|", "|>", "<|end|>"]
    vocab = {w: i for i, w in enumerate(specials + sorted(words - set(specials)))}
    t = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>",
                                  eos_token="</s>")
    tok.chat_template = ("{% for m in messages %}<| {{ m['role'] }} |> {{ m['content'] }} <|end|> {% endfor %}"
                         "{% if add_generation_prompt %}<| assistant |> {% endif %}")
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                         pad_token_id=1, bos_token_id=2, eos_token_id=3))
    ds = load_dataset("json", data_files=data, split="train")
    args = SFTConfig(output_dir=os.path.join(run, "smoke-output"), max_steps=2, per_device_train_batch_size=2,
                     logging_steps=1, report_to="none", use_cpu=True, bf16=False, completion_only_loss=True,
                     save_strategy="steps", save_steps=1, max_length=512)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    ex = trainer.train_dataset[0]
    mask = ex.get("completion_mask") or [int(label != -100) for label in ex["labels"]]
    toks = tok.convert_ids_to_tokens(ex["input_ids"])
    trained = [t for t, m in zip(toks, mask) if m]
    print("tokens with loss:", trained)
    print("tokens masked:   ", [t for t, m in zip(toks, mask) if not m])
    want = rows[0]["completion"][0]["content"].split()
    assert trained[: len(want)] == want and len(trained) <= len(want) + 2, (trained, want)
    trainer.train()
    print("log_history:", trainer.state.log_history)
    print("ok: only the completion is trained; 2 steps ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
