"""The gallery's reverse proxy to the dashboards' standalone Voilà.

* The dashboard page needs the gallery's hub-OAuth check (browser session or ``Authorization: token``), except
  for a public dashboard's rendered page (anonymous viewers; ``rendered.py``). In the default ``rendered`` mode
  the page is the one rendered once per published version, with no kernel; a kernel is handed out by the live
  endpoint (``live.py``) when the viewer moves a control.
* Every proxied response carries ``Content-Security-Policy: sandbox allow-scripts ...`` without
  ``allow-same-origin``: a dashboard runs in an opaque origin, so its scripts cannot read the
  viewer's cookies or make authenticated calls to the hub (no credentials are attached).
* Because the sandboxed page has no credentials either, its kernel endpoints are authorised by a
  capability: the kernel id the gallery handed to an authenticated viewer with the page.
* Voilà's static code (scripts, styles, fonts, lab extensions) is public and served without a check.
* On the kernel websocket only widget traffic passes; ``execute_request`` and every other message
  type close the connection (policy violation).
"""

from __future__ import annotations

import json
import logging
import re
import struct
import time
from html import escape
from urllib.parse import unquote

from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
)
from tornado import web, websocket
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .pages import GalleryPageHandler
from .remix import can_remix
from .rendered import RenderError, voila_page

log = logging.getLogger(__name__)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_KERNEL_ID_RE = re.compile(rf'"kernelId":\s*"({UUID})"')
ALLOWED_MSG_TYPES = {"comm_open", "comm_msg", "comm_close", "comm_info_request", "kernel_info_request"}
SANDBOX_CSP = (
    "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals; "
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
# Voilà's lab template links Font Awesome from a CDN: dashboards load nothing from outside the lab.
_CDN_LINK_RE = re.compile(r"<link[^>]+href=\"https?://[^\"]+\"[^>]*>", re.IGNORECASE)
_COPY_HEADERS = ("Content-Type", "Etag", "Last-Modified", "Cache-Control")
_BODY_RE = re.compile(r"<body[^>]*>", re.IGNORECASE)
SERVICE_NAME = "Government Backstage dashboards"


def dashboard_header(title: str, gallery_url: str, *, slug: str | None = None, version: int | None = None) -> str:
    """The bar at the top of every dashboard: the service's name, the dashboard's title, a way back, and (with
    *slug* and *version*: give them for a signed-in viewer only) "Remix in my lab", to the gallery's remix page,
    which takes a participant on to their own lab and tells anyone without a lab why not (gallery/remix.py)."""
    remix = ""
    if slug and version:
        remix = (f'<a href="{escape(gallery_url)}remix/{escape(slug)}/{int(version)}" style="color:#fff;'
                 'border:2px solid #fff;padding:2px 10px;text-decoration:none;font-weight:700">Remix in my lab</a>')
    return (
        '<header class="backstage-header" style="background:#0b0c0c;color:#fff;padding:10px 2rem;'
        'font-family:Arial,sans-serif;display:flex;flex-wrap:wrap;gap:0.5rem 1.5rem;align-items:baseline">'
        f'<a href="{escape(gallery_url)}" style="color:#fff;font-weight:700;text-decoration:underline">'
        f'{SERVICE_NAME}</a>'
        f'<h1 style="margin:0;font-size:1.5rem;font-weight:700">{escape(title)}</h1>'
        f'<span style="margin-left:auto;display:flex;gap:1.5rem;align-items:baseline">{remix}'
        f'<a href="{escape(gallery_url)}" style="color:#fff">Back to the gallery</a></span>'
        "</header>"
    )


class KernelGrants:
    """Kernel ids handed to authenticated viewers with a dashboard page, valid for *ttl* seconds."""

    def __init__(self, ttl: float = 12 * 3600):
        self.ttl = ttl
        self._grants: dict[str, tuple[str, float]] = {}

    def grant(self, kernel_id: str, user: str) -> None:
        now = time.monotonic()
        self._grants = {k: v for k, v in self._grants.items() if v[1] > now}
        self._grants[kernel_id] = (user, now + self.ttl)

    def allowed(self, kernel_id: str) -> bool:
        grant = self._grants.get(kernel_id)
        return grant is not None and grant[1] > time.monotonic()

    def revoke(self, kernel_id: str) -> None:
        self._grants.pop(kernel_id, None)


def _upstream(handler, path: str) -> tuple[str, dict]:
    voila = handler.settings["gallery"].voila.current
    if voila is None:
        raise web.HTTPError(503, "the dashboards are starting: try again in a few seconds")
    return f"{voila.url}{path}", voila.auth_header


def allow_opaque_origin(handler) -> None:
    """Let the sandboxed dashboard (origin ``null``) read its own assets; never with credentials."""
    if handler.request.headers.get("Origin") == "null":
        handler.set_header("Access-Control-Allow-Origin", "null")
        handler.set_header("Vary", "Origin")


class AssetCache:
    """Voilà's static code kept in the gallery's memory once fetched (up to *max_bytes*).

    A dashboard runs in an opaque origin, where the browser caches nothing between two views, so every
    view fetches its scripts and styles again; answering them here saves the hop to Voilà. Safe: these
    are public, versioned files that change only when the lab is reinstalled (and the gallery restarted).
    """

    def __init__(self, max_bytes: int = 64 << 20):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: dict[str, tuple[dict, bytes]] = {}

    def get(self, key: str) -> tuple[dict, bytes] | None:
        return self._items.get(key)

    def put(self, key: str, headers: dict, body: bytes) -> None:
        if key not in self._items and self.size + len(body) <= self.max_bytes:
            self._items[key] = (headers, body)
            self.size += len(body)


async def _forward(handler, path: str, *, method: str = "GET", body: bytes | None = None,
                   cache: AssetCache | None = None) -> None:
    key = path + ("?" + handler.request.query if handler.request.query else "")
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        _finish(handler, 200, *hit)
        return
    url, headers = _upstream(handler, path)
    if handler.request.query:
        url += "?" + handler.request.query
    for name in ("If-None-Match", "If-Modified-Since", "Accept", "Content-Type"):
        if name in handler.request.headers:
            headers[name] = handler.request.headers[name]
    request = HTTPRequest(url, method=method, headers=headers, body=body, request_timeout=60,
                          follow_redirects=False, allow_nonstandard_methods=True)
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError) as e:  # refused, or the connection closed mid-answer (Voilà stopping)
        raise web.HTTPError(502, f"the dashboards' Voilà is not answering ({e})") from None
    if response.code == 599:
        raise web.HTTPError(502, "the dashboards' Voilà is not answering")
    copied = {name: response.headers[name] for name in _COPY_HEADERS if name in response.headers}
    if cache is not None and response.code == 200 and method == "GET" and response.body:
        cache.put(key, copied, response.body)
    _finish(handler, response.code, copied, response.body or b"")


def _finish(handler, code: int, headers: dict, body: bytes) -> None:
    """Answer with Voilà's status, headers and body, in the dashboards' sandbox."""
    handler.set_status(code)
    for name, value in headers.items():
        handler.set_header(name, value)
    handler.set_header("Content-Security-Policy", SANDBOX_CSP)
    allow_opaque_origin(handler)
    handler.finish(None if code in (204, 304) else body)


class DashboardHandler(GalleryPageHandler):
    """``GET dashboards/<slug>``: the published dashboard, for a browser session or a hub token.

    In the ``rendered`` mode (`live.Dashboards.mode`), the page rendered once for the published version, with a
    ticket of this viewer's to go live; no kernel is started. Anonymous viewers get it for a public dashboard,
    else a 404 page offering to sign in (it does not say whether the dashboard exists). In ``kernel_per_view``
    mode, and for a version not rendered yet, Voilà's page with a kernel of its own.
    """

    async def get(self, slug):
        started = time.monotonic()
        user = self.current_user
        if not user:
            if getattr(self, "_not_allowed", False):
                raise web.HTTPError(403, "you do not have access to the gallery's dashboards")
            if self.request.headers.get("Authorization"):
                raise web.HTTPError(403, "the token was not accepted: create a new one on the hub's token page")
            if self.get_argument("sign_in", "") or self.gallery.dashboards.mode != "rendered":
                return self.redirect(self.get_login_url())
            item = self.store.published_for(slug)
            if item is None or not item.get("public", False):
                return self.render_page(
                    "error.html", status=404, sign_in_url=self.request.path + "?sign_in=1",
                    message="There is no public dashboard at this address. If you have an account with the lab, "
                            "sign in: it may be a dashboard you can see.")
        else:
            item = self.store.published_for(slug)
        if item is None:
            raise web.HTTPError(404, f"no published dashboard called {slug!r}: pick one from the gallery")
        usage = self.settings.get("usage")
        kind = usage.viewer_kind(self, user) if usage is not None else ("anonymous" if not user else "participant")
        rendered = self.settings.get("rendered")
        parts = rendered.page(slug, item["version"]) if rendered is not None and \
            self.gallery.dashboards.mode == "rendered" else None
        if parts is None:
            if rendered is not None and self.gallery.dashboards.mode == "rendered":
                _count(usage, item, kind, "error")  # a version not rendered (yet): the old way, as a fallback
                rendered.schedule_once(slug)
                if not user:  # a kernel would let them use the controls, which anonymous_live may not allow
                    raise web.HTTPError(503, "this dashboard is being prepared: reload the page in a few seconds")
            await self._kernel_per_view(item, user)
        else:
            ticket = self.settings["tickets"].mint(slug, item["version"], kind, user["name"] if user else None)
            head, body, tail = parts
            self._page_headers()
            self.finish(head + self._header(item, user) + body + ticket + tail)
        _count(usage, item, kind, "view", time.monotonic() - started)

    def _header(self, item: dict, user: dict | None) -> str:
        if not can_remix(user):  # no lab to remix into: anonymous viewers, officials, reviewers
            return dashboard_header(item["title"], self.gallery.prefix)
        return dashboard_header(item["title"], self.gallery.prefix, slug=item["slug"], version=item["version"])

    def _page_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", SANDBOX_CSP)

    async def _kernel_per_view(self, item: dict, user: dict | None) -> None:
        """Voilà's page, with a preheated kernel granted to this viewer (the old way)."""
        try:
            html, _ = await voila_page(self.gallery.voila, item["slug"])
        except RenderError as e:
            if self.gallery.voila.current is None:
                raise web.HTTPError(503, "the dashboards are starting: try again in a few seconds") from None
            raise web.HTTPError(502, f"the dashboard did not render ({e})") from None
        html = _CDN_LINK_RE.sub("", html)
        html = _BODY_RE.sub(lambda m: m.group(0) + self._header(item, user), html, count=1)
        for kernel_id in set(_KERNEL_ID_RE.findall(html)):
            self.settings["kernel_grants"].grant(kernel_id, user["name"] if user else "anonymous")
        self._page_headers()
        self.finish(html)


def _count(usage, item: dict, kind: str, event: str, seconds: float | None = None) -> None:
    """Count a dashboard event in the usage figures (`usage.Usage`), when the gallery keeps them."""
    if usage is not None:
        try:
            usage.record(item["slug"], item["version"], kind, event, seconds)
        except Exception:
            log.exception("could not count a view of dashboard %s", item["slug"])


class AssetHandler(web.RequestHandler):
    """Voilà's public static code (no data): scripts, styles, fonts, lab extensions, themes."""

    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")

    async def get(self, path):
        # Voilà's public files have plain names: anything still encoded (a double-encoded '../', which Voilà
        # would decode again and answer with a 500) or climbing out is not one of them.
        if "%" in path or "\\" in path or ".." in unquote(path).split("/"):
            raise web.HTTPError(404, "there is no such file among the dashboards' assets")
        await _forward(self, path, cache=self.settings.get("asset_cache"))


class KernelHTTPHandler(web.RequestHandler):
    """``GET api/kernels/<id>`` and ``POST voila/api/shutdown/<id>`` for kernels the viewer was given."""

    def check_xsrf_cookie(self):
        return  # capability-authorised (kernel id), no cookies involved

    def options(self, kernel_id):
        allow_opaque_origin(self)
        self.set_header("Access-Control-Allow-Methods", "GET, POST")
        self.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-XSRFToken")
        self.set_status(204)
        self.finish()

    def _check(self, kernel_id):
        if not self.settings["kernel_grants"].allowed(kernel_id):
            raise web.HTTPError(403, "this kernel was not handed out with a dashboard page")

    async def get(self, kernel_id):
        self._check(kernel_id)
        await _forward(self, f"api/kernels/{kernel_id}")

    async def post(self, kernel_id):
        self._check(kernel_id)
        self.settings["kernel_grants"].revoke(kernel_id)
        if self.settings.get("live") is not None:  # a live page closing: its place goes to the next in line
            self.settings["live"].release(kernel_id)
        await _forward(self, f"voila/api/shutdown/{kernel_id}", method="POST", body=self.request.body or b"")


V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def _plausible_offsets(message: bytes, v1: bool) -> bool:
    """Whether a binary frame's count of parts is sane, before a deserialiser builds a list of that many
    offsets (a hostile count of 2**62 would hang the gallery)."""
    size = 8 if v1 else 4
    count = int.from_bytes(message[:size], "little" if v1 else "big", signed=not v1)
    return (3 if v1 else 1) <= count <= 4096 and size * (count + 1) <= len(message)


def message_type(message, protocol: str | None = None) -> str | None:
    """The ``msg_type`` of a kernel websocket message, or None if it cannot be read.

    Read with jupyter_server's own (de)serialisers: the ``v1.kernel.websocket.jupyter.org`` framing, and the
    legacy ones (JSON text, or binary with buffers).
    """
    try:
        if isinstance(message, bytes) and not _plausible_offsets(message, protocol == V1_PROTOCOL):
            return None
        if protocol == V1_PROTOCOL:
            if not isinstance(message, bytes):
                return None
            _channel, parts = deserialize_msg_from_ws_v1(message)
            return json.loads(parts[0])["msg_type"]
        msg = deserialize_binary_message(message) if isinstance(message, bytes) else json.loads(message)
        return msg["header"]["msg_type"]
    except (ValueError, KeyError, TypeError, IndexError, struct.error):
        return None


class KernelWebSocketProxy(websocket.WebSocketHandler):
    """The dashboard kernel's websocket, relayed to Voilà, with only widget messages let through."""

    upstream = None
    kernel_id = None

    def check_origin(self, origin):
        # The sandboxed dashboard has an opaque origin ("null"); the kernel id is the capability.
        return origin == "null" or super().check_origin(origin)

    def select_subprotocol(self, subprotocols):
        return V1_PROTOCOL if V1_PROTOCOL in subprotocols else None

    async def open(self, kernel_id):
        if not self.settings["kernel_grants"].allowed(kernel_id):
            self.close(1008, "this kernel was not handed out with a dashboard page")
            return
        self.kernel_id = kernel_id
        live = self.settings.get("live")
        if live is not None:  # to close it with 4000 "idle" when the kernel is returned
            live.opened(kernel_id, self)
        url, headers = _upstream(self, f"api/kernels/{kernel_id}/channels")
        url = url.replace("http://", "ws://", 1)
        if self.request.query:
            url += "?" + self.request.query
        try:
            self.upstream = await websocket.websocket_connect(
                HTTPRequest(url, headers=headers), on_message_callback=self._from_kernel,
                max_message_size=64 << 20, subprotocols=[self.selected_subprotocol] if self.selected_subprotocol else None,
            )
        except (OSError, HTTPClientError, websocket.WebSocketError) as e:
            log.warning("could not reach kernel %s: %s", kernel_id, e)
            self.close(1011, "the dashboard's kernel is gone: reload the page")

    def _from_kernel(self, message):
        if message is None:
            if self.ws_connection is not None:
                self.close(1001, "the kernel connection closed")
            return
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except websocket.WebSocketClosedError:
            pass

    async def on_message(self, message):
        msg_type = message_type(message, self.selected_subprotocol)
        if msg_type not in ALLOWED_MSG_TYPES:
            log.warning("refused %r on dashboard kernel websocket from %s", msg_type, self.request.remote_ip)
            self.close(1008, f"{msg_type or 'unreadable message'} is not allowed on a dashboard")
            return
        if msg_type.startswith("comm_") and self.settings.get("live") is not None:
            self.settings["live"].touch(self.kernel_id)  # a widget message: the live kernel is in use
        if self.upstream is not None:
            await self.upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self):
        if self.kernel_id is not None and self.settings.get("live") is not None:
            self.settings["live"].closed(self.kernel_id, self)
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
