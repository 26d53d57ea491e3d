"""The queue of server starts (backstage.startqueue): order, bound, leaving, failures (no hub needed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from backstage.spawner import BackstageSpawner, default_start_limit
from backstage.startqueue import StartQueue


def run(coro):
    return asyncio.run(coro)


async def _settle():
    for _ in range(5):
        await asyncio.sleep(0)


def test_first_come_first_served_and_never_more_than_the_limit_in_flight():
    async def scenario():
        queue = StartQueue(2)
        started, peak = [], 0

        async def person(name):
            nonlocal peak
            await queue.wait_turn(name)
            started.append(name)
            peak = max(peak, queue.starting)
            await asyncio.sleep(0.01)
            queue.leave(name)

        tasks = []
        for name in "abcdef":
            tasks.append(asyncio.create_task(person(name)))
            await asyncio.sleep(0)  # they arrive in this order
        await asyncio.gather(*tasks)
        return started, peak, queue.starting, queue.waiting

    started, peak, starting, waiting = run(scenario())
    assert started == list("abcdef")
    assert peak == 2
    assert (starting, waiting) == (0, 0)


def test_the_places_say_how_many_are_ahead():
    async def scenario():
        queue = StartQueue(1)
        await queue.wait_turn("a")
        b = asyncio.create_task(queue.wait_turn("b"))
        c = asyncio.create_task(queue.wait_turn("c"))
        await _settle()
        places = queue.place("a"), queue.place("b"), queue.place("c")
        queue.leave("a")
        await _settle()
        assert b.done() and not c.done()
        after = queue.holds("b"), queue.place("c")
        queue.leave("b")
        await c
        return places, after

    (a, b, c), (b_holds, c_after) = run(scenario())
    assert a is None  # starting, not waiting
    assert (b.ahead, b.starting, b.limit) == (0, 1, 1)
    assert (c.ahead, c.starting) == (1, 1)
    assert b.message() == ("Waiting for a free place: 1 server is starting now (the lab starts 1 at a time); "
                           "yours starts next.")
    assert c.message() == "In the queue: 1 person ahead of you, 1 server is starting now (the lab starts 1 at a time)."
    assert b_holds and c_after.ahead == 0


def test_someone_who_stops_while_waiting_leaves_the_queue():
    async def scenario():
        queue = StartQueue(1)
        await queue.wait_turn("a")
        b = asyncio.create_task(queue.wait_turn("b"))
        c = asyncio.create_task(queue.wait_turn("c"))
        await _settle()
        b.cancel()  # what JupyterHub does to a pending spawn when its server is stopped
        await _settle()
        assert b.cancelled()
        gone = queue.place("b"), queue.place("c").ahead
        queue.leave("a")
        await asyncio.wait_for(c, 1)
        return gone, queue.holds("b"), queue.holds("c")

    (b_place, c_ahead), b_holds, c_holds = run(scenario())
    assert b_place is None and c_ahead == 0
    assert not b_holds and c_holds


def test_a_failed_start_frees_its_place_and_leaving_twice_is_harmless():
    async def scenario():
        queue = StartQueue(1)

        async def failing_start():
            await queue.wait_turn("a")
            try:
                raise RuntimeError("the server did not start")
            except RuntimeError:
                queue.leave("a")
                raise

        with pytest.raises(RuntimeError):
            await failing_start()
        queue.leave("a")
        await asyncio.wait_for(queue.wait_turn("b"), 1)  # free at once
        return queue.starting

    assert run(scenario()) == 1


def test_cancelled_just_after_being_admitted_gives_the_place_on():
    async def scenario():
        queue = StartQueue(1)
        await queue.wait_turn("a")
        b = asyncio.create_task(queue.wait_turn("b"))
        c = asyncio.create_task(queue.wait_turn("c"))
        await _settle()
        queue.leave("a")  # b is admitted ...
        b.cancel()  # ... and stopped before it ran again
        await asyncio.wait_for(c, 1)
        return queue.holds("b"), queue.holds("c")

    assert run(scenario()) == (False, True)


def test_changed_wakes_waiters_on_any_move():
    async def scenario():
        queue = StartQueue(1)
        await queue.wait_turn("a")
        seen = queue.version
        watcher = asyncio.create_task(queue.changed(seen, timeout=5))
        await _settle()
        queue.leave("a")
        await asyncio.wait_for(watcher, 1)
        await asyncio.wait_for(queue.changed(seen, timeout=5), 0.1)  # a move already seen returns at once

    run(scenario())


def test_a_limit_below_one_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="start_limit to 1 or more"):
        StartQueue(0)


def test_the_default_limit_is_sized_from_the_machine(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    assert default_start_limit() == 6
    assert BackstageSpawner().start_limit == 6
    assert BackstageSpawner(start_limit=1).start_queue.limit == 1


def test_the_site_setting_sets_the_limit_and_a_bad_one_is_refused():
    import copy

    from backstage.hubconfig import build_config
    from backstage.settings import DEFAULTS, SettingsError, validate_settings

    settings = copy.deepcopy(DEFAULTS)
    assert "start_limit" not in build_config(settings).BackstageSpawner  # the machine's default
    settings["start_limit"] = 3
    assert build_config(settings).BackstageSpawner.start_limit == 3
    with pytest.raises(SettingsError, match="start_limit"):
        validate_settings({**settings, "start_limit": 0})


class _Spawner(BackstageSpawner):
    """The spawner's queue hooks, with JupyterHub's part played by hand (no hub, no process)."""

    async def _start(self):
        return "http://127.0.0.1:1"


def _spawner(limit: int, name: str) -> _Spawner:
    spawner = _Spawner(start_limit=limit, user=SimpleNamespace(name=name))
    spawner._spawn_pending = True
    return spawner


def test_the_spawner_queues_before_start_reports_the_wait_and_frees_the_place(monkeypatch):
    import backstage.spawner as module

    monkeypatch.setattr(module, "_QUEUES", {})
    monkeypatch.setattr(module.LocalProcessSpawner, "stop", lambda self, now=False: asyncio.sleep(0))

    async def scenario():
        first, second = _spawner(1, "ada"), _spawner(1, "ben")
        loop = asyncio.get_running_loop()
        first._spawn_future = loop.create_future()  # the hub's spawn, until the server is ready
        await first.run_pre_spawn_hook()
        second._spawn_future = loop.create_future()
        waiting = asyncio.create_task(second.run_pre_spawn_hook())
        progress = second.progress()
        told = [await anext(progress)]
        first._spawn_future.set_result(None)  # ada's server is ready: ben starts
        await asyncio.wait_for(waiting, 1)

        async def rest():
            return [event async for event in progress]

        told += await asyncio.wait_for(rest(), 5)  # the move is reported at once, not at the next poll
        queue = second.start_queue
        holds = queue.holds(second)
        await second.start()
        second._spawn_future.set_exception(RuntimeError("did not answer"))  # a failed start frees the place
        await _settle()
        after_failure = queue.holds(second)

        third = _spawner(1, "cat")
        third._spawn_future = loop.create_future()
        await third.run_pre_spawn_hook()
        fourth = _spawner(1, "dan")
        fourth._spawn_future = loop.create_future()
        queued = asyncio.create_task(fourth.run_pre_spawn_hook())
        await _settle()
        await fourth.stop()  # stopped while waiting: leaves the queue
        await third.stop()
        return told, holds, after_failure, queue.place(fourth), queue.starting, queued

    told, holds, after_failure, fourth_place, starting, queued = run(scenario())
    assert told[0]["message"].startswith("Waiting for a free place: 1 server is starting now")
    assert told[-1]["message"].startswith("Starting your server")
    assert holds and not after_failure
    assert fourth_place is None and starting == 0
    assert queued.cancelled() or queued.exception() is not None


def test_the_site_setting_warms_servers_for_a_hack_day_and_a_bad_one_is_refused():
    import copy

    from backstage.hubconfig import build_config
    from backstage.settings import DEFAULTS, SettingsError, validate_settings

    settings = copy.deepcopy(DEFAULTS)
    assert "warm_servers" not in build_config(settings).BackstageSpawner  # $BACKSTAGE_WARM_SERVERS, else none
    settings["warm_servers"] = 50
    validate_settings(settings)
    assert build_config(settings).BackstageSpawner.warm_servers == 50
    with pytest.raises(SettingsError, match="warm_servers"):
        validate_settings({**settings, "warm_servers": -1})
