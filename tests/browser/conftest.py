"""Playwright driving Debian's Chromium (never a downloaded browser); other browser tests may reuse it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


# Package scope, not session: Playwright's sync API runs an event loop in the main thread while it is
# open, which breaks every later test that uses asyncio.run() or its own sync_playwright().
@pytest.fixture(scope="package")
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


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return not url.startswith(("http:", "https:", "ws:", "wss:")) or host in ("127.0.0.1", "localhost", "::1")


def sign_in(page, lab, name: str, password: str, next_path: str = "/services/gallery/"):
    """Sign in through the hub's real login form and land on ``next_path``."""
    page.goto(f"{lab.url}/hub/login?next={next_path}")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**{next_path}*")


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (from node_modules) in *page*; return the violations of the given impacts."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run 'npm ci' (make install does)")
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]
