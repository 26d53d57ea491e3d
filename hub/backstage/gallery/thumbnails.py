"""Screenshots of rendered dashboards in headless Debian Chromium (driven by Playwright).

The page shows a submission's outputs, which are untrusted, and runs their scripts. So:

- every network request of the page is refused except those to the one-off Voilà that serves it (its
  page, its static files, its kernel's websocket): no internet, and no loopback service (the hub's API,
  another Voilà, a database) is reachable from the page; service workers are blocked;
- the submitter gets a short message, never the browser's own error text (which a page can fill with
  what it found);
- Chromium's own sandbox needs user namespaces that containers often lack (hence ``--no-sandbox``), so
  when the gallery runs as root Chromium runs as the check's throw-away account (``setpriv``, through a
  two-line wrapper that Playwright launches): an exploit of the browser gets that account's rights only,
  and dies with it.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from traitlets import Float, Int, Unicode, observe
from traitlets.config import LoggingConfigurable

from backstage.chromium import CHROMIUM_ARGS

from .runas import RunAs, current_user, limit_tasks
from .sandbox import warn_deprecated

log = logging.getLogger(__name__)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, (parts.hostname or ""), parts.port


class Thumbnails(LoggingConfigurable):
    """Render a page in headless Chromium, wait for its widgets, and save a PNG screenshot."""

    chromium = Unicode(
        "/usr/bin/chromium",
        help="Chromium executable (Debian's package; never a downloaded browser). Example: --Thumbnails.chromium=/usr/bin/chromium",
    ).tag(config=True)

    width = Int(1200, help="Viewport width in CSS pixels. Example: --Thumbnails.width=1024").tag(config=True)
    height = Int(750, help="Viewport height in CSS pixels. Example: --Thumbnails.height=640").tag(config=True)
    timeout = Float(
        120,
        help="""Seconds allowed for the page to render (measured: a widget dashboard took over 60 s to load with a
        load average of 20 on a 2-core machine). Example: --Thumbnails.timeout=60""",
    ).tag(config=True)
    run_as = Unicode(
        None, allow_none=True,
        help="Deprecated and ignored: Chromium runs as the check's own account. Example: --Sandbox.check_user_prefix=bkcheck-",
    ).tag(config=True)

    @observe("run_as")
    def _deprecated_run_as(self, change):
        warn_deprecated(self.log, "Thumbnails.run_as", "Sandbox.check_user_prefix")

    def _browser(self, profile: str, runner: RunAs) -> tuple[str, dict]:
        """The executable Playwright should launch, and its environment: Chromium itself, or, as root, a
        wrapper that drops to *runner* first (file descriptors, Playwright's pipe, pass through)."""
        env = {"HOME": profile, "TMPDIR": profile, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if runner.uid == os.geteuid():
            return self.chromium, env
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        wrapper = Path(profile).parent / "chromium-as-user"
        command = " ".join(shlex.quote(a) for a in limit_tasks([
            setpriv, f"--reuid={runner.uid}", f"--regid={runner.gid}", "--clear-groups", "--inh-caps=-all",
            "--no-new-privs", self.chromium]))
        wrapper.write_text(f"#!/bin/sh\nexec {command} \"$@\"\n")
        wrapper.chmod(0o700)  # root's alone: only the gallery may launch it
        os.chmod(Path(profile).parent, 0o711)  # noqa: S103 (pass through to its profile; no listing, no writing)
        runner.own(Path(profile))
        return str(wrapper), env

    async def capture(self, url: str, out: Path, headers: dict | None = None, run_as: RunAs | None = None) -> dict:
        """Open *url* (with extra request *headers*) as *run_as*, wait until the network is idle, save a PNG.

        Only requests to *url*'s own origin go out; every other one is refused.

        Returns
        -------
        dict
            ``{"ok", "seconds", "refused_requests", "page_errors", "error"}``: counts, and a short message
            of ours in ``error`` (the browser's own text only goes to the gallery's log).
        """
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout
        from playwright.async_api import async_playwright

        if not Path(self.chromium).exists():
            return {"ok": False, "error": f"Chromium is missing at {self.chromium}: apt-get install chromium"}
        allowed = _origin(url)
        refused: list[str] = []
        errors: list[str] = []

        async def only_the_dashboard(route):
            if _origin(route.request.url) == allowed:
                await route.continue_()
            else:
                refused.append(route.request.url)
                await route.abort("blockedbyclient")

        async def refuse_socket(socket):
            refused.append(socket.url)
            await socket.close(code=1008, reason="refused")

        workdir = tempfile.mkdtemp(prefix="backstage-thumb-")
        profile = os.path.join(workdir, "profile")
        os.mkdir(profile, 0o700)
        executable, env = self._browser(profile, run_as or current_user())
        started = time.monotonic()
        try:
            async with async_playwright() as p:
                context = await p.chromium.launch_persistent_context(
                    profile, executable_path=executable, args=[*CHROMIUM_ARGS, *_NO_SIDE_CHANNELS], headless=True,
                    env=env, viewport={"width": self.width, "height": self.height}, extra_http_headers=headers or {},
                    service_workers="block",
                )
                try:
                    await context.route("**/*", only_the_dashboard)
                    await context.route_web_socket(lambda u: _origin(u) != allowed, refuse_socket)
                    page = context.pages[0] if context.pages else await context.new_page()
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
        except PlaywrightTimeout as e:
            log.warning("thumbnail of %s timed out: %r", url, str(e)[:500])
            return {"ok": False, "error": f"the dashboard did not finish loading in the browser within {self.timeout:.0f} s"}
        except PlaywrightError as e:
            log.warning("thumbnail of %s failed: %r", url, str(e)[:500])
            return {"ok": False, "error": "the browser could not render the dashboard (it stopped or crashed)"}
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if refused or errors:
            log.info("thumbnail of %s: %d requests refused, script errors: %r", url, len(refused), errors[:5])
        return {
            "ok": not errors, "seconds": round(time.monotonic() - started, 2),
            "refused_requests": len(refused), "page_errors": len(errors),
            "error": (f"the dashboard's scripts raised {len(errors)} error(s) in the browser: open it with Voilà "
                      "on your own server and look at the browser console") if errors else None,
        }


#: Belt and braces beside the routing: no WebRTC traffic outside a proxy, no DNS prefetching.
_NO_SIDE_CHANNELS = ["--force-webrtc-ip-handling-policy=disable_non_proxied_udp", "--dns-prefetch-disable"]
