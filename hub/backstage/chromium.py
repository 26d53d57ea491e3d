"""Debian's Chromium, as every part of the lab launches it (thumbnails, printed briefs, tests, benchmarks).

Playwright drives it with ``executable_path``: a browser downloaded by Playwright is never used.
"""

from __future__ import annotations

import shutil

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium_path"]

#: Where Debian's ``chromium`` package installs the browser.
CHROMIUM = "/usr/bin/chromium"

#: Headless, no first-run or background traffic (nothing leaves the machine unasked).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium, or another ``chromium`` on ``PATH``; None when there is none."""
    return CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
