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


def rendered_that_fails(times: int, store: Store | None = None) -> tuple[RenderedPages, list[str]]:
    rendered = RenderedPages.__new__(RenderedPages)  # only what render_with_retries uses
    rendered.store = store or Store()
    rendered.retries, rendered.retry_delay = 3, 0
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
