"""How the trainer fails: a run folder in use, wrongly typed configuration values, networks
that cannot work at the resolution, a full disk, a bad --out, leftovers of killed saves, a
SIGTERM in the first second; every failure one `error` event and exit code 2."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models import GeneratorConfig, InvalidConfig, config_from_dict
from models.validation import Limits
from sketchpad.cli import main
from sketchpad.errors import ConfigError, TrainingError
from sketchpad.locks import LockHeld, ProcessLock
from sketchpad.train import run_files, state
from sketchpad.train.config import build_config
from sketchpad.train.run import TrainingRun, run_training
from tests.test_train import tiny_config
from tests.train_helpers import PYTHON, ROOT, TINY_FLAGS, cli_env

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def train_cli(tmp_path: Path, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "sketchpad", "train", "--progress", "jsonl", *args],
        cwd=ROOT,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- 1. one trainer per run folder --------------------------------------------------------------


def test_a_second_trainer_on_a_folder_in_use_is_refused(tmp_path, data):
    first = TrainingRun(tiny_config(data), tmp_path / "run")
    with pytest.raises(LockHeld, match=r"run folder .*run is in use by process \d+ since "):
        TrainingRun(tiny_config(data), tmp_path / "run")
    first.close()
    TrainingRun(tiny_config(data), tmp_path / "run").close()  # free again


def test_the_cli_refuses_a_folder_in_use_with_one_error_event(tmp_path, data):
    run = tmp_path / "run"
    lock = ProcessLock(run / run_files.LOCK_FILE)
    lock.acquire()  # this process plays the first trainer
    try:
        proc = train_cli(tmp_path, "--data", data, "--out", str(run), *TINY_FLAGS, "--steps", "2")
    finally:
        lock.release()
    assert proc.returncode == 2, proc.stderr[-2000:]
    objs = [o for o in jsonl(proc.stdout) if o["event"] != "phase"]  # phases: what it tried
    assert [o["event"] for o in objs] == ["error"]
    holder = f"run folder {run} is in use by process {os.getpid()} since"
    assert holder in objs[0]["message"]
    assert "Traceback" not in proc.stderr
    assert not (run / "config.json").exists() and not state.list_checkpoints(run)


def test_a_dead_trainers_lock_is_taken_over_with_a_log_line(tmp_path, data):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    run.mkdir()
    record = {"pid": dead.pid, "process_start": None, "since": time.time() - 60}
    (run / run_files.LOCK_FILE).write_text(json.dumps(record))
    got: list[dict] = []
    trainer = TrainingRun(tiny_config(data, steps=1), run, on_event=got.append)
    trainer.run()
    logs = [e["message"] for e in got if e["event"] == "log"]
    assert any(f"process {dead.pid}" in m and "took over" in m for m in logs), logs
    got.clear()  # a lock let go at the end of a run is not a dead trainer's
    resumed = TrainingRun(None, run, resume=True, on_event=got.append)
    resumed.close()
    resumed.flush_held()
    assert not any("took over" in e.get("message", "") for e in got)


def test_a_folder_with_only_the_tabs_files_is_a_new_run(tmp_path, data):
    assert run_files.LOCK_FILE in run_files.OWN_FILES
    run = tmp_path / "run"
    run.mkdir()
    for name in run_files.OWN_FILES:
        (run / name).write_text("written by the Train tab\n")
    (run / "events.jsonl").touch()  # a shell's `>> RUN/events.jsonl`: nothing to lose
    TrainingRun(tiny_config(data), run).close()


# -- 3. strict types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"augment": {"distance_field": "false"}}, "augment.distance_field: expected true or"),
        ({"augment": {"flip": "no"}}, "augment.flip: expected true or false"),
        ({"steps": True}, "steps: expected an integer, got true"),
        ({"lr_g": "0.1"}, "lr_g: expected a number, got '0.1'"),
        ({"generator": 5}, "generator: expected an object, got 5"),
        ({"generator": {"attention_levels": [1, True]}}, "generator.attention_levels: expected"),
        ({"loss": {"l1_weight": False}}, "loss.l1_weight: expected a number"),
        ({"description": 3}, "description: expected a string"),
        ({"discriminator": {"spectral": 1}}, "discriminator.spectral: expected true or false"),
    ],
)
def test_configuration_values_are_strictly_typed(values, named):
    with pytest.raises(ConfigError) as caught:
        build_config(values, {})
    assert named in str(caught.value)


def test_numbers_and_lists_convert_and_bools_are_not_numbers():
    c = build_config({"lr_g": 1e-3, "loss": {"l1_weight": 10}, "seed": 3}, {})
    assert c.loss.l1_weight == 10.0 and isinstance(c.loss.l1_weight, float)
    assert not Limits(1, 10, integer=True).allows(True) and not Limits(0, 1).allows(False)
    with pytest.raises(InvalidConfig, match=r"GeneratorConfig\.dropout: expected true or false"):
        config_from_dict(GeneratorConfig, {"dropout": "false"})  # as a model file's metadata
    with pytest.raises(InvalidConfig, match=r"GeneratorConfig\.depth"):
        config_from_dict(GeneratorConfig, {"depth": True})


# -- 4. user errors: named, before training, one error event, exit 2 ---------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ("--resolution", "48", "--g-depth", "4"),
        ("--resolution", "40", "--g-depth", "3", "--d-branches", "2"),
        ("--resolution", "40", "--g-depth", "3", "--d-arch", "multiscale"),
        ("--resolution", "16", "--g-depth", "3", "--d-arch", "patch", "--d-n-layers", "5"),
    ],
)
def test_a_resolution_the_networks_cannot_use_fails_in_dry_run(tmp_path, capsys, flags):
    args = ["train", "--out", str(tmp_path / "r"), "--progress", "jsonl", *flags, "--dry-run"]
    assert main(args) == 2
    out, err = capsys.readouterr()
    [event] = jsonl(out)
    assert event["event"] == "error" and "discriminator" in event["message"]
    assert "resolution" in event["message"] and "Traceback" not in err


def test_disk_full_while_saving_says_so_and_keeps_the_previous_checkpoint(
    tmp_path, data, monkeypatch
):
    real_write = state.atomic_write_bytes

    def full_disk(path, payload):
        if path.name == "step_00000004.pt":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, payload)

    monkeypatch.setattr("sketchpad.train.state.atomic_write_bytes", full_disk)
    got: list[dict] = []
    with pytest.raises(TrainingError) as caught:
        run_training(tiny_config(data, steps=4), tmp_path / "run", on_event=got.append)
    message = str(caught.value)
    assert "disk is full" in message and "step_00000002.pt (step 2) is kept" in message
    assert "--resume" in message
    assert [e["event"] for e in got].count("error") == 1 and got[-1]["message"] == message
    assert [s for s, _ in state.list_checkpoints(tmp_path / "run")] == [2]


def test_out_naming_a_file_is_an_error_event(tmp_path, data, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("not a folder")
    args = ["train", "--data", data, "--out", str(target), "--progress", "jsonl", *TINY_FLAGS]
    assert main(args) == 2
    [event] = [e for e in jsonl(capsys.readouterr().out) if e["event"] != "phase"]
    assert event["event"] == "error" and "is a file, not a folder" in event["message"]
    assert target.read_text() == "not a folder"


def test_a_folder_of_other_files_is_refused_unless_overwrite(tmp_path, data):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(TrainingError, match=r"photos is not empty.*holiday\.jpg.*--overwrite"):
        TrainingRun(tiny_config(data), folder)
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"]  # left as it was
    TrainingRun(tiny_config(data, steps=1), folder, overwrite=True).run()
    assert (folder / "holiday.jpg").read_bytes() == b"mine" and state.list_checkpoints(folder)


def test_an_internal_error_is_one_line_unless_debug(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("sketchpad.train.run.run_training", broken)
    args = ["train", "--out", str(tmp_path / "r"), "--progress", "jsonl"]
    assert main(args) == 2
    out, err = capsys.readouterr()
    [event] = jsonl(out)
    assert event["event"] == "error" and "internal error (RuntimeError: boom)" in event["message"]
    assert "--debug" in event["message"] and "Traceback" not in err
    assert main([*args, "--debug"]) == 2
    out, err = capsys.readouterr()
    assert len(jsonl(out)) == 1 and "Traceback" in err and "boom" in err
    assert main(["train", "--out", str(tmp_path / "r")]) == 2  # no jsonl: one line on stderr
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError: boom)" in err


def test_other_commands_follow_the_same_rule(tmp_path, capsys, monkeypatch):
    def broken(args):
        raise ValueError("bad state")

    monkeypatch.setattr("sketchpad.commands.inspect.run", broken)
    model = str(tmp_path / "m.safetensors")
    assert main(["inspect", model]) == 2
    err = capsys.readouterr().err
    assert "internal error (ValueError: bad state)" in err and "Traceback" not in err
    assert main(["inspect", model, "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_a_command_line_that_does_not_parse_is_an_error_event(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path / "r"), "--progress", "jsonl", "--steps", "many"]
    assert main(args) == 2
    printed = capsys.readouterr()
    [event] = jsonl(printed.out)
    assert event["event"] == "error" and "--steps" in event["message"]
    [line] = printed.err.strip().splitlines()  # one line, not the usage block before it
    assert "invalid int value" in line and "--help" in line


# -- 5. leftovers of killed saves ---------------------------------------------------------------


def test_temp_files_of_killed_saves_are_removed_at_start(tmp_path, data):
    run = tmp_path / "run"
    TrainingRun(tiny_config(data, steps=2), run).run()
    leftovers = [
        run_files.checkpoint_dir(run) / ".step_00000004.pt.k1ll3d.tmp",
        run / ".model.safetensors.x7.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"half a checkpoint")
    assert [s for s, _ in state.list_checkpoints(run)] == [2]  # never listed as checkpoints
    got: list[dict] = []
    resumed = TrainingRun(None, run, resume=True, on_event=got.append)
    resumed.close()
    resumed.flush_held()
    assert not any(p.exists() for p in leftovers)
    removed = [e["message"] for e in got if "interrupted save" in e.get("message", "")]
    assert len(removed) == 2 and ".step_00000004.pt.k1ll3d.tmp" in " ".join(removed)


# -- 6. SIGTERM in the first second ---------------------------------------------------------------


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_sigterm_right_after_start_stops_cleanly(tmp_path, data):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [PYTHON, "-m", "sketchpad", "train", "--data", data, "--out", str(run)]
        + ["--progress", "jsonl", *TINY_FLAGS, "--steps", "100000"],
        cwd=ROOT,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and not _catches_sigterm(proc.pid):
            assert time.monotonic() < deadline, "the trainer never installed its stop handler"
            time.sleep(0.001)
        torch_loaded = "libtorch" in Path(f"/proc/{proc.pid}/maps").read_text()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not torch_loaded, "the stop handler came after torch was imported"
    assert proc.returncode == 0, err[-2000:]
    objs = jsonl(out)
    assert not any(o["event"] == "error" for o in objs)
    assert objs[-1]["event"] == "log" and "stopped before training began" in objs[-1]["message"]
    assert not run.exists()  # nothing was written
