"""Screenshots of rendered dashboards in headless Debian Chromium (driven by Playwright)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

log = logging.getLogger(__name__)

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _NOT_LOOPBACK(url: str) -> bool:  # noqa: N802 (a Playwright URL matcher)
    """True for every URL that leaves the machine (the checks work offline, like the lab)."""
    host = urlparse(url).hostname or ""
    return url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost", "::1")


class Thumbnails(LoggingConfigurable):
    """Render a page in headless Chromium, wait for its widgets, and save a PNG screenshot."""

    chromium = Unicode(
        "/usr/bin/chromium",
        help="Chromium executable (Debian's package; never a downloaded browser). Example: --Thumbnails.chromium=/usr/bin/chromium",
    ).tag(config=True)

    width = Int(1200, help="Viewport width in CSS pixels. Example: --Thumbnails.width=1024").tag(config=True)
    height = Int(750, help="Viewport height in CSS pixels. Example: --Thumbnails.height=640").tag(config=True)
    timeout = Float(60, help="Seconds allowed for the page to render. Example: --Thumbnails.timeout=30").tag(
        config=True
    )

    async def capture(self, url: str, out: Path, headers: dict | None = None) -> dict:
        """Open *url* (with extra request *headers*), wait until the network is idle, screenshot to *out*.

        Returns
        -------
        dict
            ``{"ok", "seconds", "failed_requests", "page_errors", "error"}``.
        """
        import time

        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if not Path(self.chromium).exists():
            return {"ok": False, "error": f"Chromium is missing at {self.chromium}: apt-get install chromium"}
        profile = tempfile.mkdtemp(prefix="backstage-thumb-")
        failed: list[str] = []
        errors: list[str] = []
        started = time.monotonic()
        try:
            async with async_playwright() as p:
                context = await p.chromium.launch_persistent_context(
                    profile, executable_path=self.chromium, args=CHROMIUM_ARGS, headless=True,
                    viewport={"width": self.width, "height": self.height}, extra_http_headers=headers or {},
                )
                try:
                    page = context.pages[0] if context.pages else await context.new_page()
                    await context.route(_NOT_LOOPBACK, lambda route: route.abort("blockedbyclient"))
                    page.on("requestfailed", lambda r: failed.append(r.url))
                    page.on("pageerror", lambda e: errors.append(str(e)[:300]))
                    response = await page.goto(url, timeout=self.timeout * 1000, wait_until="load")
                    if response is None or response.status >= 400:
                        status = response.status if response else "no response"
                        return {"ok": False, "error": f"the dashboard answered {status}"}
                    await page.wait_for_load_state("networkidle", timeout=self.timeout * 1000)
                    await page.wait_for_timeout(500)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(out), type="png")
                finally:
                    await context.close()
        except PlaywrightError as e:
            return {"ok": False, "error": f"Chromium could not render the page: {str(e).splitlines()[0]}"}
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        return {
            "ok": not errors, "seconds": round(time.monotonic() - started, 2),
            "outside_requests": failed[:20], "page_errors": errors[:10],
            "error": "; ".join(errors[:3]) or None,
        }
