"""Playwright driving Debian's Chromium (never a downloaded browser); other browser tests may reuse it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from backstage.chromium import CHROMIUM, CHROMIUM_ARGS


# Module scope, not session (nor package, which is session for a folder without __init__.py): Playwright's
# sync API runs an event loop in the main thread while it is open, which breaks every later test that
# uses asyncio.run() or its own sync_playwright().
@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}: apt-get install chromium (make install does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def new_context(playwright):
    """Factory: a fresh persistent Chromium context (own profile, so own cookies); closed after the test."""
    contexts, profiles = [], []

    def make(**options):
        profile = tempfile.mkdtemp(prefix="backstage-chromium-")
        profiles.append(profile)
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900}, **options)
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(new_context):
    """One Chromium context for the test."""
    return new_context()
