"""Live dashboards: a kernel for a viewer who moves a control, within caps, in a fair line, returned when idle.

A rendered page (``rendered.py``) draws its widgets from saved state; the viewer's first change POSTs the
page's ticket to ``dashboards/api/live``. Within the caps (`Dashboards.live_per_dashboard`,
`Dashboards.live_total`) the gallery takes a kernel from Voilà's pool for that dashboard, grants its id to
the page and answers ``200 {"kernelId", "views"}``; over them, the viewer joins a FIFO line
(``202 {"position", "queue_id", "retry_after"}``) and polls. A kernel with no widget message from its page
for `Dashboards.live_idle_timeout` seconds is shut down, its websocket closed with 4000 "idle", and its place
goes to the next in line; so does a page's closing beacon.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field

from tornado import web
from traitlets import Bool, Enum, Int, default
from traitlets.config import LoggingConfigurable

from .rendered import RenderError, RenderTimeout, TicketError, shutdown_kernel, slot_model_ids, voila_page

log = logging.getLogger(__name__)

#: seconds a queued page may go without polling before it loses its place
QUEUE_FORGET_AFTER = 15.0
RETRY_AFTER = 2
IDLE_CLOSE_CODE = 4000


class Dashboards(LoggingConfigurable):
    """How published dashboards are served: rendered once, with live kernels on demand (or a kernel per view)."""

    mode = Enum(
        ["rendered", "kernel_per_view"], "rendered",
        help="""'rendered': each published version is rendered once and served to every viewer with its widgets'
        saved state, a kernel only for a viewer who moves a control (within the caps below). 'kernel_per_view':
        every view takes a preheated kernel that ran the notebook (the old way; ~5 s of CPU per view on a 2-core
        machine). Example: --Dashboards.mode=kernel_per_view""",
    ).tag(config=True)

    live_per_dashboard = Int(
        4,
        help="""Live kernels one dashboard may have at once; later viewers wait in line with the page shown.
        Measured on the 2-core, 24 GB lab machine (benchmarks/live_kernel_cost.py; nice 10, load average 14-20
        from other labs; two runs): a live kernel of the map dashboard (notebooks/06-build-a-dashboard.ipynb) holds
        280-331 MB RSS (181-234 MB its own) and takes 10-13 % of a core while its picker changes once a second; a
        slider dashboard's, 52-53 MB and under 1 % at two changes a second. Four of the map's: ~1.3 GB and half a
        core, so one crowd cannot take every place.
        Example: --Dashboards.live_per_dashboard=8""",
    ).tag(config=True)

    live_total = Int(
        help="""Live kernels of all dashboards at once (default: 2 per CPU core, 4 on the 2-core lab machine: ~1.3 GB
        and half a core for four map dashboards in use, see live_per_dashboard), so participants' labs stay
        responsive. Example: --Dashboards.live_total=16""",
    ).tag(config=True)

    @default("live_total")
    def _default_live_total(self):
        return 2 * (os.cpu_count() or 1)

    live_idle_timeout = Int(
        120,
        help="""Seconds without a widget message from a live page after which its kernel is shut down, its
        websocket closed (code 4000, "idle") and its place given to the next in line; the page goes live again
        at the viewer's next change. Example: --Dashboards.live_idle_timeout=300""",
    ).tag(config=True)

    live_page_timeout = Int(
        60,
        help="""Seconds to wait for Voilà's page of a live kernel (a pre-heated kernel's comes in milliseconds, a
        kernel started for it when the pool is empty in seconds) before asking once more, for another kernel: on a
        loaded machine a kernel was seen to take the page's request and never answer it. The viewer's page says
        "Connecting the controls…" meanwhile. Example: --Dashboards.live_page_timeout=90""",
    ).tag(config=True)

    anonymous_live = Bool(
        False,
        help="""Whether viewers who did not sign in may make a public dashboard live (they always see its
        rendered page). Off: they are asked to sign in. Example: --Dashboards.anonymous_live=True""",
    ).tag(config=True)

    kernel_nice = Int(
        10,
        help="""CPU niceness of the dashboards' Voilà and its kernels (0-19; higher yields more), so participants'
        labs stay responsive while a crowd uses dashboards. Example: --Dashboards.kernel_nice=5""",
    ).tag(config=True)


@dataclass
class Place:
    """A live kernel's place: reserved (kernel_id None) while it is fetched, then held until returned."""

    slug: str
    holder: str = ""  # the ticket's nonce: one place per page
    kernel_id: str | None = None
    voila: object = None
    last_message: float = field(default_factory=lambda: time.monotonic())


@dataclass
class Waiting:
    """A page in line for a place."""

    queue_id: str
    slug: str
    seq: int
    holder: str = ""
    last_poll: float = field(default_factory=lambda: time.monotonic())
    admitted: bool = False


class LiveKernels:
    """Places (live kernels) within the caps, the FIFO line, and the idle return."""

    def __init__(self, config: Dashboards, pool, grants):
        self.config = config
        self.pool = pool
        self.grants = grants
        self.places: dict[str, Place] = {}  # place id -> place
        self.line: list[Waiting] = []
        self.sockets: dict[str, set] = {}  # kernel id -> the gallery's open websocket handlers for it
        self._seq = itertools.count()
        self._sweeper: asyncio.Task | None = None

    # -- counting ---------------------------------------------------------------------------------------
    def _held(self, slug: str | None = None) -> int:
        places = sum(1 for p in self.places.values() if slug is None or p.slug == slug)
        return places + sum(1 for w in self.line if w.admitted and (slug is None or w.slug == slug))

    def _fits(self, slug: str) -> bool:
        return self._held() < self.config.live_total and self._held(slug) < self.config.live_per_dashboard

    def live_count(self, slug: str | None = None) -> int:
        return sum(1 for p in self.places.values() if p.kernel_id and (slug is None or p.slug == slug))

    def _admit(self) -> None:
        """Give freed places to those in line, first come first served."""
        now = time.monotonic()
        self.line = [w for w in self.line if now - w.last_poll <= QUEUE_FORGET_AFTER]
        for waiting in self.line:
            if not waiting.admitted and self._fits(waiting.slug):
                waiting.admitted = True

    def position(self, waiting: Waiting) -> int:
        """1-based place in line among those who compete with *waiting* (same dashboard, or any when the lab is full)."""
        full = self._held() >= self.config.live_total
        ahead = [w for w in self.line if w.seq < waiting.seq and not w.admitted and (full or w.slug == waiting.slug)]
        return len(ahead) + 1

    # -- taking and returning ---------------------------------------------------------------------------
    def ask(self, slug: str, queue_id: str | None, holder: str = "") -> tuple[str | None, Waiting | None]:
        """A reserved place id (go ahead), or the page's entry in line.

        *holder* names the page (its ticket's nonce): a page holds one place or one entry in line at most, so a
        page asking again gives back the kernel it had (the caller shuts it down) and keeps its place in line.
        """
        self._admit()
        waiting = next((w for w in self.line if w.slug == slug and (
            (queue_id and w.queue_id == queue_id) or (holder and w.holder == holder))), None)
        if waiting is not None:
            waiting.last_poll = time.monotonic()
            if not waiting.admitted:
                return None, waiting
            self.line.remove(waiting)
        elif any(not w.admitted and w.slug == slug for w in self.line) or not self._fits(slug):
            waiting = Waiting(secrets.token_urlsafe(16), slug, next(self._seq), holder=holder)
            self.line.append(waiting)
            self._admit()
            if not waiting.admitted:
                return None, waiting
            self.line.remove(waiting)
        place_id = secrets.token_hex(8)
        self.places[place_id] = Place(slug, holder=holder)
        return place_id, None

    def held_by(self, holder: str) -> list[str]:
        """The live kernels the page *holder* holds (at most one, unless it asked again)."""
        return [p.kernel_id for p in self.places.values() if holder and p.holder == holder and p.kernel_id]

    def hold(self, place_id: str, kernel_id: str) -> None:
        place = self.places[place_id]
        place.kernel_id = kernel_id
        place.voila = self.pool.current
        place.last_message = time.monotonic()

    def release_place(self, place_id: str) -> None:
        self.places.pop(place_id, None)
        self._admit()

    def release(self, kernel_id: str) -> bool:
        """Free the place of *kernel_id* (page closed, kernel returned); False if it was not a live kernel."""
        found = [pid for pid, p in self.places.items() if p.kernel_id == kernel_id]
        for place_id in found:
            self.places.pop(place_id)
        if found:
            self._admit()
        return bool(found)

    def touch(self, kernel_id: str) -> None:
        """A widget message from the page of *kernel_id*."""
        for place in self.places.values():
            if place.kernel_id == kernel_id:
                place.last_message = time.monotonic()

    def opened(self, kernel_id: str, handler) -> None:
        self.sockets.setdefault(kernel_id, set()).add(handler)

    def closed(self, kernel_id: str, handler) -> None:
        handlers = self.sockets.get(kernel_id)
        if handlers is not None:
            handlers.discard(handler)
            if not handlers:
                self.sockets.pop(kernel_id, None)

    async def return_idle(self) -> list[str]:
        """Shut down the live kernels idle for longer than the setting; returns their ids."""
        now = time.monotonic()
        timeout = self.config.live_idle_timeout
        idle = [p for p in self.places.values() if p.kernel_id and now - p.last_message > timeout]
        gone = [p for p in self.places.values() if p.kernel_id and p.voila is not None
                and p.voila is not self.pool.current and getattr(p.voila, "proc", None) is None]
        for place in idle + gone:
            kernel_id = place.kernel_id
            self.grants.revoke(kernel_id)
            self.release(kernel_id)
            for handler in list(self.sockets.pop(kernel_id, ())):
                handler.close(IDLE_CLOSE_CODE, "idle")
            if place in idle:
                log.info("returned idle live kernel of dashboard %s (no widget message for %d s)", place.slug, timeout)
                await shutdown_kernel(self.pool, kernel_id)
        self._admit()
        return [p.kernel_id for p in idle]

    async def sweep(self) -> None:
        interval = max(1.0, min(5.0, self.config.live_idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.return_idle()
            except Exception:
                log.exception("the idle return of live dashboard kernels failed (it runs again)")

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self.sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None


async def live_page(pool, slug: str, timeout: float, attempts: int = 2) -> tuple[str, str | None]:
    """Voilà's page for a live kernel of *slug*, asked again (another kernel) when one does not come in *timeout*
    seconds; `RenderError` after the last attempt or on any other failure."""
    for _ in range(attempts - 1):
        try:
            return await voila_page(pool, slug, timeout=timeout)
        except RenderTimeout:
            log.warning("Voilà's page for a live kernel of dashboard %s did not come within %.0f s: asking again",
                        slug, timeout)
    return await voila_page(pool, slug, timeout=timeout)  # the last attempt: its failure is the caller's


def allow_null_origin(handler) -> None:
    """CORS for the sandboxed page (origin ``null``), never with credentials."""
    if handler.request.headers.get("Origin") == "null":
        handler.set_header("Access-Control-Allow-Origin", "null")
        handler.set_header("Vary", "Origin")


class LiveHandler(web.RequestHandler):
    """``POST dashboards/api/live`` ``{"ticket", "queue_id"?}``: a live kernel for the page, or its place in line.

    Authorised by the ticket alone (no cookies: the page is sandboxed, its origin opaque).
    """

    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self):
        return  # ticket-authorised, no cookies involved

    def options(self):
        allow_null_origin(self)
        self.set_header("Access-Control-Allow-Methods", "POST")
        self.set_header("Access-Control-Allow-Headers", "Content-Type")
        self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    def write_error(self, status_code, **kwargs):
        reason = kwargs.get("exc_info", (None, None))[1]
        message = getattr(reason, "log_message", None) or self._reason
        self._answer(status_code, {"message": message})

    def _answer(self, status: int, body: dict) -> None:
        allow_null_origin(self)
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))

    def _usage(self, ticket: dict, event: str, seconds: float | None = None) -> None:
        usage = self.settings.get("usage")
        if usage is not None:
            try:
                usage.record(ticket["slug"], ticket["version"], ticket["kind"], event, seconds)
            except Exception:
                log.exception("could not count a live dashboard event")

    async def post(self):
        started = time.monotonic()
        if len(self.request.body) > 4096:
            raise web.HTTPError(413, "a live request is a ticket and a queue id: this body is too large")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, 'send JSON: {"ticket": "...", "queue_id": "..."}') from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, 'send a JSON object: {"ticket": "...", "queue_id": "..."}')
        try:
            ticket = self.settings["tickets"].check(body.get("ticket"))
        except TicketError as e:
            raise web.HTTPError(403, str(e)) from None
        gallery = self.settings["gallery"]
        config: Dashboards = gallery.dashboards
        if ticket["user"] is None and not config.anonymous_live:
            return self._answer(401, {"message": "Sign in to use the controls",
                                      "login_url": f"{gallery.prefix}dashboards/{ticket['slug']}?sign_in=1"})
        item = gallery.store.published_for(ticket["slug"])
        if item is None or item["version"] != ticket["version"] or (ticket["user"] is None and not item.get("public")):
            raise web.HTTPError(404, "this version of the dashboard is no longer published: reload the page")
        if gallery.voila.current is None:
            raise web.HTTPError(503, "the dashboards are starting: try again in a few seconds")
        queue_id = body.get("queue_id")
        live: LiveKernels = self.settings["live"]
        for old in live.held_by(ticket["nonce"]):  # the page asks again: the kernel it had is given back first
            self.settings["kernel_grants"].revoke(old)
            live.release(old)
            await shutdown_kernel(gallery.voila, old)
        place_id, waiting = live.ask(ticket["slug"], queue_id if isinstance(queue_id, str) else None, ticket["nonce"])
        if waiting is not None:
            if not queue_id:
                self._usage(ticket, "queued")
            return self._answer(202, {"position": live.position(waiting), "queue_id": waiting.queue_id,
                                      "retry_after": RETRY_AFTER})
        try:
            html, kernel_id = await live_page(gallery.voila, ticket["slug"], config.live_page_timeout)
        except RenderError as e:
            live.release_place(place_id)
            self._usage(ticket, "error")
            raise web.HTTPError(502, f"the dashboard's kernel did not start: {e}") from None
        if kernel_id is None:
            live.release_place(place_id)
            self._usage(ticket, "error")
            raise web.HTTPError(502, "the dashboard's kernel did not start: Voilà's page names no kernel")
        live.hold(place_id, kernel_id)
        self.settings["kernel_grants"].grant(kernel_id, ticket["user"] or "anonymous")
        self._usage(ticket, "live", time.monotonic() - started)
        log.info("live kernel for dashboard %s (%d live of %d)", ticket["slug"], live.live_count(), config.live_total)
        self._answer(200, {"kernelId": kernel_id, "views": slot_model_ids(html)})
