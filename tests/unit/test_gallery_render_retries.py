"""A failed render of a dashboard (Voilà busy, a kernel that did not start) is tried again, a bounded number of
times, and not at all once the dashboard is unpublished."""

from __future__ import annotations

import asyncio

from backstage.gallery.rendered import RenderedPages


class Store:
    def __init__(self):
        self.published = {"squares"}

    def published_for(self, slug):
        return {"slug": slug, "version": 1} if slug in self.published else None

    def published_items(self):
        return [{"slug": slug, "version": 1} for slug in sorted(self.published)]


def rendered_that_fails(times: int, store: Store | None = None) -> tuple[RenderedPages, list[str]]:
    rendered = RenderedPages.__new__(RenderedPages)  # only what render_with_retries uses
    rendered.store = store or Store()
    rendered.retries, rendered.retry_delay = 3, 0
    rendered._tasks, rendered._pending = set(), set()
    calls: list[str] = []

    async def render(slug):
        calls.append(slug)
        return len(calls) > times

    rendered.render = render
    return rendered, calls


def test_a_render_that_fails_twice_is_tried_again_until_it_works():
    rendered, calls = rendered_that_fails(2)
    assert asyncio.run(rendered.render_with_retries("squares")) is True
    assert calls == ["squares"] * 3


def test_a_render_that_keeps_failing_stops_after_the_retries():
    rendered, calls = rendered_that_fails(99)
    assert asyncio.run(rendered.render_with_retries("squares")) is False
    assert len(calls) == 4  # the first try and 3 more


def test_an_unpublished_dashboard_is_not_tried_again():
    store = Store()
    store.published.clear()
    rendered, calls = rendered_that_fails(99, store)
    assert asyncio.run(rendered.render_with_retries("squares")) is False
    assert calls == ["squares"]


def test_when_the_gallery_starts_every_published_dashboard_is_rendered_and_a_failed_one_tried_again():
    store = Store()
    store.published.add("roads")
    rendered, calls = rendered_that_fails(1, store)  # the first render (of "roads") fails
    asyncio.run(rendered.render_all())
    assert sorted(calls) == ["roads", "roads", "squares"]


def test_a_rerender_asked_by_the_data_check_is_tried_again_after_a_failure(tmp_path):
    rendered, calls = rendered_that_fails(2)
    rendered.requests = tmp_path
    rendered.poll_interval = 0.01
    (tmp_path / "squares").touch()

    async def watch_a_while():
        watcher = asyncio.ensure_future(rendered.watch_requests())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(calls) >= 3 and not rendered._tasks:
                break
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    asyncio.run(watch_a_while())
    assert calls == ["squares"] * 3
    assert not (tmp_path / "squares").exists()
