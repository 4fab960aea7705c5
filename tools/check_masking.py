#!/usr/bin/env python3
"""Checks, with a trainer's own preprocessing, that a `sift export` run folder trains only the response.

Usage: python tools/check_masking.py TRAINER RUN_DIR DATASET        (TRAINER: trl | axolotl | llamafactory)

Runs the trainer's tokenization of the folder's data as its config asks (TRL: SFTTrainer's dataset
preparation from sft.yaml; axolotl: `axolotl preprocess config.yml`; LLaMA-Factory: its SFT dataset
pipeline from train.yaml), then for every example checks that the labels are -100 on a prefix (the
prompt) and trained on the rest, and that the trained tokens decode to the record's response (and
EOS). Prints the first example split into masked and trained text. Exits 1 on a mismatch.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def examples_trl(run: Path):
    from trl import SFTTrainer
    from trl.scripts.sft import make_parser
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.chdir(run)
    parser = make_parser()
    script_args, training_args, model_args, dataset_args = parser.parse_args_and_config(
        args=["--config", "sft.yaml", "--use_cpu", "true", "--bf16", "false", "--output_dir", "mask-check"],
        fail_with_unknown_args=True,
    )
    from trl import get_dataset

    ds = get_dataset(dataset_args)["train"]
    tok = AutoTokenizer.from_pretrained(model_args.model_name_or_path)
    model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path)
    trainer = SFTTrainer(model=model, args=training_args, train_dataset=ds, processing_class=tok)
    for ex in trainer.train_dataset:
        if "labels" in ex:  # TRL >= 1.x writes the labels itself
            yield ex["input_ids"], ex["labels"]
        else:  # older TRL: a completion mask the collator turns into labels
            yield ex["input_ids"], [i if m else -100 for i, m in zip(ex["input_ids"], ex["completion_mask"])]


def examples_axolotl(run: Path):
    from datasets import load_from_disk
    from transformers import AutoTokenizer
    import yaml

    cfg = yaml.safe_load((run / "config.yml").read_text())
    exe = os.path.join(os.path.dirname(sys.executable), "axolotl")
    out = subprocess.run([exe, "preprocess", "config.yml", "--dataset-processes", "1"], cwd=run,
                         capture_output=True, text=True)
    if out.returncode:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SystemExit("axolotl preprocess failed")
    prepared = run / cfg["dataset_prepared_path"]
    dirs = sorted(p for p in prepared.iterdir() if p.is_dir())
    ds = load_from_disk(str(dirs[-1]))
    for ex in ds:
        yield ex["input_ids"], ex["labels"]


def examples_llamafactory(run: Path):
    import yaml
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer

    cfg = yaml.safe_load((run / "train.yaml").read_text())
    cfg.update(dataset_dir=str(run), output_dir=str(run / "mask-check"), use_cpu=True, bf16=False,
               preprocessing_num_workers=1)
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(cfg)
    tok_mod = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tok_mod["tokenizer"], data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tok_mod)
    for ex in module["train_dataset"]:
        yield ex["input_ids"], ex["labels"]


def spans(labels):
    """Runs of consecutive trained positions, as (start, end)."""
    out, start = [], None
    for i, l in enumerate(list(labels) + [-100]):
        if l != -100 and start is None:
            start = i
        elif l == -100 and start is not None:
            out.append((start, i))
            start = None
    return out


def main() -> int:
    trainer, run, dataset = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    manifest = json.loads((run / "sift_export.json").read_text())
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(manifest["base_model"])
    records = json.loads(dataset.read_text())
    outputs = {r["output"].strip() for r in records}
    # Earlier answers of a conversation (Alpaca `history`): LLaMA-Factory trains them too.
    answers = outputs | {h[1].strip() for r in records for h in r.get("history", [])}
    gen = {"trl": examples_trl, "axolotl": examples_axolotl, "llamafactory": examples_llamafactory}[trainer](run)
    n = bad = 0
    for ids, labels in gen:
        runs = spans(labels)
        texts = [tok.decode(ids[a:b]) for a, b in runs]
        ok = bool(runs) and all(list(labels[a:b]) == list(ids[a:b]) for a, b in runs)
        for k, text in enumerate(texts):
            # Each trained run is one answer and its EOS (and the template's separator after it).
            body = text.rstrip()
            ok = ok and body.endswith(tok.eos_token)
            body = body[: -len(tok.eos_token)].strip()
            ok = ok and body in (outputs if k == len(texts) - 1 else answers)
        if n == 0:
            first = runs[0][0] if runs else len(ids)
            print(f"  first example: {len(ids)} tokens, {first} masked, {sum(b - a for a, b in runs)} trained")
            print(f"  masked : {tok.decode(ids[:first])!r}")
            print(f"  trained: {' | '.join(texts)!r}")
        if not ok:
            bad += 1
            if bad <= 3:
                print(f"  MISMATCH in example {n}: trained runs {texts!r}")
        n += 1
    print(f"  masking: {n - bad} of {n} examples train only their answers (+ EOS); every prompt token is -100")
    return 0 if n and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
