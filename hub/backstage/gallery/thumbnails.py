"""Screenshots of rendered dashboards in headless Debian Chromium (driven by Playwright).

The page shows a submission's outputs, which are untrusted; Chromium's own sandbox needs user namespaces
that containers often lack (hence ``--no-sandbox``), so when the gallery runs as root, Chromium runs as an
unprivileged user instead (``setpriv``, through a two-line wrapper that Playwright launches): an exploit
of the browser gets ``nobody``'s rights, not root's.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from backstage.chromium import CHROMIUM_ARGS

from .runas import RunAs, resolve

log = logging.getLogger(__name__)



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
    run_as = Unicode(
        "nobody",
        help="""Unix user that runs Chromium when the gallery runs as root (never root itself).
        Example: --Thumbnails.run_as=backstage-thumbnails""",
    ).tag(config=True)

    def _browser(self, profile: str) -> tuple[str, dict]:
        """The executable Playwright should launch, and its environment: Chromium itself, or, as root, a
        wrapper that drops to the unprivileged user first (file descriptors, Playwright's pipe, pass through)."""
        runner: RunAs = resolve(self.run_as)
        env = {"HOME": profile, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if runner.uid == os.geteuid():
            return self.chromium, env
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        wrapper = Path(profile).parent / "chromium-as-user"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(setpriv)} --reuid={runner.uid} --regid={runner.gid} --clear-groups "
            f"--inh-caps=-all {shlex.quote(self.chromium)} \"$@\"\n"
        )
        wrapper.chmod(0o700)  # root's alone: only the gallery may launch it
        os.chmod(Path(profile).parent, 0o711)  # noqa: S103 (pass through to its profile; no listing, no writing)
        runner.own(Path(profile))
        return str(wrapper), env

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
        workdir = tempfile.mkdtemp(prefix="backstage-thumb-")
        profile = os.path.join(workdir, "profile")
        os.mkdir(profile, 0o700)
        executable, env = self._browser(profile)
        failed: list[str] = []
        errors: list[str] = []
        started = time.monotonic()
        try:
            async with async_playwright() as p:
                context = await p.chromium.launch_persistent_context(
                    profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True, env=env,
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
            shutil.rmtree(workdir, ignore_errors=True)
        return {
            "ok": not errors, "seconds": round(time.monotonic() - started, 2),
            "outside_requests": failed[:20], "page_errors": errors[:10],
            "error": "; ".join(errors[:3]) or None,
        }
