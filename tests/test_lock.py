"""The run lock: one holder at a time, no waiting by default, and no stale lock after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from syndicate.store.lock import LockBusy, lock_path, run_lock


def test_lock_path_sits_next_to_the_state_db(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "state" / "syndicate.db") == tmp_path / "state/syndicate.db.lock"


def test_second_holder_is_refused_at_once_and_told_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "state" / "x.lock"
    with run_lock(path):
        started = time.monotonic()
        with pytest.raises(LockBusy) as busy, run_lock(path):
            pass
        assert time.monotonic() - started < 0.5
        assert f"pid {os.getpid()}" in busy.value.holder
        assert "another run holds the lock" in str(busy.value)
    with run_lock(path):  # released when the block ended
        pass


def test_wait_blocks_until_the_holder_is_done(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    entered = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with run_lock(path):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(5)
    with pytest.raises(LockBusy):
        with run_lock(path, wait=True, timeout=0.2):
            pass
    threading.Timer(0.2, release.set).start()
    started = time.monotonic()
    with run_lock(path, wait=True):
        waited = time.monotonic() - started
    thread.join()
    assert 0.1 < waited < 5


def test_a_sigkilled_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from syndicate.store.lock import run_lock
        with run_lock(Path({str(path)!r})):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy), run_lock(path):
            pass
        child.send_signal(signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
        if child.stdout is not None:
            child.stdout.close()
    assert path.exists()  # the file stays; the lock on it died with the process
    with run_lock(path):
        pass


def test_a_forked_child_does_not_hold_its_parents_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    read, write = os.pipe()
    with run_lock(path):
        pid = os.fork()
        if pid == 0:  # a build worker: it must carry no descriptor of its parent's lock
            os.close(read)
            fds = Path("/proc/self/fd").iterdir()
            held = any(os.path.realpath(fd) == str(path) for fd in fds)
            os.write(write, b"held" if held else b"free")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 8)
        os.close(read)
        os.waitpid(pid, 0)
    # Checked in the child's descriptor table rather than by taking the lock again: in this
    # sandbox's kernel a flock can outlive its last descriptor for a moment after a fork.
    assert answer == b"free"
