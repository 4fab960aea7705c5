//! Shell quoting and the `launch.sh` written beside each export.
//!
//! Nothing user-controlled (folder names, file names, the base model) is ever written into the script
//! unquoted or into a comment: every value goes through [`shquote`], which produces one single-quoted
//! word that bash reads back byte for byte, whatever it contains (`$`, backticks, `;`, quotes, newlines).
//! The script finds its own folder at run time and works relative to it, so the folder can be copied
//! to a cluster under any name.

use super::Trainer;

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
    pub trainer: Trainer,
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
# Usage: ./launch.sh [MODE]      (or LAUNCH_MODE=MODE ./launch.sh)
#   single       one process, one GPU (default)
#   multi-gpu    every GPU of this machine: GPUS=N (default: all visible), ACCEL=zero3|fsdp2 (default zero3)
#   multi-node   one launcher per node: NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT (default 29500),
#                GPUS_PER_NODE (default: all visible). Under Slurm these default to SLURM_NNODES,
#                SLURM_NODEID (or SLURM_PROCID) and the first host of SLURM_JOB_NODELIST, so
#                   srun --nodes=2 --ntasks-per-node=1 ./launch.sh multi-node
#                starts one launcher on each node.
#   print-paths  print the folder, files and model this script uses, then exit
#   check        check that the trainer's command is installed, then exit
#
# Every value below is single-quoted: names with spaces or shell characters are taken literally.
set -euo pipefail

RUN_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
cd -- "$RUN_DIR"

"#;

const COMMON: &str = r#"
MODE="${1:-${LAUNCH_MODE:-single}}"
ACCEL="${ACCEL:-zero3}"

count_gpus() {
  if [[ -n "${GPUS:-}" ]]; then
    printf '%s\n' "$GPUS"
  elif [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    awk -F, '{print NF}' <<<"$CUDA_VISIBLE_DEVICES"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L | grep -c '^GPU' || echo 1
  else
    echo 1
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

accel_config() {
  case "$ACCEL" in
    zero3) printf '%s\n' 'accelerate_zero3.yaml' ;;
    fsdp2) printf '%s\n' 'accelerate_fsdp2.yaml' ;;
    *) echo "launch.sh: ACCEL must be zero3 or fsdp2, not '$ACCEL'" >&2; exit 2 ;;
  esac
}

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "launch.sh: '$1' is not installed (pip install $2)" >&2
    exit 127
  fi
}

check_base() {
  if [[ "$BASE_MODEL" == 'REPLACE_WITH_BASE_MODEL' ]]; then
    echo "launch.sh: no base model was given at export; set it in $CONFIG (or re-export with --base)" >&2
    exit 2
  fi
}

case "$MODE" in
  print-paths)
    printf 'run_dir=%s\n' "$RUN_DIR"
    printf 'exported_to=%s\n' "$EXPORTED_TO"
    printf 'trainer=%s\n' "$TRAINER"
    printf 'config=%s\n' "$RUN_DIR/$CONFIG"
    printf 'data=%s\n' "$RUN_DIR/$DATA"
    printf 'base_model=%s\n' "$BASE_MODEL"
    printf 'output_dir=%s\n' "$RUN_DIR/$OUTPUT_DIR"
    exit 0
    ;;
  check)
    need "$TRAINER_CMD" "$TRAINER_PIP"
    echo "launch.sh: $TRAINER_CMD found"
    exit 0
    ;;
  single|multi-gpu|multi-node) check_base ;;
  *)
    echo "launch.sh: unknown mode '$MODE' (single, multi-gpu, multi-node, print-paths, check)" >&2
    exit 2
    ;;
esac
"#;

const TRL: &str = r#"
# TRL: `trl sft --config sft.yaml`. The data is conversational prompt/completion, which TRL
# trains on the completion only (completion_only_loss).
case "$MODE" in
  single)
    need trl trl
    exec trl sft --config "$CONFIG"
    ;;
  multi-gpu)
    # accelerate + DeepSpeed ZeRO-3 (ACCEL=zero3) or FSDP2 (ACCEL=fsdp2), one process per GPU.
    need accelerate accelerate
    exec accelerate launch --config_file "$(accel_config)" --num_processes "$(count_gpus)" \
      -m trl.scripts.sft --config "$CONFIG"
    ;;
  multi-node)
    # Run once per node (srun does that under Slurm); accelerate's rank = this node's rank.
    need accelerate accelerate
    node_setup
    exec accelerate launch --config_file "$(accel_config)" \
      --num_machines "$NNODES" --machine_rank "$NODE_RANK" \
      --main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" \
      --num_processes "$((NNODES * GPUS_PER_NODE))" \
      -m trl.scripts.sft --config "$CONFIG"
    ;;
esac
"#;

const AXOLOTL: &str = r#"
# axolotl: `axolotl train config.yml`. Prompt tokens are masked by train_on_inputs: false and
# roles_to_train: ["assistant"] (turns with weight 0 are masked too). For DeepSpeed ZeRO-3 or FSDP2,
# uncomment the `deepspeed:` or `fsdp_version: 2` lines in config.yml.
case "$MODE" in
  single)
    need axolotl axolotl
    export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
    exec axolotl train "$CONFIG"
    ;;
  multi-gpu)
    need axolotl axolotl
    exec axolotl train "$CONFIG" --launcher torchrun -- --nproc_per_node "$(count_gpus)"
    ;;
  multi-node)
    need axolotl axolotl
    node_setup
    exec axolotl train "$CONFIG" --launcher torchrun -- \
      --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \
      --rdzv_id "${SLURM_JOB_ID:-sift}" --rdzv_backend c10d --rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT"
    ;;
esac
"#;

const LLAMAFACTORY: &str = r#"
# LLaMA-Factory: `llamafactory-cli train train.yaml` (train_on_prompt: false). Its launcher splits
# its arguments on spaces, so this script passes only the relative, space-free name train.yaml.
# For DeepSpeed ZeRO-3 uncomment `deepspeed: ds_z3_config.json` in train.yaml (needs FORCE_TORCHRUN=1,
# which the multi-GPU and multi-node modes set).
case "$MODE" in
  single)
    need llamafactory-cli llamafactory
    export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES:-0}"
    exec llamafactory-cli train "$CONFIG"
    ;;
  multi-gpu)
    need llamafactory-cli llamafactory
    export FORCE_TORCHRUN=1 NPROC_PER_NODE="$(count_gpus)"
    exec llamafactory-cli train "$CONFIG"
    ;;
  multi-node)
    need llamafactory-cli llamafactory
    node_setup
    export FORCE_TORCHRUN=1 NPROC_PER_NODE="$GPUS_PER_NODE"
    exec llamafactory-cli train "$CONFIG"
    ;;
esac
"#;

/// The whole `launch.sh`.
pub fn launch_script(v: &LaunchVars) -> String {
    let (cmd, pip, body) = match v.trainer {
        Trainer::Trl => ("trl", "trl", TRL),
        Trainer::Axolotl => ("axolotl", "axolotl", AXOLOTL),
        Trainer::LlamaFactory => ("llamafactory-cli", "llamafactory", LLAMAFACTORY),
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
