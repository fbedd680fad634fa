# Sourced by the training scripts (bash): what a run folder says of its progress.

done_to() {  # the step RUN's exported model was saved at (0 when there is none yet)
  python3 - "$1/progress.jsonl" <<'PY'
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
