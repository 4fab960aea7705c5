#!/usr/bin/env bash
# Trains 2 CPU steps with each of TRL, axolotl and LLaMA-Factory from a `sift export` run folder whose
# base is a sift checkpoint, exactly as `./launch.sh single` starts them, and checks with each trainer's
# own preprocessing that prompt tokens are masked (labels -100) and only the response (+ EOS) is trained.
#
# Usage: tools/smoke_trainers.sh [TRAINER...]        (default: trl axolotl llamafactory)
#   SIFT=target/release/sift   the sift binary
#   BASE=assets/model          the base model folder (a sift checkpoint)
#   VENVS=/work/venvs          one venv per trainer (VENVS/trl, VENVS/axolotl, VENVS/llamafactory),
#                              created with python3 -m venv and pip (from PyPI) when missing
#   WORK=$(mktemp -d)          where the dataset copy and run folders go
#   STEPS=2                    optimizer steps per trainer
# Prints the installed versions, each trainer's losses and the masking check; exits non-zero when any
# trainer failed.
set -uo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
SIFT="${SIFT:-$ROOT/target/release/sift}"
BASE="$(cd -- "${BASE:-$ROOT/assets/model}" && pwd -P)"
VENVS="${VENVS:-/work/venvs}"
WORK="${WORK:-$(mktemp -d -t sift-smoke-XXXXXX)}"
STEPS="${STEPS:-2}"
TRAINERS=("${@:-trl axolotl llamafactory}")
read -r -a TRAINERS <<<"${TRAINERS[*]}"

declare -A PACKAGES=(
  [trl]="torch transformers trl accelerate datasets"
  [axolotl]="axolotl"
  [llamafactory]="torch llamafactory"
)
declare -A COMMAND=([trl]=trl [axolotl]=axolotl [llamafactory]=llamafactory-cli)
# Settings for a CPU machine, passed through launch.sh as the trainer arguments it forwards.
declare -A CPU_ARGS=(
  [trl]="--max_steps $STEPS --use_cpu true --bf16 false --per_device_train_batch_size 2 --gradient_accumulation_steps 1 --dataloader_num_workers 0"
  [axolotl]="--max_steps $STEPS --bf16 false --micro_batch_size 2 --gradient_accumulation_steps 1 --gradient_checkpointing false --dataset_processes 1"
  [llamafactory]="--max_steps $STEPS --use_cpu true --bf16 false --per_device_train_batch_size 2 --gradient_accumulation_steps 1 --preprocessing_num_workers 1"
)

mkdir -p "$WORK"
echo "work folder: $WORK"
[[ -x "$SIFT" ]] || { echo "no sift binary at $SIFT (cargo build --release)" >&2; exit 2; }

# A small accepted selection of the Alpaca sample (the first 16 records).
DATA="$WORK/alpaca_sample.json"
cp "$ROOT/sample_datasets/alpaca_sample.json" "$DATA"
for i in $(seq 0 15); do echo "status $i accepted"; done | "$SIFT" batch "$DATA" >/dev/null || exit 1
printf 'save\n' | "$SIFT" batch "$DATA" >/dev/null || exit 1

FAILED=()
for t in "${TRAINERS[@]}"; do
  venv="$VENVS/$t"
  echo; echo "=== $t"
  if [[ ! -x "$venv/bin/${COMMAND[$t]}" ]]; then
    echo "installing into $venv: ${PACKAGES[$t]}"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q ${PACKAGES[$t]} || { echo "$t: install failed" >&2; FAILED+=("$t (install)"); continue; }
  fi
  "$venv/bin/python" - <<PY
from importlib.metadata import version
for p in ("$t" if "$t" != "llamafactory" else "llamafactory", "torch", "transformers", "trl", "datasets", "accelerate"):
    try: print(f"  {p} {version(p)}")
    except Exception: pass
PY
  run="$WORK/$t-run"
  "$SIFT" export "$DATA" --select accepted --to "$t" --base "$BASE" --out "$run" || { FAILED+=("$t (export)"); continue; }
  # shellcheck disable=SC2086
  if ! (cd "$run" && PATH="$venv/bin:$PATH" CUDA_VISIBLE_DEVICES="" HF_HUB_OFFLINE=1 DISABLE_VERSION_CHECK=1 DO_NOT_TRACK=1 AXOLOTL_DO_NOT_TRACK=1 \
        ./launch.sh single ${CPU_ARGS[$t]} > train.log 2>&1); then
    tail -n 30 "$run/train.log"; FAILED+=("$t (train)"); continue
  fi
  grep -oE "\{'loss': [^}]*\}" "$run/train.log" | head -n "$STEPS" | sed 's/^/  /'
  if ! HF_HUB_OFFLINE=1 DISABLE_VERSION_CHECK=1 DO_NOT_TRACK=1 AXOLOTL_DO_NOT_TRACK=1 "$venv/bin/python" "$ROOT/tools/check_masking.py" "$t" "$run" "$DATA"; then
    FAILED+=("$t (masking)")
  fi
done
echo
if ((${#FAILED[@]})); then echo "failed: ${FAILED[*]}"; exit 1; fi
echo "all trainers ran $STEPS steps from $BASE and masked the prompt"
