"""Handlers and the tornado application of the "Share my server" service."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from urllib.parse import quote, urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import httpclient, web

from backstage.web import PageHandler, asset_routes, make_jinja_env

log = logging.getLogger(__name__)

__all__ = ["SharePageHandler", "create_app", "main"]


class SharePageHandler(PageHandler):
    """``GET`` lists my shares; ``POST`` (XSRF-checked) adds a person or group, or revokes one.

    The page is in the lab's one layout (``backstage.web``: ``templates/share.html`` extends its ``base.html``).
    """

    site_section = "share"

    def page_namespace(self) -> dict:
        return {**super().page_namespace(), "service_name": "Share my server"}

    def _api(self, path: str) -> str:
        return url_path_join(self.hub_auth.api_url, path)

    async def _call(self, method: str, path: str, body: dict | None = None):
        token = self.hub_auth.get_token(self)
        request = httpclient.HTTPRequest(
            self._api(path), method=method, headers={"Authorization": f"token {token}",
                                                     "Content-Type": "application/json"},
            body=json.dumps(body) if body is not None else None,
        )
        response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        try:
            data = json.loads(response.body or b"{}")
        except ValueError:
            data = {}
        return response.code, data

    async def _render(self, message: str | None = None, error: str | None = None, status: int = 200):
        user = self.current_user
        code, data = await self._call("GET", f"shares/{quote(user['name'])}/")
        shares = data.get("items", []) if code == 200 else []
        if code == 404:
            error = error or "Start your server once before sharing it."
        self.render_page("share.html", status=status, shares=shares, message=message, error=error,
                         hub_prefix=self.hub_auth.hub_host + self.hub_auth.hub_prefix)  # the hub's own host

    @web.authenticated
    async def get(self):
        await self._render()

    @web.authenticated
    async def post(self):
        self.check_xsrf_cookie()
        user = self.current_user
        action = self.get_body_argument("action", "")
        kind = self.get_body_argument("kind", "user")
        name = self.get_body_argument("name", "").strip()
        if kind not in ("user", "group") or not name or action not in ("add", "revoke"):
            await self._render(error="Choose a person or a group, type its name, and add or revoke.", status=400)
            return
        if action == "add" and kind == "user" and name == user["name"]:
            await self._render(error="That is you: you can always reach your own server.", status=400)
            return
        method = "POST" if action == "add" else "PATCH"
        code, data = await self._call(method, f"shares/{quote(user['name'])}/", {kind: name})
        if code >= 400:
            reason = data.get("message") or f"the hub answered {code}"
            log.info("%s could not %s share with %s %s: %s", user["name"], action, kind, name, reason)
            await self._render(error=f"Could not {action} {kind} {name}: {reason}", status=code)
            return
        log.info("%s %s share with %s %s", user["name"], "added" if action == "add" else "revoked", kind, name)
        verb = "now shared with" if action == "add" else "no longer shared with"
        await self._render(message=f"Your server is {verb} {kind} {name}.")


def create_app() -> web.Application:
    """The service's application, configured from the ``JUPYTERHUB_*`` environment the hub injects."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/share/")
    return web.Application(
        [
            (prefix, SharePageHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            *asset_routes(prefix),
        ],
        cookie_secret=os.urandom(32),
        jinja_env=make_jinja_env(Path(__file__).parent / "templates"),
        prefix=prefix,
        xsrf_cookies=True,
    )


async def _serve(host: str, port: int) -> None:
    app = create_app()
    server = app.listen(port, host)
    log.info("Share page on http://%s:%s", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    log.info("Share page stopped")


def main() -> int:
    """Listen on ``JUPYTERHUB_SERVICE_URL`` until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s share: %(message)s")
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    asyncio.run(_serve(url.hostname, url.port))
    return 0
