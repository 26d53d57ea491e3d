"""Sign-in throttling (backstage.auth.throttle): free failures, a doubling wait, a window, bounded memory."""

from __future__ import annotations

from backstage.auth.throttle import Throttle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_free_failures_then_a_doubling_wait_up_to_the_cap():
    clock = Clock()
    t = Throttle(free=3, base=1, cap=8, clock=clock)
    waits = []
    for _ in range(8):
        t.failed("ada")
        waits.append(t.wait("ada"))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 8]
    clock.now += 7.5
    assert t.wait("ada") == 1
    clock.now += 1
    assert t.wait("ada") == 0
    assert t.wait("bob") == 0  # other names are not affected


def test_failures_older_than_the_window_no_longer_count():
    clock = Clock()
    t = Throttle(free=2, base=10, window=60, clock=clock)
    for _ in range(3):
        t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 10
    clock.now += 61
    assert t.wait("10.0.0.1") == 0
    t.failed("10.0.0.1")
    assert t.wait("10.0.0.1") == 0  # one recent failure: free again


def test_a_success_clears_the_name():
    t = Throttle(free=1, clock=Clock())
    t.failed("ada")
    t.failed("ada")
    assert t.wait("ada") > 0
    t.succeeded("ada")
    assert t.wait("ada") == 0


def test_a_flood_of_made_up_names_keeps_memory_bounded():
    t = Throttle(free=0, max_keys=100, clock=Clock())
    for i in range(10_000):
        t.failed(f"name{i}")
    assert len(t._failures) == 100
    assert t.wait("name9999") > 0 and t.wait("name0") == 0
