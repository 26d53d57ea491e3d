"""The commons service: ``create_app()`` builds it, ``main()`` runs it as a JupyterHub managed service.

Features register here. Each module named in :data:`FEATURES` (inside this package) exposes:

- ``init_store(db)``: create its tables (``CREATE TABLE IF NOT EXISTS``) on the shared SQLite connection;
- ``routes(prefix) -> list``: its Tornado routes under the service prefix (``prefix`` ends with ``/``).

Handlers reach the app as ``self.commons`` (see :mod:`.base`): ``self.commons.db`` and
``backstage.web.transaction(self.commons.db)`` for writes.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import web
from traitlets import Bool, Unicode, default

from backstage import urls
from backstage.paths import state_dir as lab_state_dir
from backstage.roles import ANSWER_SCOPE, CHALLENGES_SCOPE, GALLERY_SERVICE
from backstage.web import HubServiceApp, asset_routes, connect, make_jinja_env

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

#: Feature modules of the commons, in the order their routes are matched.
FEATURES: tuple[str, ...] = ("home", "challenges", "pages", "moderation", "feeds", "prototype", "requests")


class CommonsApp(HubServiceApp):
    """Government Backstage commons: challenges, ideas, votes and data requests, open to read."""

    name = "backstage-commons"
    service_name = "commons"
    description = __doc__

    public = Bool(
        True,
        help="""Anyone may read pages and GET API answers without signing in (site setting commons.public).
        False makes a closed lab: everything needs sign-in. Example: --CommonsApp.public=False""",
    ).tag(config=True)

    challenges_scope = Unicode(
        CHALLENGES_SCOPE,
        help=f"Scope needed to post challenges and answer their ideas. Example: --CommonsApp.challenges_scope={CHALLENGES_SCOPE}",
    ).tag(config=True)

    answer_scope = Unicode(
        ANSWER_SCOPE,
        help=f"Scope needed to answer data requests. Example: --CommonsApp.answer_scope={ANSWER_SCOPE}",
    ).tag(config=True)

    moderators_group = Unicode(
        "organisers",
        help="Group whose members see reports and hide ideas (admins too). Example: --CommonsApp.moderators_group=organisers",
    ).tag(config=True)

    state_dir = Unicode(
        help="""Folder of the commons' database (created 0700). Default: $BACKSTAGE_STATE/commons.
        Example: --CommonsApp.state_dir=/srv/backstage/commons""",
    ).tag(config=True)

    @default("state_dir")
    def _default_state_dir(self):
        return str(lab_state_dir() / "commons")

    hub_url = Unicode(
        help="""The hub's public URL as a browser reaches it (sign-in, sign-up, people's labs). Default:
        $JUPYTERHUB_PUBLIC_HUB_URL, else $JUPYTERHUB_HOST + /hub/. Example: --CommonsApp.hub_url=https://lab.example.org/hub/""",
    ).tag(config=True)

    @default("hub_url")
    def _default_hub_url(self):
        return os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL") or (
            os.environ.get("JUPYTERHUB_HOST", "") + os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/")

    gallery_api_url = Unicode(
        help="""The gallery's list of published dashboards, read with the commons' own service token.
        Default: $BACKSTAGE_GALLERY_API_URL. Example: http://127.0.0.1:8101/services/gallery/api/dashboards""",
    ).tag(config=True)

    @default("gallery_api_url")
    def _default_gallery_api_url(self):
        return os.environ.get("BACKSTAGE_GALLERY_API_URL", "")

    gallery_url = Unicode(
        help="""The gallery's public base URL, for links ('' when the lab has no gallery). Default:
        $BACKSTAGE_GALLERY_URL, else where the proxy routes the gallery (its own origin with
        $BACKSTAGE_SUBDOMAIN_HOST). Example: https://gallery--service.lab.example.org/services/gallery/""",
    ).tag(config=True)

    @default("gallery_url")
    def _default_gallery_url(self):
        if os.environ.get("BACKSTAGE_GALLERY_URL"):
            return os.environ["BACKSTAGE_GALLERY_URL"]
        if not self.gallery_api_url:
            return ""
        return urls.service_url(GALLERY_SERVICE, "", base_url=os.environ.get("JUPYTERHUB_BASE_URL", "/"))

    def init_store(self) -> None:
        root = Path(self.state_dir)
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)
        self.db = connect(root / "commons.sqlite")
        for module in self.feature_modules():
            module.init_store(self.db)

    def feature_modules(self) -> list:
        return [importlib.import_module(f"{__package__}.{name}") for name in FEATURES]

    def make_web_app(self) -> web.Application:
        p = self.prefix
        hub_auth = HubOAuth.instance(cache_max_age=60)
        routes = [(p + "oauth_callback", HubOAuthCallbackHandler), *asset_routes(p),
                  (p + r"static/(.*)", web.StaticFileHandler, {"path": str(HERE / "static")})]
        for module in self.feature_modules():
            routes.extend(module.routes(p))
        from .base import NotFoundPage

        return web.Application(
            routes, commons=self, hub_auth=hub_auth, prefix=p, jinja_env=make_jinja_env(HERE / "templates"),
            cookie_secret=os.urandom(32), login_url=hub_auth.login_url, xsrf_cookies=False,
            default_handler_class=NotFoundPage,
        )

    async def start_async(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        url = urlparse(self.service_url)
        server = self.make_web_app().listen(url.port, url.hostname, max_body_size=2 << 20)
        log.info("commons listening on %s (public reading: %s)", self.service_url, self.public)
        await stop.wait()
        log.info("commons stopping")
        server.stop()
        self.db.close()


def create_app(argv: list[str] | None = None, **config) -> CommonsApp:
    """Build a configured commons with its store open; *config* sets traits, e.g. ``CommonsApp={"public": False}``."""
    app = CommonsApp.configured(argv, **config)
    app.init_store()
    return app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(sys.argv[1:] if argv is None else argv)  # the hub passes --CommonsApp.public=...
    asyncio.run(app.start_async())
