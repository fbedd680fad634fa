#!/usr/bin/env bash
# Trains a model the way the shipped default (and its U-Net baseline) were trained, in four
# stages: the config's 2,000 steps; the same run resumed to 5,500 steps (the learning rate starts
# again at 2e-4, stays there until the new halfway point, 2,750, and falls linearly to 0 at
# 5,500); then 500 steps of polish fine-tuning from that model with assets/default/polish.json
# (L1 weight 1000, no feature matching, lr 5e-5 falling to 0, EMA 0.99) into OUT/polish; then
# (MRU generators only) 5,000 steps of the high-resolution levels (8 and 4 channels, 256 and
# 512 px) above that frozen trunk into OUT/highres, whose model.safetensors is the result.
# Interrupt it at any time (Ctrl+C saves) and run it again: it resumes.
#
#   scripts/train_default.sh                                   # the default model -> runs/default
#   scripts/train_default.sh assets/default/ablation/unet_patchgan.json runs/unet_patchgan
#
# On 2 CPU cores the stages take about 1 hour, 2 hours, 10 and 20 minutes; a GPU takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

config=${1:-assets/default/recipe.json}
out=${2:-runs/default}
first=${FIRST_STEPS:-2000}
total=${TOTAL_STEPS:-5500}
polish_config=${POLISH_CONFIG:-assets/default/polish.json}
highres_steps=${HIGHRES_STEPS:-5000}
highres_limit=${HIGHRES_LIMIT:-0}  # at most this many training pictures for the levels (0: all)
sketchpad=${SKETCHPAD:-sketchpad}

# shellcheck source=run_progress.sh
source scripts/run_progress.sh  # done_to RUN

mkdir -p "$out"
if [ ! -f "$out/config.json" ]; then
  "$sketchpad" train --config "$config" --out "$out" --progress jsonl >> "$out/progress.jsonl"
elif [ "$(done_to "$out")" -lt "$first" ]; then
  "$sketchpad" train --out "$out" --resume --progress jsonl >> "$out/progress.jsonl"
fi
if [ "$(done_to "$out")" -lt "$total" ]; then
  "$sketchpad" train --out "$out" --resume --steps "$total" --progress jsonl >> "$out/progress.jsonl"
fi
polish=$out/polish
if [ ! -d "$polish/checkpoints" ]; then
  description=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["description"])' \
    "$out/config.json")
  mkdir -p "$polish"
  "$sketchpad" train --config "$polish_config" --init "$out/model.safetensors" --out "$polish" \
    --description "$description" --progress jsonl >> "$polish/progress.jsonl"
elif [ "$(done_to "$polish")" -eq 0 ]; then
  "$sketchpad" train --out "$polish" --resume --progress jsonl >> "$polish/progress.jsonl"
fi
"$sketchpad" eval --model "$polish/model.safetensors" --split test
if grep -q '"arch": *"unet"' "$config" || [ "$highres_steps" -eq 0 ]; then
  exit 0  # the U-Net baseline has no high-resolution levels (and HIGHRES_STEPS=0 asks for none)
fi
highres=$out/highres
resume=()
if [ -d "$highres/checkpoints" ]; then
  resume=(--resume)
fi
data=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"])' "$out/config.json")
"$sketchpad" train-highres --model "$polish/model.safetensors" --data "$data" --out "$highres" \
  --widths 8,4 --steps "$highres_steps" --limit "$highres_limit" ${resume[@]+"${resume[@]}"}
"$sketchpad" eval --model "$highres/model.safetensors" --split test --full
