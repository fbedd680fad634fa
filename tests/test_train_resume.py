"""Resuming with changes: what a resumed run may change takes the given value (logged and
recorded in config.json), what it may not is refused naming the flag, fields not given keep the
run's values, `--dry-run` shows the configuration that runs, and a damaged config.json is
replaced by the copy the newest good checkpoint holds."""

from __future__ import annotations

import json

import pytest
import torch

from sketchpad.cli import main
from sketchpad.errors import ConfigError
from sketchpad.train import state
from sketchpad.train.run import TrainingRun
from tests.test_train import tiny_config
from tests.train_helpers import TINY_FLAGS

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


@pytest.fixture
def run(tmp_path, data):
    """A finished 2-step run (tiny networks, sample_every 2, lr_g 2e-4)."""
    folder = tmp_path / "run"
    TrainingRun(tiny_config(data, steps=2), folder).run()
    return folder


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_given_fields_change_the_resumed_run_and_are_logged(run):
    got: list[dict] = []
    changes = {"lr_g": 1e-5, "steps": 3, "loss.l1_weight": 50, "beta1": 0.0, "log_every": 1}
    resumed = TrainingRun(None, run, resume=True, changes=changes, on_event=got.append)
    resumed.run()
    c = resumed.config
    assert (c.lr_g, c.steps, c.loss.l1_weight, c.beta1) == (1e-5, 3, 50.0, 0.0)
    assert c.sample_every == 2 and c.resolution == 32  # not given: the run's own values
    logs = [e["message"] for e in got if e["event"] == "log"]
    assert "lr_g: 0.0002 -> 1e-05" in logs and "steps: 2 -> 3" in logs
    assert "loss.l1_weight: 100.0 -> 50.0" in logs and "log_every: 1 -> 1" not in logs
    assert all(g["betas"][0] == 0.0 for g in resumed.gan.opt_g.param_groups)
    step = next(e for e in got if e["event"] == "step")
    assert step["step"] == 3 and step["lr_g"] <= 1e-5
    saved = json.loads((run / "config.json").read_text())
    assert saved["lr_g"] == 1e-5 and saved["steps"] == 3 and saved["loss"]["l1_weight"] == 50
    assert state.list_checkpoints(run)[-1][0] == 3


def test_ema_turned_on_mid_run_starts_from_the_generator(tmp_path, data):
    folder = tmp_path / "run"
    TrainingRun(tiny_config(data, steps=2, ema=0.0), folder).run()
    resumed = TrainingRun(None, folder, resume=True, changes={"ema": 0.9})
    g, ema = resumed.gan.generator.state_dict(), resumed.gan.ema.state_dict()
    assert all(torch.equal(g[k], ema[k]) for k in g)
    resumed.close()


def test_cli_resume_applies_flags_and_dry_run_shows_what_runs(run, capsys):
    args = ["train", "--out", str(run), "--resume", "--lr-g", "1e-5", "--steps", "3"]
    assert main([*args, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    planned = json.loads(out)
    assert planned["lr_g"] == 1e-5 and planned["steps"] == 3 and planned["resolution"] == 32
    assert planned["sample_every"] == 2  # the run's, not the default
    assert "lr_g: 0.0002 -> 1e-05" in err
    assert main([*args, "--progress", "jsonl"]) == 0
    objs = jsonl(capsys.readouterr().out)
    start = next(o for o in objs if o["event"] == "start")
    assert start["config"] == planned and objs[-1]["event"] == "done"
    assert any(o.get("message") == "lr_g: 0.0002 -> 1e-05" for o in objs)


def test_fields_that_fix_the_run_are_refused_naming_the_flag(run, tmp_path, capsys):
    args = ["train", "--out", str(run), "--resume", "--dry-run"]
    assert main([*args, "--resolution", "64", "--g-base-width", "8", "--aug-flip", "false"]) == 2
    err = capsys.readouterr().err
    assert "--resolution (32 -> 64)" in err and "--g-base-width (4 -> 8)" in err
    assert "--aug-flip (true -> false)" in err and "Traceback" not in err
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"seed": 7, "lr_d": 1e-4}))
    assert main([*args, "--config", str(recipe)]) == 2
    assert f"seed in {recipe} (0 -> 7)" in capsys.readouterr().err
    # The run's own values given again are no change (the Train tab resumes with its flags).
    assert main([*args, *TINY_FLAGS, "--steps", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 2
    with pytest.raises(ConfigError, match="batch"):
        TrainingRun(None, run, resume=True, changes={"batch": 4})


def test_resume_refuses_init_and_overwrite(run, capsys):
    args = ["train", "--out", str(run), "--resume", "--dry-run"]
    assert main([*args, "--init", str(run / "model.safetensors")]) == 2
    assert "--init cannot be used with --resume" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 2


def test_a_damaged_config_json_is_replaced_by_the_checkpoints_copy(run, capsys):
    original = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text('{"steps": 2, "resol')  # torn
    assert main(["train", "--out", str(run), "--resume", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == original and "config.json is damaged" in err
    got: list[dict] = []
    resumed = TrainingRun(None, run, resume=True, changes={"steps": 3}, on_event=got.append)
    resumed.run()
    warning = next(e for e in got if e["event"] == "log" and e["level"] == "warning")
    assert "using the copy in step_00000002.pt" in warning["message"]
    assert json.loads((run / "config.json").read_text()) == {**original, "steps": 3}
    assert not list(run.glob(".*.tmp"))  # written atomically: no temp file left
