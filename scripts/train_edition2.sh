#!/usr/bin/env bash
# The default model's second edition: colour hints, noise for variations and 512 px pictures,
# trained on top of a first-edition trunk (scripts/train_default.sh) in three more stages:
#   4. hinted: the trunk grows hint inputs (4 channels) and noise (8, one vector per picture),
#      which start at zero, so step 0 paints as the first edition; assets/default/edition2/
#      hinted.json: 1,600 steps of hinge + 1000·L1 at lr 5e-5 (conditional IMLE with 3 noise
#      tries, the robustness augmentation with 30% of the pairs drawn small and off-centre,
#      hints sampled from the targets, none on 30% of the pairs);
#   5. polish: assets/default/edition2/polish.json, the same at lr 1e-4 for 2,800 steps, then its
#      BatchNorm statistics recomputed over 100 training batches (`sketchpad recalibrate`);
#   6. the high-resolution levels (8 and 4 channels, 256 and 512 px) above that frozen trunk.
# Then it evaluates the result beside the first edition. Interrupt it at any time (Ctrl+C saves)
# and run it again: it resumes. The run folder is self-contained, so it also resumes after being
# copied to another machine.
#
#   scripts/train_edition2.sh                      # first edition from scratch, then 4-6 -> runs/edition2
#   START=first.safetensors scripts/train_edition2.sh runs/edition2   # 4-6 on a first-edition model
#
# On 2 CPU cores (AVX512-BF16) stage 4 takes about 35 minutes, 5 about 60, 6 about 20.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-runs/edition2}
hinted_config=${HINTED_CONFIG:-assets/default/edition2/hinted.json}
polish_config=${POLISH_CONFIG:-assets/default/edition2/polish.json}
highres_steps=${HIGHRES_STEPS:-5000}
highres_limit=${HIGHRES_LIMIT:-0}
sketchpad=${SKETCHPAD:-sketchpad}

# shellcheck source=run_progress.sh
source scripts/run_progress.sh  # done_to RUN

# run_stage CONFIG INIT RUN: a fine-tune from INIT with CONFIG into RUN, resumed when begun
run_stage() {
  mkdir -p "$3"
  if [ ! -d "$3/checkpoints" ]; then
    "$sketchpad" train --config "$1" --init "$2" --out "$3" --progress jsonl >> "$3/progress.jsonl"
  elif [ "$(done_to "$3")" -eq 0 ]; then
    "$sketchpad" train --out "$3" --resume --progress jsonl >> "$3/progress.jsonl"
  fi
}

start=${START:-}
if [ -z "$start" ]; then
  HIGHRES_STEPS=0 SKETCHPAD="$sketchpad" scripts/train_default.sh assets/default/recipe.json "$out/first"
  start=$out/first/polish/model.safetensors
fi
mkdir -p "$out"
run_stage "$hinted_config" "$start" "$out/hinted"
run_stage "$polish_config" "$out/hinted/model.safetensors" "$out/polish"
trunk=$out/polish/recalibrated.safetensors
if [ ! -f "$trunk" ]; then  # BatchNorm statistics over 100 batches, not the last few dozen
  "$sketchpad" recalibrate --model "$out/polish/model.safetensors" --out "$trunk" --batches 100
fi
resume=()
if [ -d "$out/highres/checkpoints" ]; then
  resume=(--resume)
fi
"$sketchpad" train-highres --model "$trunk" --data openmoji \
  --out "$out/highres" --widths 8,4 --steps "$highres_steps" --limit "$highres_limit" \
  ${resume[@]+"${resume[@]}"}
model=$out/highres/model.safetensors
"$sketchpad" eval --model "$model" --split test --hints 0,4,16 --perturb --diversity \
  | tee "$out/eval.txt"
"$sketchpad" eval --model "$model" --split test --full --baseline "$start" | tee "$out/eval_full.txt"
