//! Shell quoting and the `launch.sh` written beside each export.
//!
//! Nothing user-controlled (folder names, file names, the base model) is ever written into the script
//! unquoted or into a comment: every value goes through [`shquote`], which produces one single-quoted
//! word that bash reads back byte for byte, whatever it contains (`$`, backticks, `;`, quotes, newlines).
//! The script finds its own folder at run time and works relative to it, so the folder can be copied
//! to a cluster under any name.

use super::ExternalTrainer;

/// Quotes `s` as a single POSIX shell word: `'...'`, each `'` written as `'\''`. Inside single quotes
/// no character is special, so the result can never expand, substitute or end a command.
/// (NUL cannot be represented in a shell word; callers reject it, see [`check_no_nul`].)
pub fn shquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// NUL cannot appear in a shell word, a path or an argument: refuse such values up front.
pub fn check_no_nul(what: &str, s: &str) -> Result<(), String> {
    if s.contains('\0') { Err(format!("{what} contains a NUL character")) } else { Ok(()) }
}

/// Values embedded in a launch script.
pub struct LaunchVars<'a> {
    pub trainer: ExternalTrainer,
    /// Where the export was written (informational: the script uses its own folder at run time).
    pub exported_to: &'a str,
    /// The trainer's config file, relative to the run folder.
    pub config: &'a str,
    /// The data file, relative to the run folder.
    pub data: &'a str,
    pub base_model: &'a str,
    /// The trainer's output folder, relative to the run folder.
    pub output_dir: &'a str,
    pub sift_version: &'a str,
}

/// Placeholder written when no base model was given; the script refuses to start while it is there.
pub const BASE_PLACEHOLDER: &str = "REPLACE_WITH_BASE_MODEL";

const HEADER: &str = r#"#!/usr/bin/env bash
# Written by sift export. Runs the exported selection with the trainer named below.
#
# Usage: ./launch.sh [MODE] [TRAINER ARGS...]      (or LAUNCH_MODE=MODE ./launch.sh ...)
#   single       one process, one GPU (default)
#   multi-gpu    every GPU of this machine: GPUS=N (default: all visible)
#   multi-node   one launcher per node: NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT (default 29500),
#                GPUS_PER_NODE (default: all visible). Under Slurm these default to SLURM_NNODES,
#                SLURM_NODEID (or SLURM_PROCID) and the first host of SLURM_JOB_NODELIST, so
#                   srun --nodes=2 --ntasks-per-node=1 ./launch.sh multi-node
#                starts one launcher on each node.
#   print-paths  print the folder, files and model this script uses, then exit
#   check        check that everything MODE (LAUNCH_MODE, default single) and ACCEL need is installed
#
# ACCEL (multi-gpu, multi-node): zero3 (DeepSpeed ZeRO-3, default), fsdp2 (PyTorch FSDP2) or ddp.
# TRAINER ARGS go to the trainer as settings that override the config: `--max_steps 2` or
# `--max_steps=2` (LLaMA-Factory receives them as `max_steps=2`).
#
# Every value below is single-quoted: names with spaces or shell characters are taken literally.
set -euo pipefail

RUN_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$RUN_DIR"

"#;

const COMMON: &str = r#"
case "${1:-}" in
  single|multi-gpu|multi-node|print-paths|check) MODE="$1"; shift ;;
  ''|-*|*=*) MODE="${LAUNCH_MODE:-single}" ;;
  *)
    echo "launch.sh: unknown mode '$1' (single, multi-gpu, multi-node, print-paths, check)" >&2
    exit 2
    ;;
esac
EXTRA=("$@")
CHECK_ONLY=0
if [[ "$MODE" == check ]]; then
  CHECK_ONLY=1
  MODE="${LAUNCH_MODE:-single}"
fi
ACCEL="${ACCEL:-zero3}"
case "$ACCEL" in
  zero3|fsdp2|ddp) ;;
  *) echo "launch.sh: ACCEL must be zero3, fsdp2 or ddp, not '$ACCEL'" >&2; exit 2 ;;
esac

count_gpus() {
  if [[ -n "${GPUS:-}" ]]; then
    printf '%s\n' "$GPUS"
  elif [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    awk -F, '{print NF}' <<<"$CUDA_VISIBLE_DEVICES"
  else
    local n=0
    if command -v nvidia-smi >/dev/null 2>&1; then
      n="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
    fi
    if [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]]; then printf '%s\n' "$n"; else echo 1; fi
  fi
}

node_setup() {
  NNODES="${NNODES:-${SLURM_NNODES:-${SLURM_JOB_NUM_NODES:-1}}}"
  NODE_RANK="${NODE_RANK:-${SLURM_NODEID:-${SLURM_PROCID:-0}}}"
  if [[ -z "${MASTER_ADDR:-}" && -n "${SLURM_JOB_NODELIST:-}" ]] && command -v scontrol >/dev/null 2>&1; then
    MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
  fi
  MASTER_ADDR="${MASTER_ADDR:?set MASTER_ADDR (the address of the rank-0 node) for multi-node}"
  MASTER_PORT="${MASTER_PORT:-29500}"
  GPUS_PER_NODE="${GPUS_PER_NODE:-$(count_gpus)}"
  export NNODES NODE_RANK MASTER_ADDR MASTER_PORT GPUS_PER_NODE
}

# A command on PATH, or how to install it.
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "launch.sh: '$1' is not installed; install it with: pip install $2" >&2
    exit 127
  fi
}

# The Python interpreter the trainer's command runs with (its venv's python when it has one).
trainer_python() {
  local exe dir
  exe="$(command -v "$TRAINER_CMD")"
  dir="$(dirname -- "$exe")"
  if [[ -x "$dir/python" ]]; then printf '%s\n' "$dir/python"; else command -v python3 || command -v python; fi
}

# A Python package importable by the trainer's interpreter, or how to install it there.
need_module() {
  local py
  py="$(trainer_python)"
  if ! "$py" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null; then
    echo "launch.sh: ACCEL=$ACCEL needs the Python package '$1', which $py cannot import; install it with: $py -m pip install $2" >&2
    exit 127
  fi
}

# What the chosen MODE and ACCEL need, checked before anything starts.
check_install() {
  need "$TRAINER_CMD" "$TRAINER_PIP"
  if [[ "$MODE" != single ]]; then
    case "$ACCEL" in
      zero3) need_module deepspeed deepspeed ;;
      fsdp2) need_module torch.distributed.fsdp torch ;;
    esac
    if [[ "$TRAINER" == trl && "$ACCEL" != ddp ]]; then need accelerate accelerate; fi
  fi
  if [[ "$TRAINER" == trl ]] && grep -q '^activation_checkpointing:' "$CONFIG"; then
    local py
    py="$(trainer_python)"
    if ! "$py" -c "import dataclasses, importlib.util, sys; sys.exit(0) if importlib.util.find_spec('transformers') is None else None; import transformers; sys.exit('activation_checkpointing' not in {f.name for f in dataclasses.fields(transformers.TrainingArguments)})" 2>/dev/null; then
      echo "launch.sh: $CONFIG sets activation_checkpointing, which the transformers of $py predates; upgrade it ($py -m pip install -U transformers) or write gradient_checkpointing: true in $CONFIG instead" >&2
      exit 2
    fi
  fi
}

check_base() {
  if [[ "$BASE_MODEL" == 'REPLACE_WITH_BASE_MODEL' ]]; then
    echo "launch.sh: no base model was given at export; set it in $CONFIG (or re-export with --base)" >&2
    exit 2
  fi
}

if [[ "$MODE" == print-paths ]]; then
  printf 'run_dir=%s\n' "$RUN_DIR"
  printf 'exported_to=%s\n' "$EXPORTED_TO"
  printf 'trainer=%s\n' "$TRAINER"
  printf 'config=%s\n' "$RUN_DIR/$CONFIG"
  printf 'data=%s\n' "$RUN_DIR/$DATA"
  printf 'base_model=%s\n' "$BASE_MODEL"
  printf 'output_dir=%s\n' "$RUN_DIR/$OUTPUT_DIR"
  exit 0
fi
if [[ "$CHECK_ONLY" == 0 ]]; then check_base; fi
check_install
if [[ "$CHECK_ONLY" == 1 ]]; then
  echo "launch.sh: $TRAINER_CMD found; everything $MODE (ACCEL=$ACCEL) needs is installed"
  exit 0
fi
"#;

const TRL: &str = r#"
# TRL: `trl sft --config sft.yaml`. The data is conversational prompt/completion, which TRL
# trains on the completion only (completion_only_loss). Multi-GPU runs go through accelerate with
# accelerate_zero3.yaml or accelerate_fsdp2.yaml (ACCEL), or torchrun for ACCEL=ddp.
accel_config() {
  case "$ACCEL" in
    zero3) printf '%s\n' 'accelerate_zero3.yaml' ;;
    fsdp2) printf '%s\n' 'accelerate_fsdp2.yaml' ;;
  esac
}
case "$MODE" in
  single)
    exec trl sft --config "$CONFIG" "${EXTRA[@]}"
    ;;
  multi-gpu)
    if [[ "$ACCEL" == ddp ]]; then
      exec torchrun --nproc_per_node "$(count_gpus)" -m trl.scripts.sft --config "$CONFIG" "${EXTRA[@]}"
    fi
    exec accelerate launch --config_file "$(accel_config)" --num_processes "$(count_gpus)" \
      -m trl.scripts.sft --config "$CONFIG" "${EXTRA[@]}"
    ;;
  multi-node)
    # Run once per node (srun does that under Slurm); accelerate's rank = this node's rank.
    node_setup
    if [[ "$ACCEL" == ddp ]]; then
      exec torchrun --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \
        --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" -m trl.scripts.sft --config "$CONFIG" "${EXTRA[@]}"
    fi
    exec accelerate launch --config_file "$(accel_config)" \
      --num_machines "$NNODES" --machine_rank "$NODE_RANK" \
      --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \
      --num_processes "$((NNODES * GPUS_PER_NODE))" \
      -m trl.scripts.sft --config "$CONFIG" "${EXTRA[@]}"
    ;;
esac
"#;

const AXOLOTL: &str = r#"
# axolotl: `axolotl train config.yml`. Prompt tokens are masked by train_on_inputs: false and
# roles_to_train: ["assistant"] (turns with weight 0 are masked too). Multi-GPU: ACCEL=zero3 adds
# `--deepspeed deepspeed_zero3.json`, ACCEL=fsdp2 trains from config_fsdp2.yml (config.yml + FSDP2 keys).
accel_args() {
  case "$ACCEL" in
    zero3) printf '%s\n' "$CONFIG" --deepspeed deepspeed_zero3.json ;;
    fsdp2) printf '%s\n' config_fsdp2.yml ;;
    ddp) printf '%s\n' "$CONFIG" ;;
  esac
}
# axolotl's options spell config keys with dashes: `--max_steps 2` becomes `--max-steps 2`.
mapfile -t AX_ARGS < <(for a in "${EXTRA[@]}"; do
  if [[ "$a" == --* ]]; then k="${a%%=*}"; k="${k//_/-}"; [[ "$a" == *=* ]] && k="$k=${a#*=}"; printf '%s\n' "$k"; else printf '%s\n' "$a"; fi
done)
case "$MODE" in
  single)
    export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
    exec axolotl train "$CONFIG" "${AX_ARGS[@]}" --launcher python
    ;;
  multi-gpu)
    mapfile -t ACCEL_ARGS < <(accel_args)
    exec axolotl train "${ACCEL_ARGS[@]}" "${AX_ARGS[@]}" --launcher torchrun -- --nproc_per_node "$(count_gpus)"
    ;;
  multi-node)
    node_setup
    mapfile -t ACCEL_ARGS < <(accel_args)
    exec axolotl train "${ACCEL_ARGS[@]}" "${AX_ARGS[@]}" --launcher torchrun -- \
      --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \
      --rdzv_id "${SLURM_JOB_ID:-sift}" --rdzv_backend c10d --rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT"
    ;;
esac
"#;

const LLAMAFACTORY: &str = r#"
# LLaMA-Factory: `llamafactory-cli train train.yaml KEY=VALUE...` (train_on_prompt: false). Its
# launcher splits its arguments on spaces, so this script passes only space-free names and values.
# Multi-GPU (FORCE_TORCHRUN=1): ACCEL=zero3 adds `deepspeed=ds_z3_config.json`, ACCEL=fsdp2 trains
# from train_fsdp2.yaml (train.yaml + the HF Trainer's FSDP2 keys).
lf_overrides() {
  local i=0 a
  while (( i < ${#EXTRA[@]} )); do
    a="${EXTRA[$i]}"
    case "$a" in
      --*=*) printf '%s\n' "${a#--}" ;;
      --*)
        i=$((i + 1))
        if (( i >= ${#EXTRA[@]} )); then echo "launch.sh: $a needs a value" >&2; exit 2; fi
        printf '%s=%s\n' "${a#--}" "${EXTRA[$i]}"
        ;;
      *) printf '%s\n' "$a" ;;
    esac
    i=$((i + 1))
  done
}
mapfile -t LF_ARGS < <(lf_overrides)
for a in "${LF_ARGS[@]}"; do
  if [[ "$a" =~ [[:space:]] ]]; then echo "launch.sh: LLaMA-Factory cannot take an argument with spaces: '$a'" >&2; exit 2; fi
done
case "$MODE" in
  single)
    export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
    exec llamafactory-cli train "$CONFIG" "${LF_ARGS[@]}"
    ;;
  multi-gpu|multi-node)
    if [[ "$MODE" == multi-node ]]; then node_setup; export NPROC_PER_NODE="$GPUS_PER_NODE"; else export NPROC_PER_NODE="$(count_gpus)"; fi
    export FORCE_TORCHRUN=1
    case "$ACCEL" in
      zero3) exec llamafactory-cli train "$CONFIG" deepspeed=ds_z3_config.json "${LF_ARGS[@]}" ;;
      fsdp2) exec llamafactory-cli train train_fsdp2.yaml "${LF_ARGS[@]}" ;;
      ddp) exec llamafactory-cli train "$CONFIG" "${LF_ARGS[@]}" ;;
    esac
    ;;
esac
"#;

/// The whole `launch.sh`.
pub fn launch_script(v: &LaunchVars) -> String {
    let (cmd, pip, body) = match v.trainer {
        ExternalTrainer::Trl => ("trl", "trl", TRL),
        ExternalTrainer::Axolotl => ("axolotl", "axolotl", AXOLOTL),
        ExternalTrainer::LlamaFactory => ("llamafactory-cli", "llamafactory", LLAMAFACTORY),
    };
    let mut s = String::from(HEADER);
    let vars = [
        ("TRAINER", v.trainer.name()),
        ("TRAINER_CMD", cmd),
        ("TRAINER_PIP", pip),
        ("SIFT_VERSION", v.sift_version),
        ("EXPORTED_TO", v.exported_to),
        ("CONFIG", v.config),
        ("DATA", v.data),
        ("BASE_MODEL", v.base_model),
        ("OUTPUT_DIR", v.output_dir),
    ];
    for (k, val) in vars {
        s.push_str(&format!("{k}={}\n", shquote(val)));
    }
    s.push_str(COMMON);
    s.push_str(body);
    s.push_str("echo \"launch.sh: nothing to run for mode '$MODE'\" >&2\nexit 2\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_special_character() {
        assert_eq!(shquote(""), "''");
        assert_eq!(shquote("plain"), "'plain'");
        assert_eq!(shquote("it's"), "'it'\\''s'");
        assert_eq!(shquote("a'b'c"), "'a'\\''b'\\''c'");
        assert_eq!(shquote("$(x) `y` ;z\n\"q\""), "'$(x) `y` ;z\n\"q\"'");
    }

    #[test]
    fn bash_reads_quoted_words_back_exactly() {
        if std::process::Command::new("bash").arg("--version").output().is_err() {
            return;
        }
        let samples = [
            "",
            "plain",
            "with space",
            "it's",
            "''''",
            "'\\''",
            "$(touch /tmp/sift-pwned)",
            "`id`;rm -rf /nonexistent",
            "a\nb\n",
            "tab\there",
            "\"dq\" $HOME ${PATH} !! \\ * ? [a] ~ # & | < >",
            "ünï©ødé ✓",
        ];
        for s in samples {
            let script = format!("printf '%s' {}", shquote(s));
            let out = std::process::Command::new("bash").arg("-c").arg(&script).output().unwrap();
            assert!(out.status.success());
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "script: {script}");
        }
    }
}
