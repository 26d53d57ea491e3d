"""Sign-in throttling: after a few failures, a name (or an address) must wait, longer after each failure.

Kept in the hub's memory (a restart forgets it, which only ever lets people in sooner). Each key (a
user name, or a client address) may fail ``free`` times within ``window`` seconds; each failure
beyond those locks the key for ``base * 2**k`` seconds after that failure (k = 0, 1, 2, ...), up to
``cap``. Failures older than the window no longer count, so a busy room behind one address is never
locked for the day, and a success clears a name's failures. At most ``max_keys`` keys are kept (the
oldest go first), so a flood of made-up names cannot grow the hub's memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

__all__ = ["Throttle"]


class Throttle:
    """Failure times and lock-outs per key.

    Parameters
    ----------
    free : int
        Failures allowed within ``window`` before the first lock-out.
    base : float
        Seconds of the first lock-out; each further failure doubles it.
    cap : float
        Longest lock-out, in seconds.
    window : float
        Seconds a failure counts for.

    Examples
    --------
    >>> now = [0.0]
    >>> t = Throttle(free=2, base=1, cap=60, clock=lambda: now[0])
    >>> t.failed("ada"); t.failed("ada"); t.wait("ada")
    0
    >>> t.failed("ada"); t.wait("ada")
    1
    >>> now[0] = 1.0; t.failed("ada"); t.wait("ada")
    2
    """

    def __init__(self, free: int = 5, base: float = 1.0, cap: float = 900.0, window: float = 900.0,
                 max_keys: int = 100_000, clock=time.monotonic):
        self.free, self.base, self.cap, self.window, self.max_keys = free, base, cap, window, max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque | None:
        times = self._failures.get(key)
        while times and now - times[0] > self.window:
            times.popleft()
        if times is not None and not times:
            del self._failures[key]
            return None
        return times

    def wait(self, key: str) -> int:
        """Whole seconds ``key`` must still wait before trying again (0: it may try now)."""
        now = self._clock()
        times = self._recent(key, now)
        over = len(times) - self.free if times else 0
        if over <= 0:
            return 0
        until = times[-1] + min(self.cap, self.base * 2 ** min(over - 1, 30))
        return max(0, math.ceil(until - now))

    def failed(self, key: str) -> None:
        """Count a failure of ``key`` now."""
        now = self._clock()
        times = self._recent(key, now)
        if times is None:
            times = deque(maxlen=self.free + 32)  # enough to reach the cap
        else:
            del self._failures[key]
        times.append(now)
        self._failures[key] = times
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures (a correct sign-in)."""
        self._failures.pop(key, None)
