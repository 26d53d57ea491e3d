"""Servers started ahead of time (:mod:`backstage.singleuser.warm`), handed to people as they start.

A warm server has done a start's imports (~0.8 s of the ~1 s of CPU a server spends before its
first answer, measured by ``benchmarks/hub_load.py``) and waits, as root, for one line on its
standard input saying whose server it becomes. Handing it over costs ~0.1 s of CPU, so a room that
signs in at once finds servers ready for the price of a request: a start that gets a warm server
skips the start queue (backstage/startqueue.py bounds the CPU-heavy cold starts). The pool is the hub's: one per hub
process, sized by ``BackstageSpawner.warm_servers`` (0, the default: none), filled when the hub makes
its first spawner (before the room arrives), and refilled a core's worth at a time once the machine is
quiet (no start for ``refill_after`` seconds and a load average below the number of cores), so that
warming never competes with people at work. Measured at 50 arriving over 30 s, refilling all 50 at once
10 s after the last start starved the hub (sign-in p50 16 s, 18 stops timed out).

Why it keeps the isolation model, see :mod:`backstage.singleuser.warm`. The hub side: each warm
server is started with ``close_fds`` and a clean environment, dies with the hub (``PR_SET_PDEATHSIG``,
cleared by the kernel once it becomes a person), and its stdin pipe is held by the hub alone.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)

__all__ = ["WARM_COMMAND", "WarmPool"]

WARM_COMMAND = (sys.executable, "-P", "-m", "backstage.singleuser.warm")
_PR_SET_PDEATHSIG = 1


def _die_with_the_hub() -> None:
    """In the new process (between fork and exec): SIGKILL when the hub's thread that started it ends."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


try:  # looked up here, not in the forked child
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl  # noqa: B018 (Linux only)
except (OSError, AttributeError):
    _libc = None


class WarmPool:
    """Up to ``size`` warm servers, started with ``env`` (no secrets: the spawner's ``env_keep`` values).

    Parameters
    ----------
    size : int
        How many to keep waiting; 0: none (``take()`` always returns None).
    env : dict
        Their environment until they become someone's (a person's server then takes that person's).
    refill_after : float
        Seconds without a start before the pool is topped up again.
    command : sequence of str
        The warm server's command (default :data:`WARM_COMMAND`).
    """

    def __init__(self, size: int, env: dict[str, str], refill_after: float = 10.0,
                 command: Sequence[str] = WARM_COMMAND):
        if size < 0:
            raise ValueError(f"a warm pool cannot hold {size} servers: set warm_servers to 0 (none) or more")
        self.size = size
        self.env = dict(env)
        self.refill_after = refill_after
        self.command = list(command)
        self.load_average = lambda: os.getloadavg()[0]  # the machine's 1-minute load average (tests replace it)
        self._waiting: list[subprocess.Popen] = []
        self._refill: asyncio.TimerHandle | None = None
        self._filled = False

    @property
    def waiting(self) -> int:
        """Warm servers alive and not yet handed to anyone."""
        self._forget_dead()
        return len(self._waiting)

    def fill_soon(self) -> None:
        """Fill the pool on the event loop's next turn, the first time this is called (or at once, without a loop)."""
        if self._filled or self.size == 0:
            return
        self._filled = True
        try:
            asyncio.get_running_loop().call_soon(self.fill)
        except RuntimeError:
            self.fill()

    def fill(self, at_most: int | None = None) -> int:
        """Start warm servers until ``size`` wait (at most ``at_most`` now); return how many were started."""
        self._filled = True
        started = 0
        while self.waiting < self.size and (at_most is None or started < at_most):
            self._waiting.append(subprocess.Popen(
                self.command, env=self.env, cwd="/", stdin=subprocess.PIPE, close_fds=True,
                start_new_session=True, preexec_fn=_die_with_the_hub))  # noqa: PLW1509 (as JupyterHub's spawner does)
            started += 1
        if started:
            log.info("Warm pool: started %d servers ahead of time (%d waiting)", started, len(self._waiting))
        return started

    def reserve(self) -> subprocess.Popen | None:
        """The oldest warm server still alive, out of the pool (for :meth:`hand_over`); None: none left."""
        self.cancel_refill()
        while self._waiting:
            proc = self._waiting.pop(0)
            if proc.poll() is None:
                return proc
        return None

    @staticmethod
    def hand_over(proc: subprocess.Popen, assignment: dict) -> bool:
        """Tell a reserved warm server whose it is (see backstage.singleuser.warm); False if it is gone.

        The line is written to the server's pipe (a few KB: it never blocks), which is then closed.
        """
        try:
            proc.stdin.write((json.dumps(assignment) + "\n").encode())
            proc.stdin.close()
            return True
        except (BrokenPipeError, OSError) as e:
            log.warning("Warm pool: server %d could not be handed over (%s)", proc.pid, e)
            proc.kill()
            proc.wait()
            return False

    def take(self, assignment: dict) -> subprocess.Popen | None:
        """Reserve and hand over the oldest warm server that takes it; None: none left."""
        while (proc := self.reserve()) is not None:
            if self.hand_over(proc, assignment):
                return proc
        return None

    def refill_later(self) -> None:
        """Top the pool up once the machine is quiet: checked ``refill_after`` seconds from now, then again every
        ``refill_after`` seconds until full; each check starts at most one warm server per core, and only while
        the 1-minute load average is below the number of cores (a room still at work keeps the CPU)."""
        if self.size == 0:
            return
        self.cancel_refill()
        self._refill = asyncio.get_running_loop().call_later(self.refill_after, self._refill_if_quiet)

    def _refill_if_quiet(self) -> None:
        self._refill = None
        cores = os.cpu_count() or 1
        if self.load_average() < cores:
            self.fill(at_most=cores)
        if self.waiting < self.size:
            self.refill_later()

    def cancel_refill(self) -> None:
        if self._refill is not None:
            self._refill.cancel()
            self._refill = None

    def close(self) -> None:
        """End every waiting warm server (end of input: each exits, or is killed if it does not within 5 s)."""
        self.cancel_refill()
        waiting, self._waiting = self._waiting, []
        for proc in waiting:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in waiting:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _forget_dead(self) -> None:
        for proc in [p for p in self._waiting if p.poll() is not None]:
            log.warning("Warm pool: server %d ended before it was handed over (exit %s)", proc.pid, proc.returncode)
            self._waiting.remove(proc)
