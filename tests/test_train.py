"""The trainer on tiny data (32 px, a few steps): losses, checkpoints, resume, signals, JSONL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sketchpad.checkpoint import atomic_write_bytes, load_model
from sketchpad.cli import main
from sketchpad.errors import ConfigError, TrainingError
from sketchpad.train import events, state
from sketchpad.train.config import build_config
from sketchpad.train.run import TrainingRun
from tests.train_helpers import PYTHON, ROOT, TINY_FLAGS, cli_env, make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


def tiny_config(data: str, **overrides):
    base = {
        "data": data,
        "resolution": 32,
        "batch": 2,
        "steps": 4,
        "log_every": 1,
        "sample_every": 2,
        "checkpoint_every": 2,
        "eval_limit": 4,
        "sample_count": 2,
        "precision": "fp32",
        "deterministic": True,
        "generator.base_width": 4,
        "generator.max_width": 8,
        "generator.depth": 3,
        "generator.attention_levels": (1,),
        "discriminator.ndf": 4,
        "discriminator.branches": 2,
    }
    base.update(overrides)
    return build_config(None, base)


@pytest.mark.slow
def test_losses_finite_checkpoint_and_model_written(tmp_path, data):
    got: list[dict] = []
    trainer = TrainingRun(tiny_config(data), tmp_path / "run", on_event=got.append)
    model = trainer.run()
    for e in got:
        events.check(e)
    kinds = [e["event"] for e in got]
    assert kinds[0] == "phase" and kinds[-1] == "done"
    assert kinds[kinds.index("start") - 1] == "phase"  # nothing else comes before the start
    assert {"step", "sample", "checkpoint", "eval"} <= set(kinds)
    steps = [e for e in got if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(v)) for e in steps for v in e["losses"].values())
    assert set(steps[0]["losses"]) == {"d_real", "d_fake", "g_adv", "g_l1", "g_fm"}
    assert model.is_file() and load_model(model).metadata["step"] == 4
    assert [s for s, _ in state.list_checkpoints(tmp_path / "run")] == [2, 4]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert any("eval" in json.loads(line) for line in lines)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["steps"] == 4 and saved["generator"]["resolution"] == 32
    sample = next(e for e in got if e["event"] == "sample")
    assert Path(sample["path"]).is_file()


@pytest.mark.slow
def test_resume_equals_uninterrupted(tmp_path, data):
    config = tiny_config(data, steps=6, checkpoint_every=100, sample_every=100)
    full = TrainingRun(config, tmp_path / "full")
    full.run()

    first = TrainingRun(config, tmp_path / "split")
    first.run(should_stop=lambda: first.step >= 3)  # stops after 3 steps and saves
    assert first.step == 3
    second = TrainingRun(replace(config, steps=99), tmp_path / "split", resume=True)
    assert second.step == 3 and second.config.steps == 6  # the saved run's total
    second.run()
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "model.safetensors"))
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"resumed run differs in {different[:5]}"


def test_new_run_refuses_a_used_folder_and_resume_needs_one(tmp_path, data):
    TrainingRun(tiny_config(data, steps=2), tmp_path / "run").run()
    with pytest.raises(TrainingError, match="--resume"):
        TrainingRun(tiny_config(data), tmp_path / "run")
    with pytest.raises(TrainingError, match="no run to resume"):
        TrainingRun(tiny_config(data), tmp_path / "empty", resume=True)


def test_resume_skips_a_damaged_newest_checkpoint(tmp_path, data):
    t = TrainingRun(tiny_config(data, steps=4), tmp_path / "run")
    t.run()
    newest = state.list_checkpoints(tmp_path / "run")[-1][1]
    newest.write_bytes(newest.read_bytes()[:100])
    got: list[dict] = []
    resumed = TrainingRun(
        tiny_config(data, steps=4), tmp_path / "run", resume=True, on_event=got.append
    )
    assert resumed.step == 2
    resumed.flush_held()  # preparation notes are sent after "start"; flush them here
    assert any("damaged" in e.get("message", "") for e in got)


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def crash(*args):
        raise KeyboardInterrupt  # killed between writing the temp file and the rename

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left behind


def test_non_finite_loss_names_the_step_and_keeps_the_checkpoint(tmp_path, data, monkeypatch):
    t = TrainingRun(tiny_config(data, steps=6, checkpoint_every=2), tmp_path / "run")
    real_l1 = __import__("models").losses.l1_loss

    def poisoned(fake, target):
        return real_l1(fake, target) * (float("nan") if t.step >= 3 else 1.0)

    monkeypatch.setattr("models.losses.l1_loss", poisoned)
    with pytest.raises(TrainingError, match="at step 4"):
        t.run()
    ckpts = state.list_checkpoints(tmp_path / "run")
    assert [s for s, _ in ckpts] == [2]
    torch.load(ckpts[-1][1], weights_only=True)  # still good


def test_bad_data_and_init_fail_before_training(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    with pytest.raises(Exception, match="(?i)no usable|picture"):
        TrainingRun(tiny_config("photos:" + str(tmp_path / "notes")), tmp_path / "run")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(Exception, match="bad.safetensors"):
        TrainingRun(
            tiny_config("paired:" + str(make_paired(tmp_path / "p"))), tmp_path / "r2", init=bad
        )
    assert not (tmp_path / "run").exists() and not (tmp_path / "r2").exists()


def test_fine_tune_from_init_keeps_the_files_networks(tmp_path, data):
    TrainingRun(tiny_config(data, steps=2), tmp_path / "base").run()
    base = tmp_path / "base" / "model.safetensors"
    other = tiny_config(data, steps=2, **{"generator.base_width": 8, "resolution": 64})
    t = TrainingRun(other, tmp_path / "ft", init=base)
    assert t.config.resolution == 32 and t.config.generator.base_width == 4
    start = load_model(base).generator.state_dict()
    assert all(torch.equal(v, t.gan.generator.state_dict()[k]) for k, v in start.items())


def test_dry_run_with_init_shows_the_files_networks(tmp_path, data, capsys):
    TrainingRun(tiny_config(data, steps=1), tmp_path / "base").run()
    base = tmp_path / "base" / "model.safetensors"
    args = ["train", "--init", str(base), "--out", str(tmp_path / "ft"), "--dry-run"]
    assert main([*args, "--g-base-width", "8", "--resolution", "64", "--d-ndf", "16"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["resolution"] == 32 and resolved["generator"]["base_width"] == 4
    assert resolved["discriminator"]["ndf"] == 4
    assert not (tmp_path / "ft").exists()


def test_config_file_flags_and_validation(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"lr_g": 1e-4, "generator": {"base_width": 8}, "steps": 10}))
    code = main(
        [
            "train",
            "--out",
            str(tmp_path / "r"),
            "--config",
            str(cfg),
            "--steps",
            "7",
            "--g-attention-levels",
            "1,3",
            "--objective",
            "lsgan",
            "--dry-run",
        ]
    )
    assert code == 0
    with pytest.raises(ConfigError, match="unknown configuration field"):
        build_config({"learning_rate": 1}, {})
    with pytest.raises(ConfigError, match="objective"):
        build_config(None, {"loss.objective": "nope"})
    with pytest.raises(ConfigError, match="resolution"):
        build_config(None, {"resolution": 100})
    c = build_config({"generator": {"base_width": 8}}, {"lr_g": 1e-3})
    assert c.generator.base_width == 8 and c.lr_g == 1e-3 and c.discriminator.in_channels == 4
    assert replace(c, steps=5).steps == 5


def test_dry_run_prints_the_resolved_config(tmp_path, capsys):
    assert (
        main(
            ["train", "--out", str(tmp_path / "r"), "--d-branches", "2", "--ema", "0", "--dry-run"]
        )
        == 0
    )
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["discriminator"]["branches"] == 2 and resolved["ema"] == 0
    assert not (tmp_path / "r").exists()


def _train_args(data: str, out: Path, *extra: str) -> list[str]:
    """`-m sketchpad train` on tiny networks, JSON lines on stdout."""
    return [
        "-m",
        "sketchpad",
        "train",
        "--data",
        data,
        "--out",
        str(out),
        "--progress",
        "jsonl",
        *TINY_FLAGS,
        *extra,
    ]


def _start_cli(tmp_path, data, *extra):
    cmd = [PYTHON, *_train_args(data, tmp_path / "run", *extra)]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_jsonl_stream_follows_the_schema(tmp_path, data):
    proc = _start_cli(tmp_path, data, "--steps", "3")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    objs = [json.loads(line) for line in out.splitlines()]  # every stdout line is JSON
    for obj in objs:
        events.check(obj)
        assert isinstance(obj["time"], float)
    kinds = [o["event"] for o in objs]
    assert kinds[0] == "phase" and kinds[-1] == "done"
    start = objs[kinds.index("start")]
    assert set(kinds[: kinds.index("start")]) == {"phase"}
    assert start["total_steps"] == 3 and start["world_size"] == 1


@pytest.mark.slow
def test_sigterm_saves_and_exits_zero(tmp_path, data):
    proc = _start_cli(tmp_path, data, "--steps", "100000", "--checkpoint-every", "100000")
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "step" and seen[-1]["step"] >= 2:
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    seen += [json.loads(line) for line in rest.splitlines()]
    done = seen[-1]
    assert done["event"] == "done" and done["stopped"] is True
    assert (tmp_path / "run" / "model.safetensors").is_file()
    ckpts = state.list_checkpoints(tmp_path / "run")
    assert ckpts and ckpts[-1][0] == done["step"]


def test_bad_data_in_jsonl_mode_is_an_error_event(tmp_path):
    proc = _start_cli(tmp_path, "paired:" + str(tmp_path / "missing"), "--steps", "2")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    objs = [json.loads(line) for line in out.splitlines()]
    assert objs[-1]["event"] == "error" and "missing" in objs[-1]["message"]


@pytest.mark.slow
def test_two_processes_with_gloo_end_in_sync(tmp_path, data):
    launcher = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd = [*launcher, *_train_args(data, tmp_path / "ddp", "--steps", "3", "--device", "cpu")]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # never leave the workers behind (they get sessions of their own)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            subprocess.run(["pkill", "-9", "-f", str(tmp_path)], check=False)
    assert proc.returncode == 0, err[-2000:]
    objs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    start = next(o for o in objs if o["event"] == "start")
    assert start["world_size"] == 2 and start["batch_total"] == 4
    assert sum(o["event"] == "start" for o in objs) == 1  # only rank 0 reports
    done = objs[-1]
    assert done["event"] == "done" and done["ranks_in_sync"] is True
    assert load_model(tmp_path / "ddp" / "model.safetensors").metadata["step"] == 3


@pytest.mark.slow
def test_default_model_script_trains_all_stages_and_resumes(tmp_path):
    """scripts/train_default.sh: the config's steps, the same run resumed to the total, a
    polish fine-tune from its model, then high-resolution levels above it; run again, it
    trains nothing more (only evaluates)."""
    config = tmp_path / "tiny.json"
    config.write_text(
        json.dumps(
            {
                "data": "openmoji",
                "resolution": 32,
                "batch": 2,
                "steps": 1,
                "sample_every": 1,
                "eval_every": 1,
                "eval_limit": 2,
                "description": "tiny default",
                "generator": {"base_width": 4, "max_width": 8, "depth": 3},
                "discriminator": {"arch": "shared_trunk", "ndf": 4, "branches": 2},
            }
        )
    )
    polish = json.loads((ROOT / "assets" / "default" / "polish.json").read_text())
    polish.update(steps=1, batch=2, sample_every=1, eval_every=1, eval_limit=2)
    (tmp_path / "polish.json").write_text(json.dumps(polish))
    wrapper = tmp_path / "sketchpad"
    wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" -m sketchpad "$@"\n')
    wrapper.chmod(0o755)
    env = {
        **cli_env(tmp_path),
        "SKETCHPAD": str(wrapper),
        "FIRST_STEPS": "1",
        "TOTAL_STEPS": "2",
        "POLISH_CONFIG": str(tmp_path / "polish.json"),
        "HIGHRES_STEPS": "2",
        "HIGHRES_LIMIT": "4",
    }
    run = tmp_path / "run"
    script = ROOT / "scripts" / "train_default.sh"

    def dones(folder: Path) -> list[int]:
        lines = (folder / "progress.jsonl").read_text().splitlines()
        return [e["step"] for e in map(json.loads, lines) if e["event"] == "done"]

    for _ in range(2):
        proc = subprocess.run(
            [str(script), str(config), str(run)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "identity median" in proc.stdout  # the closing evaluation
        assert dones(run) == [1, 2] and dones(run / "polish") == [1]
    assert json.loads((run / "config.json").read_text())["steps"] == 2
    final = load_model(run / "polish" / "model.safetensors")
    assert final.metadata["description"] == "tiny default"
    assert final.generator_config.base_width == 4  # the networks of stage 2, not polish.json's
    assert json.loads((run / "polish" / "config.json").read_text())["loss"]["l1_weight"] == 1000
    levels = load_model(run / "highres" / "model.safetensors")  # the last stage: 128 px levels
    assert levels.generator_config.highres_widths == (8, 4)
    assert levels.generator_config.output_resolution == 128
    assert (
        levels.metadata["highres"]["steps"] == 2
        and levels.metadata["description"] == "tiny default"
    )


@pytest.mark.slow
def test_edition2_script_grows_hints_polishes_adds_levels_and_resumes(tmp_path):
    """scripts/train_edition2.sh on a first-edition model: the hinted fine-tune (hint inputs
    and noise grown), the polish with hints, its BatchNorm recalibrated, the high-resolution
    levels, the evaluations; run again, it trains nothing more."""
    wrapper = tmp_path / "sketchpad"
    wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" -m sketchpad "$@"\n')
    wrapper.chmod(0o755)
    env = {**cli_env(tmp_path), "SKETCHPAD": str(wrapper), "HIGHRES_STEPS": "2"}
    env["HIGHRES_LIMIT"] = "4"
    first = tmp_path / "first"
    proc = subprocess.run(
        [str(wrapper), "train", "--data", "openmoji", "--resolution", "32", "--steps", "1"]
        + ["--batch", "2", "--out", str(first), "--progress", "none", "--g-base-width", "4"]
        + ["--g-max-width", "8", "--g-depth", "3", "--d-ndf", "4", "--d-branches", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stages = {}
    for name in ("hinted", "polish"):
        stage = json.loads((ROOT / "assets" / "default" / "edition2" / f"{name}.json").read_text())
        stage.update(steps=1, batch=2, sample_every=1, eval_every=1, eval_limit=2)
        stages[name] = stage
        (tmp_path / f"{name}.json").write_text(json.dumps(stage))
    env.update(
        START=str(first / "model.safetensors"),
        HINTED_CONFIG=str(tmp_path / "hinted.json"),
        POLISH_CONFIG=str(tmp_path / "polish.json"),
    )
    run = tmp_path / "run"

    def dones(folder: Path) -> list[int]:
        lines = (folder / "progress.jsonl").read_text().splitlines()
        return [e["step"] for e in map(json.loads, lines) if e["event"] == "done"]

    for _ in range(2):
        proc = subprocess.run(
            [str(ROOT / "scripts" / "train_edition2.sh"), str(run)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "main colour within ΔE 20" in proc.stdout and "perturbed / clean" in proc.stdout
        assert dones(run / "hinted") == [1] and dones(run / "polish") == [1]
    hinted = load_model(run / "polish" / "model.safetensors")
    assert hinted.takes_hints and hinted.takes_noise
    assert hinted.metadata["description"] == stages["hinted"]["description"]
    polish = json.loads((run / "polish" / "config.json").read_text())
    assert polish["loss"] == {**polish["loss"], **stages["polish"]["loss"]}
    final = load_model(run / "highres" / "model.safetensors")
    assert final.takes_hints and final.generator_config.highres_widths == (8, 4)
    assert final.metadata["recalibrated"]["batches"] == 100  # the levels sit on that trunk
    assert (run / "eval.txt").read_text() and "sharpness" in (run / "eval_full.txt").read_text()


@pytest.mark.slow
def test_gpu_script_trains_rows_on_a_pack_within_its_budget(tmp_path):
    """scripts/gpu_edition2.py (made for a GPU machine), here on the CPU with a tiny budget:
    the default row from scratch on a pack, with hints and noise, polished, recalibrated,
    evaluated, its model in fp16; the next row is not started once the minutes are spent."""
    from sketchpad.data import open_source
    from sketchpad.data.pack import write_pack

    pack = tmp_path / "pack.npz"
    write_pack(open_source("openmoji", resolution=128).source, 128, pack)
    out = tmp_path / "out"
    proc = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "gpu_edition2.py"), "--pack", str(pack), "--out"]
        + [str(out), "--runs", str(tmp_path / "runs"), "--device", "cpu", "--steps", "2"]
        + ["--polish-steps", "1", "--batch", "2", "--recalibrate-batches", "2"]
        + ["--eval-limit", "4", "--rows", "default,unet_patchgan", "--minutes", "0.001"],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "unet_patchgan: not started" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == ["default"] and set(summary["default"]["psnr"]) == {"0", "4", "16"}
    report = json.loads((out / "default.json").read_text())
    assert report["count"] == 4 and "perturbed" in report and "diversity" in report
    model = load_model(out / "default.safetensors")
    assert model.takes_hints and model.takes_noise and model.metadata["recalibrated"]
    assert (out / "default.safetensors").stat().st_size < 16 * 2**20  # fp16, fits the way back
