"""One Chromium for a test module, one context (own cookies) per person: for integration tests outside
``tests/browser`` (whose conftest has the ``new_context`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from backstage.chromium import CHROMIUM, CHROMIUM_ARGS


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's headless Chromium through Playwright's sync API (closed at exit)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def person_page(browser, timeout_ms: int = 90_000):
    """A page in a fresh context of *browser*: a person of their own, signed in to nothing."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(timeout_ms)
    return context.new_page()
