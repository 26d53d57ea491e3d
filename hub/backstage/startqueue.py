"""A first-come, first-served queue of server starts, with a bounded number in flight.

When a room signs in at once, starting every server together shares the CPU between all of them and
finishes none soon (issue 16: a median of 90 s on 2 cores). Starting a few at a time, in arrival order,
finishes each one sooner and all of them no later. One ``StartQueue`` per hub process (one event loop).

A place is held from ``wait_turn()`` until ``leave()``: the spawner leaves when the server is ready,
when its start failed or was cancelled, and when the person stops it or is deleted while waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)

__all__ = ["QueuePlace", "StartQueue"]


@dataclass(frozen=True)
class QueuePlace:
    """Where someone stands: ``ahead`` people wait before them, ``starting`` servers start now."""

    ahead: int
    starting: int
    limit: int

    def message(self) -> str:
        """What the progress page says while they wait (plain text; the hub escapes it)."""
        people = "1 person" if self.ahead == 1 else f"{self.ahead} people"
        now = "1 server is" if self.starting == 1 else f"{self.starting} servers are"
        at_once = f"the lab starts {self.limit} at a time"
        if self.ahead == 0:
            return f"Waiting for a free place: {now} starting now ({at_once}); yours starts next."
        return f"In the queue: {people} ahead of you, {now} starting now ({at_once})."


class StartQueue:
    """FIFO admission of at most ``limit`` starts at a time; keys are anything hashable (a spawner)."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"a start queue needs a limit of at least 1, not {limit}: set start_limit to 1 or more")
        self.limit = limit
        self._starting: set[Hashable] = set()
        self._waiting: OrderedDict[Hashable, asyncio.Future] = OrderedDict()
        self._changed = asyncio.Event()
        self.version = 0  # counts the queue's moves (see changed())

    @property
    def starting(self) -> int:
        return len(self._starting)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def place(self, key: Hashable) -> QueuePlace | None:
        """Where ``key`` waits, or None when it is not waiting (starting, or not in the queue)."""
        for ahead, waiting in enumerate(self._waiting):
            if waiting is key:
                return QueuePlace(ahead=ahead, starting=len(self._starting), limit=self.limit)
        return None

    def holds(self, key: Hashable) -> bool:
        """Whether ``key`` holds a place among the starts in flight."""
        return key in self._starting

    async def wait_turn(self, key: Hashable) -> None:
        """Wait until ``key`` may start; it then holds a place until ``leave(key)``.

        Cancelled while waiting (the person stopped their server), it leaves the queue.
        """
        if key in self._starting or key in self._waiting:
            raise RuntimeError(f"{key!r} is already in the start queue: leave() it before waiting again")
        if not self._waiting and len(self._starting) < self.limit:
            self._starting.add(key)
            self._notify()
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting[key] = turn
        self._notify()
        try:
            await turn
        except BaseException:
            self.leave(key)
            raise

    def leave(self, key: Hashable) -> None:
        """Give up ``key``'s place, waiting or starting (idempotent); the next in line starts."""
        turn = self._waiting.pop(key, None)
        if turn is not None and not turn.done():
            turn.cancel()
        self._starting.discard(key)
        self._admit()
        self._notify()

    async def changed(self, since: int, timeout: float | None = None) -> None:
        """Return once the queue moved (anyone joined, started or left) after ``version`` ``since``, or after
        ``timeout`` seconds; returns at once when it already has."""
        if self.version != since:
            return
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass

    def _admit(self) -> None:
        while self._waiting and len(self._starting) < self.limit:
            key, turn = self._waiting.popitem(last=False)
            if turn.done():  # cancelled: its waiter is leaving
                continue
            self._starting.add(key)
            turn.set_result(None)

    def _notify(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
