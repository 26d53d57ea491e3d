"""Kernel messages that wait for a wake-up that never comes: look again at short intervals.

A zmq socket tells the event loop it is readable through an edge-triggered file descriptor, and now and then that
edge is missed (any other operation on the socket, a send included, can consume it): the message is there, but
nothing looks at it.

- jupyter_client's asyncio channels wait with one ``await socket.poll(timeout)``: the poll sleeps until its timeout
  and only then finds the message. Measured here (2-core machine, ``benchmarks/kernel_reply_stalls.py``: 40 fresh
  kernels, two at a time, each running a widget cell with nbclient) 1 to 5 executions in 40 waited exactly
  nbclient's whole 30 s timeout with the reply already there, with jupyter_client 8.6.3 to 8.10.0 and pyzmq 26.4 and
  27.3 alike. Voilà runs a dashboard's cells with no timeout at all, so its page never came.
- pyzmq's ``ZMQStream`` (Jupyter Server's kernel websockets, and every socket of an ipykernel 7 kernel: its shell
  requests, its control channel, its threads' pipes) has no timeout either: a missed edge leaves the message unread
  until some later message happens to wake the socket. ipykernel#1554 describes one such window (a request arriving
  while a reply is sent); in CI a participant's "Run All" got no output in 300 s and a dashboard's kernel sent no
  widget state in 60 s, both over fresh websockets, at the same minute.

:func:`install` makes every jupyter_client wait a series of polls of at most `POLL_SLICE` seconds (the total timeout
is kept), and gives every ``ZMQStream`` made afterwards a re-check of its socket every `STREAM_CHECK` seconds on the
stream's own loop: a missed edge then costs that much, not the rest of the wait. It is installed in the gallery's
Voilà processes (their config file) and checks, in each person's server (``backstage.singleuser``) and in every
kernel of the environment (``etc/ipython/ipython_kernel_config.py``, installed with the package).
"""

from __future__ import annotations

import functools
import logging
import math
import time
import weakref
from queue import Empty

log = logging.getLogger(__name__)

#: seconds of one poll: the longest a missed wake-up can delay a message to a jupyter_client channel
POLL_SLICE = 0.5
#: seconds between two re-checks of a ZMQStream's socket: the longest a missed wake-up can delay its message
STREAM_CHECK = 0.5


async def get_msg(self, timeout: float | None = None) -> dict:
    """`AsyncZMQSocketChannel.get_msg`, polling at most `POLL_SLICE` seconds at a time; `Empty` after *timeout*."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
        if await self.socket.poll(math.ceil(step * 1000)):  # rounded up: no run of 0 ms polls before the deadline
            return await self._recv()
        if deadline is not None and time.monotonic() >= deadline:
            raise Empty


def watch_stream(stream) -> None:
    """Every `STREAM_CHECK` seconds, on *stream*'s own loop (its socket's thread), handle what its socket has waiting
    that the stream wants (``_state``: read, write). Stops when the stream is closed or gone (a weak reference)."""
    import zmq
    from tornado.ioloop import PeriodicCallback

    ref = weakref.ref(stream)

    def check() -> None:
        current = ref()
        if current is None or current.socket is None or current.socket.closed:
            timer.stop()
            return
        try:
            waiting = current.socket.get(zmq.EVENTS) & current._state
        except zmq.ZMQError:  # the socket or its context is gone
            timer.stop()
            return
        if waiting:
            log.debug("a zmq socket had events %d waiting with no wake-up: handled by the re-check", waiting)
            current._handle_events(current.socket, 0)

    timer = PeriodicCallback(check, STREAM_CHECK * 1000)
    stream.io_loop.add_callback(timer.start)  # started on the stream's loop, from any thread


def _watched(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        watch_stream(self)

    __init__.backstage_watched = True
    return __init__


def install() -> None:
    """In this process: jupyter_client's asyncio waits in slices, and every new ZMQStream re-checked (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel
    from zmq.eventloop.zmqstream import ZMQStream

    AsyncZMQSocketChannel.get_msg = get_msg
    if not getattr(ZMQStream.__init__, "backstage_watched", False):
        ZMQStream.__init__ = _watched(ZMQStream.__init__)
