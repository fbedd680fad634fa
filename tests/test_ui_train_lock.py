"""The Train tab on a run folder another trainer holds: the trainer it starts refuses, and the
tab shows the trainer's message (who holds the folder, since when)."""

from __future__ import annotations

import json
import os
import signal

from sketchpad.locks import ProcessLock
from sketchpad.train import runs
from sketchpad.train.run_files import LOCK_FILE, checkpoint_path
from sketchpad.ui.train_tab import TrainTab
from tests.train_helpers import TINY_FLAGS


def test_resuming_a_run_another_trainer_holds_shows_who_holds_it(qtbot, train_tab_env):
    run = runs.new_run_dir("busy")
    (run / "config.json").write_text(json.dumps({"steps": 10, "resolution": 32}))
    checkpoint_path(run, 4).parent.mkdir()
    checkpoint_path(run, 4).write_bytes(b"never read: the lock is checked first")
    lock = ProcessLock(run / LOCK_FILE)
    lock.acquire()  # this process plays the trainer that holds the folder
    tab = TrainTab(attach_running=False, extra_args=TINY_FLAGS, child_env=train_tab_env)
    tab.ask_close_action = lambda: "stop"
    tab.process._timer.setInterval(50)
    qtbot.addWidget(tab)
    try:
        tab.refresh_runs(select=run)
        assert tab.selected_run().path == run and tab.selected_run().can_resume
        with qtbot.waitSignal(tab.process.ended, timeout=120_000) as ended:
            assert tab.resume_training()
    finally:
        lock.release()
        pid = tab.process.pid
        if pid is not None and runs.pid_alive(pid):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    end = ended.args[0]
    assert end.outcome == "failed" and end.exit_code == 2
    expected = f"run folder {run} is in use by process {os.getpid()} since"
    assert expected in end.message and expected in tab.monitor.error_text()
    assert not tab.is_running() and tab.start_button.isEnabled()
    assert (run / "config.json").is_file()  # the refused trainer wrote nothing
