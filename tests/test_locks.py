"""Process locks: one holder at a time, released when the holder dies, taken over with who
held it."""

import os
import subprocess
import sys
import textwrap

import pytest

from sketchpad.locks import LockHeld, ProcessLock, is_locked, process_start, read_owner


def test_one_holder_at_a_time_and_release(tmp_path):
    path = tmp_path / "run" / "lock"
    first = ProcessLock(path)
    assert first.acquire() is None and first.held and is_locked(path)
    with pytest.raises(LockHeld, match=rf"in use by process {os.getpid()} since \d{{4}}-"):
        ProcessLock(path).acquire()
    first.release()
    assert not is_locked(path)
    with ProcessLock(path) as again:
        assert again.held
    assert read_owner(path).pid == os.getpid()


def test_a_dead_holders_lock_is_taken_over_and_named(tmp_path):
    path = tmp_path / "lock"
    code = textwrap.dedent(
        f"""
        import os
        from sketchpad.locks import ProcessLock
        ProcessLock({str(path)!r}).acquire()
        print(os.getpid(), flush=True)
        os._exit(0)  # dies holding it: nothing released by hand
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dead = int(out.stdout.split()[0])
    assert read_owner(path).pid == dead and not is_locked(path)
    lock = ProcessLock(path)
    previous = lock.acquire()
    assert previous is not None and previous.pid == dead
    assert read_owner(path).pid == os.getpid()
    lock.release()


def test_process_start_is_stable_and_none_for_a_missing_process():
    mine = process_start(os.getpid())
    if sys.platform.startswith("linux"):
        assert mine is not None and mine.isdigit() and process_start(os.getpid()) == mine
    assert process_start(2**22 + 12345) is None  # no such process
