"""The gallery service: ``create_app()`` builds it, ``main()`` runs it as a JupyterHub managed service.

It reads only the ``JUPYTERHUB_*`` environment the hub injects (service URL, prefix, OAuth client),
plus ``BACKSTAGE_STATE`` (where its store lives) and ``BACKSTAGE_PUBLIC_URL`` (how to reach users'
servers through the proxy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Instance, Unicode, default

from backstage.paths import state_dir as lab_state_dir
from backstage.urls import service_url
from backstage.web import HubServiceApp, asset_routes, make_jinja_env

from . import handlers, pages, proxy, remix, remix_handlers
from .checks import Checks
from .commons_links import CommonsLinks
from .live import Dashboards, LiveHandler, LiveKernels
from .metrics import MetricsHandler
from .rendered import RenderedPages, Tickets
from .sandbox import Sandbox
from .store import Store, StoreError
from .thumbnails import Thumbnails
from .usage import Usage
from .voila import VoilaPool

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


def jinja_env():
    """The gallery's templates (the shared layout after its own), with the remix helpers they call."""
    env = make_jinja_env(HERE / "templates")
    env.globals.update(can_remix=remix.can_remix, lab_remix_url=remix.lab_remix_url)
    return env


class GalleryApp(HubServiceApp):
    """Government Backstage gallery: review notebooks and publish them as Voilà dashboards."""

    name = "backstage-gallery"
    service_name = "gallery"
    description = __doc__
    classes = [Store, Sandbox, Checks, Thumbnails, VoilaPool, Usage, Dashboards]

    review_scope = Unicode(
        "custom:gallery:review",
        help="Scope a user needs to approve, reject or unpublish. Example: --GalleryApp.review_scope=custom:gallery:review",
    ).tag(config=True)

    public_hub_url = Unicode(
        help="""Base URL of the hub's proxy, to reach submitters' own servers (default: $BACKSTAGE_PUBLIC_URL,
        else http://127.0.0.1:$BACKSTAGE_PORT). Example: --GalleryApp.public_hub_url=http://127.0.0.1:8000""",
    ).tag(config=True)

    @default("public_hub_url")
    def _default_public_hub_url(self):
        return os.environ.get("BACKSTAGE_PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('BACKSTAGE_PORT', '8000')}"

    public_url = Unicode(
        help="""The gallery's address as people's browsers reach it, for links handed to other programs (a
        submission's page, the dashboards' list). Default: $BACKSTAGE_GALLERY_PUBLIC_URL, else where the proxy
        routes the service (its own host with one origin per person, see backstage.urls). Example: --GalleryApp.public_url=https://lab.example.org/services/gallery/""",
    ).tag(config=True)

    @default("public_url")
    def _default_public_url(self):
        name = os.environ.get("JUPYTERHUB_SERVICE_NAME", "gallery")
        base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        return os.environ.get("BACKSTAGE_GALLERY_PUBLIC_URL") or service_url(name, self.public_hub_url, base_url=base)

    store = Instance(Store, allow_none=True)
    checks = Instance(Checks, allow_none=True)
    voila = Instance(VoilaPool, allow_none=True)
    usage = Instance(Usage, allow_none=True)
    dashboards = Instance(Dashboards, allow_none=True)

    def init_parts(self) -> None:
        self.store = Store(parent=self)
        sandbox = Sandbox(owner=str(self.store.root), parent=self)
        self.voila = VoilaPool(str(self.store.published), run_as=sandbox.dashboards_account(), parent=self)
        self.checks = Checks(self.store, sandbox=sandbox, template=self.voila.template, parent=self)
        self.usage = Usage(self.store, parent=self)
        self.dashboards = Dashboards(parent=self)
        self.voila.nice = self.dashboards.kernel_nice
        self.grants = proxy.KernelGrants()
        self.live = LiveKernels(self.dashboards, self.voila, self.grants)
        self.usage.watch(live_kernels=self.live.live_count, queue_length=lambda: len(self.live.line))
        self.rendered = RenderedPages(self.store, self.voila, url_path_join(self.prefix, "dashboards/api/live"),
                                      usage=self.usage)

    async def act(self, submission_id: str, action: str, reviewer: str, body: dict) -> dict:
        """A reviewer's decision: approve (publish), reject (with a reason) or unpublish."""
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 2000:
            raise StoreError("the reason must be text of up to 2000 characters")
        if action == "approve":
            item = self.store.publish(submission_id, reviewer, body.get("comment") or "",
                                      public=body.get("public", False))
            await self.voila.reload()
            if self.dashboards.mode == "rendered":
                self.rendered.schedule(item["slug"])  # the new version, rendered once for every viewer
            return {"slug": item["slug"], "url": url_path_join(self.prefix, "dashboards", item["slug"])}
        if not reason.strip():
            raise StoreError(f"give a reason to {action}: the submitter reads it in 'My submissions'")
        if action == "reject":
            self.store.reject(submission_id, reviewer, reason.strip())
            return {"id": submission_id, "status": "rejected"}
        item = self.store.unpublish(submission_id, reviewer, reason.strip())
        self.rendered.forget(item["slug"])
        await self.voila.reload()
        return {"id": submission_id, "status": "unpublished"}

    def make_web_app(self) -> web.Application:
        p = self.prefix
        hub_auth = HubOAuth.instance(cache_max_age=60)
        grants = self.grants
        uuid = proxy.UUID
        routes = [
            (p, pages.GalleryPage),
            (p + "submit", pages.SubmitPage),
            (p + "mine", pages.MinePage),
            (p + "sign-in", pages.SignInPage),
            (p + "review", pages.ReviewQueuePage),
            (p + r"submissions/([0-9a-f]{32})", pages.SubmissionPage),
            (p + r"submissions/([0-9a-f]{32})/(approve|reject|unpublish|visibility)", pages.ReviewActionPage),
            (p + r"submissions/([0-9a-f]{32})/(preview\.html|thumbnail\.png)", pages.SnapshotFileHandler),
            (p + "api/submissions", handlers.SubmissionsAPIHandler),
            (p + "api/dashboards", handlers.DashboardsAPIHandler),
            (p + "metrics", MetricsHandler),
            (p + r"api/submissions/([^/]+)", handlers.SubmissionAPIHandler),
            (p + r"api/submissions/([^/]+)/(approve|reject|unpublish)", handlers.ActionAPIHandler),
            *remix_handlers.routes(p),
            (p + "oauth_callback", HubOAuthCallbackHandler),
            *asset_routes(p),
            (p + r"static/(.*)", web.StaticFileHandler, {"path": str(HERE / "static")}),
            (p + "dashboards/api/live", LiveHandler),
            (p + r"dashboards/([a-z0-9][a-z0-9-]{0,62})/?", proxy.DashboardHandler),
            (p + rf"dashboards/api/kernels/({uuid})/channels", proxy.KernelWebSocketProxy),
            (p + rf"dashboards/api/kernels/({uuid})", proxy.KernelHTTPHandler),
            (p + rf"dashboards/voila/api/shutdown/({uuid})", proxy.KernelHTTPHandler),
            (p + r"dashboards/(voila/(?:static|templates|labextensions|api/themes)/.+)", proxy.AssetHandler),
        ]
        return web.Application(
            routes, gallery=self, hub_auth=hub_auth, prefix=p, jinja_env=jinja_env(),
            kernel_grants=grants, asset_cache=proxy.AssetCache(), commons_links=CommonsLinks(), usage=self.usage,
            live=self.live, rendered=self.rendered, tickets=Tickets.from_folder(self.store.root), cookie_secret=os.urandom(32), login_url=hub_auth.login_url,
            xsrf_cookies=False, default_handler_class=pages.NotFoundPage, websocket_max_message_size=64 << 20,
        )

    async def _start_parts(self) -> None:
        try:
            await self.voila.start()
        except (RuntimeError, TimeoutError):
            log.exception("the dashboards' Voilà did not start: stopping the gallery")
            raise
        self.checks.resume()
        if self.dashboards.mode == "rendered":  # outputs may differ since the last start: render each again
            self.rendered.schedule()
            self._watch = asyncio.ensure_future(self.rendered.watch_requests())
        self.live.start()

    async def start_async(self) -> None:
        AsyncHTTPClient.configure(None, max_clients=200)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        url = urlparse(self.service_url)
        app = self.make_web_app()
        # Listen at once (the hub waits for the service); dashboards answer 503 until Voilà is up.
        self.http_server = app.listen(url.port, url.hostname, max_body_size=self.checks.max_notebook_bytes * 2)
        log.info("gallery listening on %s", self.service_url)
        self.usage.start()
        starting = asyncio.ensure_future(self._start_parts())
        starting.add_done_callback(lambda t: t.cancelled() or t.exception() is None or stop.set())
        await stop.wait()
        log.info("gallery stopping")
        starting.cancel()
        self.http_server.stop()
        if getattr(self, "_watch", None) is not None:
            self._watch.cancel()
        await asyncio.gather(self.checks.stop(), self.live.stop(), self.rendered.stop(), self.voila.stop())
        self.usage.stop()
        self.store.close()
        if starting.done() and not starting.cancelled() and starting.exception() is not None:
            raise SystemExit(1)


SITE_CONFIG = "gallery_config.json"


def site_config() -> dict:
    """The site's gallery settings: ``$BACKSTAGE_STATE/gallery_config.json`` if present, traits by class, e.g.
    ``{"Usage": {"enabled": false}, "VoilaPool": {"pool_size": 3}}`` (read at start; restart the gallery to apply)."""
    path = lab_state_dir() / SITE_CONFIG
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path} is not readable JSON ({e}): fix it or remove it, then start the lab again") from None
    if not isinstance(config, dict) or not all(isinstance(v, dict) for v in config.values()):
        raise SystemExit(f'{path} must map class names to their traits, e.g. {{"Usage": {{"enabled": false}}}}')
    return config


def create_app(argv: list[str] | None = None, **config) -> GalleryApp:
    """Build a configured (not yet started) gallery; *config* sets traits, e.g. ``Store={"state_dir": ...}``."""
    app = GalleryApp.configured(argv, **config)
    app.init_parts()
    return app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(sys.argv[1:] if argv is None else argv, **site_config())
    asyncio.run(app.start_async())
    if argv is None:  # run as the service: all is stopped and written; skip the interpreter's teardown of a large
        logging.shutdown()  # process (seconds on a busy machine, with no Python frame, while the hub waits for it)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
