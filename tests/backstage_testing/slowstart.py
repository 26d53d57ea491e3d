"""A slow start on demand: freeze a person's server process as soon as it exists, as a busy machine would hold it.

Servers start in about a second, too fast for the tests of the start queue to see anyone wait behind them. The
process is stopped with SIGSTOP (needs root, as the lab's spawner does) and continued when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import threading
import time


def processes_of(uid: int) -> list[int]:
    """The ids of the processes whose real user id is ``uid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                if any(line.split()[1] == str(uid) for line in status if line.startswith("Uid:")):
                    pids.append(int(entry))
        except (OSError, IndexError):
            continue
    return pids


@contextlib.contextmanager
def slow_start(lab, name: str, timeout: float = 120):
    """Within the block, ``name``'s server on ``lab`` (a :class:`backstage_testing.lab.Lab` whose people have Unix
    accounts ``<user_prefix><name>``) is frozen from the moment its process exists; yields the list of frozen
    process ids (empty until it is seen)."""
    unix_name = f"{lab.settings['user_prefix']}{name}"
    frozen: list[int] = []
    done = threading.Event()

    def freeze():
        deadline = time.monotonic() + timeout
        while not done.is_set() and not frozen and time.monotonic() < deadline:
            try:
                uid = pwd.getpwnam(unix_name).pw_uid
            except KeyError:  # the account is made when the start begins
                time.sleep(0.005)
                continue
            for pid in processes_of(uid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    frozen.append(pid)
            time.sleep(0.002)

    thread = threading.Thread(target=freeze, daemon=True)
    thread.start()
    try:
        yield frozen
    finally:
        done.set()
        thread.join()
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
