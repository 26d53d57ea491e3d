"""Kernel replies that wait for a wake-up that never comes: poll in short slices instead of once.

jupyter_client's asyncio channels wait for a kernel's message with one ``await socket.poll(timeout)``. A zmq socket
tells the event loop it is readable through an edge-triggered file descriptor, and now and then that edge is missed:
the message is there, but the poll sleeps until its timeout and only then finds it. Measured here (2-core machine,
``benchmarks/kernel_reply_stalls.py``: 40 fresh kernels, two at a time, each running a widget cell with nbclient)
1 to 5 executions in 40 waited exactly nbclient's whole 30 s timeout with the reply already there, with
jupyter_client 8.6.3 to 8.10.0 and pyzmq 26.4 and 27.3 alike. Voilà runs a dashboard's cells with no timeout at all,
so the page for a live kernel (and a check's render) never came: the viewer's controls stayed "Connecting".

:func:`install` makes every wait a series of polls of at most `POLL_SLICE` seconds (a missed edge then costs that
much, not the whole wait); the total timeout is kept. The gallery installs it in its Voilà processes (their config
file) and in the checks' notebook runs.
"""

from __future__ import annotations

import math
import time
from queue import Empty

#: seconds of one poll: the longest a missed wake-up can delay a message
POLL_SLICE = 0.5


async def get_msg(self, timeout: float | None = None) -> dict:
    """`AsyncZMQSocketChannel.get_msg`, polling at most `POLL_SLICE` seconds at a time; `Empty` after *timeout*."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
        if await self.socket.poll(math.ceil(step * 1000)):  # rounded up: no run of 0 ms polls before the deadline
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


def install() -> None:
    """Replace jupyter_client's asyncio `get_msg` with the sliced one (in this process; idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    AsyncZMQSocketChannel.get_msg = get_msg
