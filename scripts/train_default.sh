#!/usr/bin/env bash
# Trains a model the way the shipped default (and its U-Net baseline) were trained: the
# config's 2,000 steps, then the same run resumed to 5,500 steps. On the resume the learning
# rate starts again at 2e-4, stays there until the new halfway point (2,750) and falls linearly
# to 0 at 5,500. Interrupt it at any time (Ctrl+C saves) and run it again: it resumes.
#
#   scripts/train_default.sh                                   # the default model -> runs/default
#   scripts/train_default.sh assets/default/ablation/unet_patchgan.json runs/unet_patchgan
#
# On 2 CPU cores the two stages take about 1 and 2.5 hours; a GPU takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

config=${1:-assets/default/recipe.json}
out=${2:-runs/default}
first=${FIRST_STEPS:-2000}
total=${TOTAL_STEPS:-5500}
sketchpad=${SKETCHPAD:-sketchpad}

done_to() {  # the step the run's exported model was saved at (0 when there is none yet)
  python3 - "$out/events.jsonl" <<'PY'
import json, sys
step = 0
try:
    for line in open(sys.argv[1], encoding="utf-8"):
        event = json.loads(line)
        if event.get("event") == "done" and not event.get("stopped"):
            step = max(step, int(event["step"]))
except FileNotFoundError:
    pass
print(step)
PY
}

mkdir -p "$out"
if [ ! -f "$out/config.json" ]; then
  "$sketchpad" train --config "$config" --out "$out" --progress jsonl >> "$out/events.jsonl"
elif [ "$(done_to)" -lt "$first" ]; then
  "$sketchpad" train --out "$out" --resume --progress jsonl >> "$out/events.jsonl"
fi
if [ "$(done_to)" -lt "$total" ]; then
  "$sketchpad" train --out "$out" --resume --steps "$total" --progress jsonl >> "$out/events.jsonl"
fi
"$sketchpad" eval --model "$out/model.safetensors" --split test
