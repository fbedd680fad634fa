"""The second edition's runs for a GPU machine: the ablation's four rows trained the same way
from scratch, on a pack of pre-rendered pairs (`sketchpad dataset openmoji --pack FILE`), so
that the machine needs neither Qt nor the OpenMoji package, only torch, numpy, pillow and
safetensors. Each row: STEPS steps of its config (assets/default/recipe.json for the default,
assets/default/ablation/*.json for the others) with colour hints (and noise, for the MRU rows)
and the robustness augmentation, then the polish (assets/default/edition2/polish.json, hints
given), then `sketchpad recalibrate`, then `sketchpad eval --json` on the test split (with
small drawings fitted to the frame, as the app draws them by default).

    python3 scripts/gpu_edition2.py --pack openmoji-128.npz --out OUT --steps 20000 \
        --polish-steps 2000 --minutes 8

Rows start in order (default first) while the time budget (--minutes) lasts; each writes
OUT/NAME.json (its evaluation) and, for the default row, OUT/default.safetensors (fp16, G and
D). The high-resolution levels are trained afterwards on the CPU (`train-highres`), since they
need 512 px renders that the pack does not hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = (
    ("default", "assets/default/recipe.json", True),
    ("unet_patchgan", "assets/default/ablation/unet_patchgan.json", False),
    ("mru_patchgan", "assets/default/ablation/mru_patchgan.json", True),
    ("mru_csam_patchgan", "assets/default/ablation/mru_csam_patchgan.json", True),
)


def sketchpad(*args: str) -> None:
    command = [sys.executable, "-m", "sketchpad", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def run_row(name: str, config: str, noise: bool, args: argparse.Namespace) -> dict:
    runs = Path(args.runs) / name
    grow = ["--g-hint-channels", "4"]
    if noise:  # one noise vector per picture, as the default's second edition has
        grow += ["--g-noise-channels", "8", "--g-noise-global", "true"]
    common = ["--data", f"pack:{args.pack}", "--device", args.device, "--progress", "none"]
    sketchpad(
        "train", "--config", config, "--out", str(runs), "--steps", str(args.steps),
        "--batch", str(args.batch), "--checkpoint-every", str(max(1, args.steps // 4)),
        "--eval-every", "0", "--sample-every", str(args.steps), *grow, *common,
    )  # fmt: skip
    polish = runs / "polish"
    sketchpad(
        "train", "--config", "assets/default/edition2/polish.json", "--init",
        str(runs / "model.safetensors"), "--out", str(polish), "--steps",
        str(args.polish_steps), "--batch", str(args.batch), "--eval-every", "0",
        "--sample-every", str(args.polish_steps), *common,
        *([] if name == "default" else ["--description", f"second-edition ablation: {name}"]),
    )  # fmt: skip
    model = runs / f"{name}.safetensors"
    sketchpad(
        "recalibrate", "--model", str(polish / "model.safetensors"), "--out", str(model),
        "--data", f"pack:{args.pack}", "--batches", str(args.recalibrate_batches), "--half",
    )  # fmt: skip
    report = Path(args.out) / f"{name}.json"
    evaluate = [
        sys.executable, "-m", "sketchpad", "eval", "--model", str(model), "--data",
        f"pack:{args.pack}", "--split", "test", "--device", args.device, "--hints", "4,16",
        "--perturb", "--frame", "--json",
    ]  # fmt: skip
    if noise:
        evaluate.append("--diversity")
    if args.eval_limit:
        evaluate += ["--limit", str(args.eval_limit)]
    out = subprocess.run(evaluate, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result.pop("per_item", None)
    report.write_text(json.dumps(result, indent=1))
    if name == "default":
        (Path(args.out) / "default.safetensors").write_bytes(model.read_bytes())
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pack", required=True, help="the pack of 128 px pairs")
    p.add_argument("--out", required=True, help="folder for the evaluations and the model")
    p.add_argument("--runs", default="/tmp/edition2-runs", help="run folders")
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=20000, help="steps of each row")
    p.add_argument("--polish-steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--recalibrate-batches", type=int, default=100)
    p.add_argument("--minutes", type=float, default=8.0, help="start no row after this")
    p.add_argument("--rows", default=",".join(r[0] for r in ROWS), help="rows to run, in order")
    p.add_argument("--eval-limit", type=int, default=0, help="test pairs (0: all)")
    args = p.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    wanted = args.rows.split(",")
    start = time.monotonic()
    summary = {}
    for name, config, noise in ROWS:
        if name not in wanted:
            continue
        if time.monotonic() - start > args.minutes * 60:
            print(f"{name}: not started, the {args.minutes} minutes are spent", flush=True)
            continue
        began = time.monotonic()
        result = run_row(name, config, noise, args)
        rows = {row["count"]: row["metrics"] for row in result.get("hints", [])}
        summary[name] = {
            "seconds": round(time.monotonic() - began, 1),
            "psnr": {n: m["psnr"]["median"] for n, m in rows.items()},
            "colour": result["colour"]["share"],
        }
        print(name, json.dumps(summary[name]), flush=True)
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
