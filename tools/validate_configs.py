#!/usr/bin/env python3
"""Validate `sift export` run folders with the trainers' own parsers where they are installed.

Usage:
    python tools/validate_configs.py [--sift PATH] [RUN_DIR ...]

Without RUN_DIRs it writes small fixtures (Alpaca with input/system/history, ShareGPT multi-turn with
system, OpenAI with weight 0), marks statuses with `sift set`, exports run folders for TRL, axolotl and
LLaMA-Factory (and Alpaca/ShareGPT with --base) into a temp dir, and validates those.

Per run folder (the trainer is read from sift_export.json):
  * every folder: the manifest's counts; the data file loaded with `datasets.load_dataset("json")`
    (row count = written, expected columns); `bash -n launch.sh` and `launch.sh print-paths`;
  * TRL: sft.yaml parsed by TRL's own `trl sft` parser (TrlParser over ScriptArguments, SFTConfig,
    ModelConfig, DatasetMixtureConfig), the dataset loaded through TRL's `get_dataset` and checked as
    conversational prompt/completion; accelerate configs loaded with accelerate's config loader;
  * axolotl: config.yml validated by axolotl's pydantic config schema when axolotl imports, else its
    structure against the documented keys;
  * LLaMA-Factory: train.yaml parsed by `llamafactory.hparams.get_train_args` and dataset_info.json by
    its `get_dataset_list`, rows converted by its converter, when llamafactory imports, else structure.

Nothing is downloaded: the Hugging Face libraries run with HF_HUB_OFFLINE=1, and no model is loaded.
Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DISABLE_VERSION_CHECK", "1")  # LLaMA-Factory's dependency version check

import yaml  # noqa: E402  (PyYAML, installed with transformers)

RESULTS: list[tuple[str, str, str]] = []  # (folder, check, outcome)


def record(folder: Path, check: str, outcome: str) -> None:
    RESULTS.append((folder.name, check, outcome))
    print(f"[{outcome.split(':')[0]:>4}] {folder.name}: {check}" + (f" -- {outcome}" if ":" in outcome else ""))


def run_check(folder: Path, check: str, fn) -> None:
    try:
        note = fn()
        record(folder, check, "ok" + (f": {note}" if note else ""))
    except SkipCheck as e:
        record(folder, check, f"skip: {e}")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        record(folder, check, f"FAIL: {type(e).__name__}: {e}")


class SkipCheck(Exception):
    pass


def version(mod: str) -> str:
    try:
        from importlib.metadata import version as v

        return v(mod)
    except Exception:  # noqa: BLE001
        return "not installed"


# ----------------------------------------------------------------------------- common checks


def check_common(folder: Path, manifest: dict) -> None:
    data = folder / manifest["data_file"]

    def counts():
        c = manifest["counts"]
        assert c["selected"] == c["written"] + c["skipped_malformed"] + c["skipped_invalid"] + c[
            "skipped_unrepresentable"
        ], c
        assert len(manifest["skipped"]) == c["selected"] - c["written"]
        for k in ("source", "selection", "format", "template", "sift_version", "created"):
            assert manifest.get(k), k
        return f"written {c['written']} of {c['selected']} selected"

    run_check(folder, "manifest sift_export.json", counts)

    def load():
        from datasets import load_dataset

        ds = load_dataset("json", data_files=str(data), split="train")
        assert len(ds) == manifest["counts"]["written"], (len(ds), manifest["counts"])
        cols = set(ds.column_names)
        want = {
            "trl": {"prompt", "completion"},
            "axolotl": {"messages"},
            "openai": {"messages"},
            "llamafactory": {"messages"},
            "sharegpt": {"conversations"},
            "alpaca": {"instruction", "input", "output"},
        }[manifest["format"]]
        assert want <= cols, (want, cols)
        return f"datasets.load_dataset('json'): {len(ds)} rows, columns {sorted(cols)}"

    run_check(folder, f"data file {data.name}", load)

    def launch():
        script = folder / "launch.sh"
        subprocess.run(["bash", "-n", str(script)], check=True)
        out = subprocess.run([str(script), "print-paths"], check=True, capture_output=True, text=True, cwd="/")
        lines = dict(l.split("=", 1) for l in out.stdout.splitlines() if "=" in l)
        assert Path(lines["run_dir"]).resolve() == folder.resolve(), lines
        assert lines["base_model"] == (manifest.get("base_model") or "REPLACE_WITH_BASE_MODEL"), lines
        return "bash -n, print-paths"

    run_check(folder, "launch.sh", launch)

    def base():
        return check_base_model(folder, manifest)

    run_check(folder, "base model folder is one the trainers load", base)


def check_base_model(folder: Path, manifest: dict) -> str:
    """What stopped real runs from sift checkpoints: no tokenizer config, no pad/EOS token (TRL,
    axolotl), no chat template (TRL, axolotl's tokenizer_default), a tokenizer that drops the BOS sift
    scores with, a token limit beyond the base's context, trust_remote_code nobody asked for."""
    base = manifest.get("base_model") or ""
    params = manifest["params"]
    text = "".join(p.read_text() for p in folder.glob("*.y*ml"))
    if not params.get("trust_remote_code"):
        assert "trust_remote_code: true" not in text, "trust_remote_code is set but was not asked for"
    local = Path(base)
    if not (local / "config.json").is_file():
        return f"hub id {base!r}: trust_remote_code off; tokenizer checked by the trainer at run time"
    cfg = json.loads((local / "config.json").read_text())
    assert params["max_len"] <= cfg["max_position_embeddings"], (params["max_len"], cfg["max_position_embeddings"])
    tc_path = local / "tokenizer_config.json"
    assert tc_path.is_file(), f"{base} has no tokenizer_config.json (no BOS/EOS/PAD, no chat template)"
    tc = json.loads(tc_path.read_text())
    for k in ("eos_token", "pad_token"):
        assert tc.get(k), f"tokenizer_config.json has no {k}"
    if manifest["trainer"] in ("trl", "axolotl"):
        assert tc.get("chat_template"), "tokenizer_config.json has no chat_template (TRL and axolotl apply it)"
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(local))
    assert tok.pad_token_id is not None and tok.eos_token_id is not None
    ids = tok("Hello")["input_ids"]
    if cfg.get("bos_token_id") is not None:
        assert ids[0] == cfg["bos_token_id"], f"tokenizer(text) does not start with BOS: {ids}"
    return f"local base: tokenizer config, pad/eos, chat template, BOS first, max_len {params['max_len']} <= context"


# ----------------------------------------------------------------------------- TRL


def check_trl(folder: Path, manifest: dict) -> None:
    def parse():
        import torch
        from trl.scripts.sft import make_parser

        # sft.yaml asks for bf16 (GPU training). Without a GPU, transformers refuses bf16 unless use_cpu
        # is set: add only that override, so the rest of the file is checked as written.
        extra = [] if torch.cuda.is_available() else ["--use_cpu", "true"]
        import warnings

        old = os.getcwd()
        os.chdir(folder)  # launch.sh runs from the folder: paths in sft.yaml are relative to it
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parser = make_parser()
                script_args, training_args, model_args, dataset_args = parser.parse_args_and_config(
                    args=["--config", "sft.yaml", *extra], fail_with_unknown_args=True
                )
        finally:
            os.chdir(old)
        deprecated = [str(w.message) for w in caught if "deprecated" in str(w.message)]
        assert not deprecated, f"sft.yaml triggers deprecation warnings: {deprecated}"
        assert model_args.model_name_or_path == manifest["base_model"], model_args.model_name_or_path
        assert training_args.completion_only_loss is True
        assert training_args.max_length == manifest["params"]["max_len"]
        assert abs(training_args.learning_rate - manifest["params"]["lr"]) < 1e-12
        assert training_args.num_train_epochs == manifest["params"]["epochs"]
        assert training_args.report_to in ([], "none", ["none"]), training_args.report_to
        assert training_args.output_dir == "output", training_args.output_dir
        assert training_args.bf16 is True
        note = " (no GPU here: parsed with --use_cpu true added)" if extra else ""
        d = dataset_args.datasets
        assert len(d) == 1 and d[0].path == "json" and d[0].data_files == manifest["data_file"], d
        parse.dataset_args = dataset_args
        return f"TrlParser/SFTConfig (trl {version('trl')}, transformers {version('transformers')}){note}"

    run_check(folder, "sft.yaml parsed by trl sft's parser", parse)

    def data():
        from trl import get_dataset
        from trl.data_utils import is_conversational

        args = getattr(parse, "dataset_args", None)
        if args is None:
            raise SkipCheck("sft.yaml did not parse")
        old = os.getcwd()
        os.chdir(folder)
        try:
            ds = get_dataset(args)["train"]
        finally:
            os.chdir(old)
        assert len(ds) == manifest["counts"]["written"]
        for row in ds:
            assert is_conversational(row), row
            assert row["completion"][-1]["role"] == "assistant"
            assert all(m["role"] in ("system", "user", "assistant", "tool") for m in row["prompt"]), row
        return f"trl.get_dataset: {len(ds)} conversational prompt/completion rows"

    run_check(folder, "dataset through TRL's loader", data)

    def accel():
        from accelerate.commands.config.config_args import load_config_from_file

        kinds = []
        for name, want in (("accelerate_zero3.yaml", "DEEPSPEED"), ("accelerate_fsdp2.yaml", "FSDP")):
            cfg = load_config_from_file(str(folder / name))
            assert str(cfg.distributed_type).endswith(want), cfg.distributed_type
            if want == "FSDP":
                assert int(cfg.fsdp_config["fsdp_version"]) == 2
            else:
                assert int(cfg.deepspeed_config["zero_stage"]) == 3
            kinds.append(f"{name}={want}")
        return f"accelerate {version('accelerate')} load_config_from_file: " + ", ".join(kinds)

    run_check(folder, "accelerate configs", accel)


# ----------------------------------------------------------------------------- axolotl

AXOLOTL_DATASET_KEYS = {
    "path", "ds_type", "type", "field_messages", "message_property_mappings", "roles_to_train",
    "message_field_training", "train_on_eos", "split", "data_files", "chat_template",
}
AXOLOTL_REQUIRED = {
    "base_model", "datasets", "train_on_inputs", "sequence_len", "micro_batch_size",
    "gradient_accumulation_steps", "num_epochs", "learning_rate", "output_dir",
}


def check_axolotl(folder: Path, manifest: dict) -> None:
    cfg = yaml.safe_load((folder / "config.yml").read_text())

    def structure():
        missing = AXOLOTL_REQUIRED - set(cfg)
        assert not missing, missing
        assert cfg["base_model"] == manifest["base_model"]
        assert cfg["train_on_inputs"] is False
        assert isinstance(cfg["learning_rate"], float), type(cfg["learning_rate"])
        (d,) = cfg["datasets"]
        assert set(d) <= AXOLOTL_DATASET_KEYS, set(d) - AXOLOTL_DATASET_KEYS
        assert d["type"] == "chat_template" and d["ds_type"] == "json" and d["field_messages"] == "messages"
        assert d["roles_to_train"] == ["assistant"] and d["message_field_training"] == "weight"
        assert (folder / d["path"]).is_file()
        ds = json.loads((folder / "deepspeed_zero3.json").read_text())
        assert ds["zero_optimization"]["stage"] == 3
        fsdp = yaml.safe_load((folder / "config_fsdp2.yml").read_text())
        assert fsdp["fsdp_version"] == 2 and {k: v for k, v in fsdp.items() if not k.startswith("fsdp")} == cfg
        return "PyYAML + documented keys"

    run_check(folder, "config.yml structure", structure)

    def schema():
        try:
            from axolotl.utils.config.models.input.v0_4_1 import AxolotlInputConfig  # older layout
        except Exception:  # noqa: BLE001
            try:
                from axolotl.utils.schemas.config import AxolotlInputConfig
            except Exception as e:  # noqa: BLE001
                raise SkipCheck(f"axolotl not importable ({type(e).__name__}: {e})") from None
        parsed = AxolotlInputConfig(**cfg)
        (d,) = parsed.datasets
        assert d.type == "chat_template" and d.roles_to_train == ["assistant"], d
        assert d.message_field_training == "weight" and parsed.train_on_inputs is False
        note = f"axolotl {version('axolotl')} AxolotlInputConfig"
        try:
            from axolotl.utils.config import validate_config
            from axolotl.utils.dict import DictDefault

            validate_config(DictDefault(cfg), capabilities={"bf16": True, "n_gpu": 1, "compute_capability": "sm_90"},
                            env_capabilities={"torch_version": version("torch")})
            note += " + validate_config"
        except Exception as e:  # noqa: BLE001
            note += f" (validate_config not run: {type(e).__name__}: {str(e)[:200]})"
        return note

    run_check(folder, "config.yml by axolotl's schema", schema)


# ----------------------------------------------------------------------------- LLaMA-Factory

LF_REQUIRED = {
    "model_name_or_path", "stage", "do_train", "finetuning_type", "dataset", "dataset_dir", "template",
    "cutoff_len", "output_dir", "train_on_prompt",
}


def check_llamafactory(folder: Path, manifest: dict) -> None:
    cfg = yaml.safe_load((folder / "train.yaml").read_text())
    info = json.loads((folder / "dataset_info.json").read_text())

    def structure():
        missing = LF_REQUIRED - set(cfg)
        assert not missing, missing
        assert cfg["stage"] == "sft" and cfg["do_train"] is True and cfg["train_on_prompt"] is False
        assert cfg["model_name_or_path"] == manifest["base_model"]
        assert cfg["template"] == manifest["template"]
        entry = info[cfg["dataset"]]
        assert entry["file_name"] == manifest["data_file"] and (folder / entry["file_name"]).is_file()
        assert entry["formatting"] in ("sharegpt", "alpaca")
        assert not any(c.isspace() for c in str(folder.resolve())), "LLaMA-Factory folders have no spaces"
        return f"PyYAML + documented keys; formatting {entry['formatting']}"

    run_check(folder, "train.yaml + dataset_info.json structure", structure)

    def parser():
        try:
            from llamafactory.hparams import get_train_args
        except Exception as e:  # noqa: BLE001
            raise SkipCheck(f"llamafactory not importable ({type(e).__name__}: {e})") from None
        import torch

        args = dict(cfg)
        note = ""
        if not torch.cuda.is_available():  # bf16 is for the GPU; without one, transformers wants use_cpu
            args["use_cpu"] = True
            note = " (no GPU here: use_cpu added)"
        args["dataset_dir"] = str(folder)
        args["output_dir"] = str(folder / "output")
        model_args, data_args, training_args, finetuning_args, _ = get_train_args(args)
        assert data_args.template == cfg["template"] and data_args.train_on_prompt is False
        return f"llamafactory {version('llamafactory')} get_train_args{note}"

    run_check(folder, "train.yaml by LLaMA-Factory's get_train_args", parser)

    def template():
        base = manifest.get("base_model") or ""
        if (Path(base) / "tokenizer_config.json").is_file():
            tc = json.loads((Path(base) / "tokenizer_config.json").read_text())
            if "### Response:" in (tc.get("chat_template") or ""):
                assert cfg["template"] == "alpaca", cfg["template"]
                return "sift checkpoint: alpaca"
        try:
            from llamafactory.extras.constants import DEFAULT_TEMPLATE, SUPPORTED_MODELS
        except Exception as e:  # noqa: BLE001
            raise SkipCheck(f"llamafactory not importable ({type(e).__name__}: {e})") from None
        for name, sources in SUPPORTED_MODELS.items():
            if base in sources.values() and DEFAULT_TEMPLATE.get(name):
                want = DEFAULT_TEMPLATE[name]
                assert cfg["template"] == want, f"template {cfg['template']!r}, LLaMA-Factory's own for {base} is {want!r}"
                return f"{want!r} = LLaMA-Factory's template for {base}"
        raise SkipCheck(f"{base} is not in LLaMA-Factory's model list")

    run_check(folder, "template is LLaMA-Factory's own for the base", template)

    def data():
        for attempt in (1, 2):
            # llamafactory.data imports its multimodal plugin, which may trip over optional audio/video
            # packages on the first import (e.g. no torchaudio); the text-only modules load on a retry.
            try:
                from llamafactory.data.converter import get_dataset_converter
                from llamafactory.data.parser import get_dataset_list
                from llamafactory.hparams import DataArguments

                break
            except Exception as e:  # noqa: BLE001
                if attempt == 2:
                    raise SkipCheck(f"llamafactory.data not importable ({type(e).__name__}: {e})") from None
        from datasets import load_dataset

        (attr,) = get_dataset_list([cfg["dataset"]], str(folder))
        data_args = DataArguments(dataset_dir=str(folder), template=cfg["template"])
        conv = get_dataset_converter(attr.formatting, attr, data_args)
        ds = load_dataset("json", data_files=str(folder / attr.dataset_name), split="train")
        for row in ds:
            out = conv(row)
            assert out["_prompt"] and out["_response"], (row, out)
            assert out["_prompt"][0]["role"] == "user" and out["_response"][0]["role"] == "assistant", out
        return f"get_dataset_list + {attr.formatting} converter: {len(ds)} rows, none rejected"

    run_check(folder, "dataset through LLaMA-Factory's converter", data)


# ----------------------------------------------------------------------------- fixtures

ALPACA = [
    {"instruction": "Add the numbers.", "input": "2 3", "output": "5", "system": "You are terse."},
    {"instruction": "Say hi", "input": "", "output": "Hi!", "history": [["Who are you?", "A helper."]]},
    {"instruction": "Quote $(this) `and` 'that'", "input": "", "output": "\"ok\""},
]
SHAREGPT = [
    {"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "Hello"},
                       {"from": "gpt", "value": "Hi"}, {"from": "human", "value": "Bye"},
                       {"from": "gpt", "value": "Goodbye"}]},
    {"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]},
]
OPENAI = [
    {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"},
                  {"role": "assistant", "content": "draft", "weight": 0}, {"role": "user", "content": "again"},
                  {"role": "assistant", "content": "final", "weight": 1}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
]


def make_exports(sift: str, work: Path) -> list[Path]:
    (work / "alpaca.json").write_text(json.dumps(ALPACA, indent=4))
    (work / "sharegpt.json").write_text(json.dumps(SHAREGPT))
    (work / "openai.jsonl").write_text("".join(json.dumps(r) + "\n" for r in OPENAI))
    (work / "openai.jsonl").open("a").write("{broken\n")
    for name, n in (("alpaca.json", 3), ("sharegpt.json", 2), ("openai.jsonl", 3)):
        for i in range(n):
            subprocess.run([sift, "set", str(work / name), "--index", str(i), "--status", "accepted"],
                           check=True, capture_output=True)
    base = "Qwen/Qwen2.5-0.5B-Instruct"
    jobs = [
        ("openai.jsonl", "trl", "trl run $(x) `y`"),
        ("alpaca.json", "trl", "trl-from-alpaca"),
        ("openai.jsonl", "axolotl", "axolotl run"),
        ("sharegpt.json", "axolotl", "axolotl-from-sharegpt"),
        ("openai.jsonl", "llamafactory", "lf-run"),
        ("alpaca.json", "alpaca", "lf-alpaca"),
        ("sharegpt.json", "sharegpt", "lf-sharegpt"),
    ]
    sift_base = str(Path(__file__).resolve().parent.parent / "assets/model")
    jobs = [(src, to, out, base) for src, to, out in jobs] + [
        ("alpaca.json", "trl", "trl-sift-base", sift_base),
        ("openai.jsonl", "axolotl", "axolotl-sift-base", sift_base),
        ("alpaca.json", "llamafactory", "lf-sift-base", sift_base),
        ("alpaca.json", "llamafactory", "lf-r1-distill", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"),
        ("alpaca.json", "llamafactory", "lf-gemma2", "google/gemma-2-2b-it"),
    ]
    dirs = []
    for src, to, out, base in jobs:
        r = subprocess.run([sift, "export", str(work / src), "--select", "accepted", "--to", to,
                            "--base", base, "--out", str(work / out)], capture_output=True, text=True)
        print(r.stdout, r.stderr, end="")
        r.check_returncode()
        dirs.append(work / out)
    return dirs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sift", default=str(Path(__file__).resolve().parent.parent / "target/release/sift"))
    ap.add_argument("dirs", nargs="*", type=Path)
    a = ap.parse_args()
    print("versions: " + ", ".join(f"{m} {version(m)}" for m in
                                    ("trl", "transformers", "datasets", "accelerate", "PyYAML", "axolotl",
                                     "llamafactory")))
    tmp = None
    dirs = a.dirs
    if not dirs:
        tmp = tempfile.TemporaryDirectory(prefix="sift-validate-")
        dirs = make_exports(a.sift, Path(tmp.name))
    for d in dirs:
        manifest = json.loads((d / "sift_export.json").read_text())
        check_common(d, manifest)
        {"trl": check_trl, "axolotl": check_axolotl, "llamafactory": check_llamafactory}[manifest["trainer"]](
            d, manifest
        )
    fails = [r for r in RESULTS if r[2].startswith("FAIL")]
    skips = [r for r in RESULTS if r[2].startswith("skip")]
    print(f"\n{len(RESULTS)} checks: {len(RESULTS) - len(fails) - len(skips)} ok, {len(skips)} skipped, "
          f"{len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
