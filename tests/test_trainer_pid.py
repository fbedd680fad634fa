"""The Train tab's trainer.json names a process by its pid and its start: a pid the OS gave to
another process since (here a live, unrelated process whose command line even says "train")
is never signalled, and the run is not shown as running."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sketchpad.locks import process_start
from sketchpad.train import runs
from sketchpad.train.child import TrainerChild
from sketchpad.train.run_files import CONFIG_NAME, PROCESS_FILE

pytestmark = pytest.mark.skipif(
    process_start(os.getpid()) is None, reason="the OS does not say when a process started"
)


@pytest.fixture
def stranger():
    """A live process that is not our trainer, though "train" is in its command line."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "train"])
    yield proc
    proc.kill()
    proc.wait()


def write_trainer_json(run_dir, pid: int, start: str | None) -> None:
    record = {"pid": pid, "command": ["sketchpad", "train"], "started": 0.0}
    if start is not None:
        record["process_start"] = start
    (run_dir / PROCESS_FILE).write_text(json.dumps(record), encoding="utf-8")
    (run_dir / CONFIG_NAME).write_text(json.dumps({"steps": 10, "data": "openmoji"}))


def test_a_reused_pid_is_neither_shown_running_nor_signalled(tmp_path, stranger):
    assert runs.pid_alive(stranger.pid, expect="train")  # the command line alone would pass
    wrong = str(int(process_start(stranger.pid)) + 1)
    write_trainer_json(tmp_path, stranger.pid, wrong)

    assert not runs.run_process_alive(tmp_path)
    info = runs.read_run(tmp_path)
    assert info is not None and not info.running and info.status() != "running"
    assert TrainerChild.attach(tmp_path) is None

    # a tab that attached before the pid was reused: Stop, Stop again (kill), kill
    child = TrainerChild(tmp_path, runs.TrainerRecord(stranger.pid, wrong), {})
    assert not child.alive()
    child.stop()
    child.stop()
    child.kill()
    with pytest.raises(subprocess.TimeoutExpired):
        stranger.wait(timeout=0.5)  # still running: never signalled
    assert child.end().outcome == "stopped"


def test_the_process_that_was_recorded_is_followed_and_stopped(tmp_path, stranger):
    record = runs.write_process_file(tmp_path, stranger.pid, ["sketchpad", "train"])
    saved = json.loads((tmp_path / PROCESS_FILE).read_text(encoding="utf-8"))
    assert saved["process_start"] == record.process_start == process_start(stranger.pid)
    assert runs.run_process_alive(tmp_path) and runs.read_run(tmp_path).running

    child = TrainerChild.attach(tmp_path)
    assert child is not None and child.record == record and child.alive()
    child.stop()  # SIGTERM to the very process that was recorded
    assert stranger.wait(timeout=10) != 0


def test_a_trainer_json_from_before_start_times_still_attaches(tmp_path, stranger):
    write_trainer_json(tmp_path, stranger.pid, None)
    assert runs.run_process_alive(tmp_path)  # as before: the command line decides
    child = TrainerChild.attach(tmp_path)
    assert child is not None and child.record.process_start is None
