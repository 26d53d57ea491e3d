"""Rendered dashboard pages: each published version rendered once, then served to every viewer with no kernel.

A render fetches Voilà's page for the dashboard (Voilà takes a preheated kernel that ran the notebook), asks
that kernel for its widgets' state over a ``jupyter.widget.control`` comm (``request_states`` →
``update_states``, with Voilà's token, server side), shuts the kernel down, and stores the page with the state
embedded (ipywidgets' embed format) at ``<store>/rendered/<slug>-v<version>.html``, written atomically. Every
view is then a file read: the front end draws the widgets from the embedded state, and goes live (a kernel of
its own, ``live.py``) only when the viewer moves a control.

The page's one credential is a *ticket* (`Tickets`): an HMAC'd, expiring token naming the dashboard, its
version and the viewer, minted per response into the stored page's placeholder. It never appears in logs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from pathlib import Path

from jupyter_server.services.kernels.connection.base import deserialize_binary_message
from tornado import websocket
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from backstage.web import write_durably

from .store import check_slug

log = logging.getLogger(__name__)

#: where the handler writes each viewer's ticket into a stored page
TICKET_PLACEHOLDER = "@@backstage-live-ticket@@"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
CONTROL_TARGET = "jupyter.widget.control"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

_CONFIG_RE = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.DOTALL)
_SLOT_RE = re.compile(r'<script type="application/vnd\.jupyter\.widget-view\+json">(.*?)</script>', re.DOTALL)
# The template's inline script that opens the kernel's websocket before dashboard.js loads (no kernel: no use).
_EARLY_KERNEL_RE = re.compile(r"<script>(?:(?!</script>).)*?backstageEarlyKernel(?:(?!</script>).)*?</script>\s*",
                              re.DOTALL)
# Voilà's lab template links Font Awesome from a CDN: dashboards load nothing from outside the lab.
CDN_LINK_RE = re.compile(r"<link[^>]+href=\"https?://[^\"]+\"[^>]*>", re.IGNORECASE)
BODY_RE = re.compile(r"<body[^>]*>", re.IGNORECASE)


class RenderError(RuntimeError):
    """A dashboard that could not be rendered (Voilà's answer, the kernel, the widget state)."""


class RenderTimeout(RenderError):
    """Voilà took the request for a dashboard's page and gave no answer in time (or dropped the connection)."""


# -- tickets -------------------------------------------------------------------------------------------------
class TicketError(ValueError):
    """A ticket that is forged, damaged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tickets:
    """Mint and check the sandboxed page's only credential: ``<payload>.<hmac>``, both base64url.

    The payload names the dashboard (``s``), its version (``v``), the viewer's kind (``k``) and name (``u``,
    None when anonymous), the expiry (``e``, Unix time) and a nonce (``n``). The key lives in the store's
    folder (0600), so pages open across a gallery restart can still go live.
    """

    def __init__(self, key: bytes, ttl: float = 12 * 3600):
        if len(key) < 32:
            raise ValueError("a ticket key needs at least 32 bytes")
        self._key = key
        self.ttl = ttl

    @classmethod
    def from_folder(cls, folder: Path, ttl: float = 12 * 3600) -> Tickets:
        path = Path(folder) / "ticket.key"
        if not path.exists():
            write_durably(path, secrets.token_bytes(32), mode=0o600)
        return cls(path.read_bytes(), ttl)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def mint(self, slug: str, version: int, kind: str, user: str | None) -> str:
        body = {"s": slug, "v": int(version), "k": kind, "u": user, "e": int(time.time() + self.ttl),
                "n": secrets.token_hex(8)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def check(self, ticket) -> dict:
        """The ticket's payload as ``{"slug", "version", "kind", "user", "expires", "nonce"}``; `TicketError` if bad."""
        if not isinstance(ticket, str) or len(ticket) > 1024 or ticket.count(".") != 1:
            raise TicketError("this is not a dashboard ticket: reload the dashboard's page")
        payload, signature = ticket.split(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            raise TicketError("this dashboard ticket was not issued by the gallery: reload the dashboard's page")
        try:
            body = json.loads(_unb64(payload))
            result = {"slug": body["s"], "version": int(body["v"]), "kind": body["k"], "user": body["u"],
                      "expires": float(body["e"]), "nonce": str(body["n"])}
        except (ValueError, KeyError, TypeError) as e:
            raise TicketError("this dashboard ticket is damaged: reload the dashboard's page") from e
        if result["expires"] < time.time():
            raise TicketError("this dashboard ticket has expired: reload the dashboard's page")
        return result


# -- Voilà's page and the kernel behind it -------------------------------------------------------------------
async def voila_page(pool, slug: str, timeout: float = 120) -> tuple[str, str | None]:
    """Voilà's page for published dashboard *slug* (a preheated kernel ran it) and that kernel's id.

    Raises `RenderError` (Voilà not running, not answering, or failing); ``pool`` is the `VoilaPool`.
    """
    voila = pool.current
    if voila is None:
        raise RenderError("the dashboards' Voilà is not running yet")
    url = f"{voila.url}voila/render/{check_slug(slug)}.ipynb"
    try:
        response = await AsyncHTTPClient().fetch(url, headers=voila.auth_header, request_timeout=timeout)
    except HTTPClientError as e:
        if e.code == 599:  # tornado's code for no answer: none within the time limit, or the connection dropped
            raise RenderTimeout(f"no page from Voilà for {slug} within {timeout:.0f} s ({e.message})") from None
        raise RenderError(f"Voilà answered {e.code} for {slug}") from None
    except OSError as e:
        raise RenderError(f"the dashboards' Voilà is not answering ({e})") from None
    html = response.body.decode("utf-8", "replace")
    return html, page_kernel_id(html)


def page_config(html: str) -> tuple[re.Match | None, dict]:
    """The page's ``jupyter-config-data`` script (the first: the template writes it before any output)."""
    match = _CONFIG_RE.search(html)
    if match is None:
        return None, {}
    try:
        config = json.loads(match.group(1))
    except ValueError:
        return match, {}
    return match, config if isinstance(config, dict) else {}


def page_kernel_id(html: str) -> str | None:
    kernel_id = page_config(html)[1].get("kernelId")
    return kernel_id if isinstance(kernel_id, str) and re.fullmatch(UUID, kernel_id) else None


def slot_model_ids(html: str) -> list[str]:
    """The model ids of the page's widget slots, in document order."""
    ids = []
    for match in _SLOT_RE.finditer(html):
        try:
            view = json.loads(match.group(1))
        except ValueError:
            continue
        if isinstance(view, dict) and isinstance(view.get("model_id"), str):
            ids.append(view["model_id"])
    return ids


async def shutdown_kernel(pool, kernel_id: str) -> None:
    """Shut a dashboard kernel down in Voilà (as the page's beacon does); quietly if it is gone already."""
    voila = pool.current
    if voila is None:
        return
    url = f"{voila.url}voila/api/shutdown/{kernel_id}"
    with contextlib.suppress(OSError, HTTPClientError):
        await AsyncHTTPClient().fetch(url, method="POST", body=b"", headers=voila.auth_header, request_timeout=30,
                                      raise_error=False)


def _message(msg_type: str, content: dict, session: str, metadata: dict | None = None) -> str:
    return json.dumps({
        "header": {"msg_id": secrets.token_hex(16), "msg_type": msg_type, "session": session, "username": "",
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"},
        "parent_header": {}, "metadata": metadata or {}, "content": content, "channel": "shell", "buffers": [],
    })


async def widget_state(pool, kernel_id: str, timeout: float = 60) -> dict:
    """The kernel's widgets in ipywidgets' embed format (``version_major``, ``version_minor``, ``state``).

    Opens the kernel's websocket with Voilà's token, opens a ``jupyter.widget.control`` comm and sends
    ``request_states``; the ``update_states`` reply's buffers go back into each model as base64. A kernel that never
    imported ipywidgets has no such comm target and closes the comm at once: a dashboard with no widgets, whose
    state is empty (waiting for a reply there failed every render of such a dashboard after *timeout*).
    """
    voila = pool.current
    if voila is None:
        raise RenderError("the dashboards' Voilà is not running")
    session = secrets.token_hex(16)
    url = f"{voila.url}api/kernels/{kernel_id}/channels?session_id={session}".replace("http://", "ws://", 1)
    try:
        ws = await asyncio.wait_for(websocket.websocket_connect(
            HTTPRequest(url, headers=voila.auth_header), max_message_size=256 << 20), timeout)
    except (OSError, HTTPClientError, websocket.WebSocketError, TimeoutError) as e:
        raise RenderError(f"could not reach the kernel of the render ({e})") from None
    comm_id = secrets.token_hex(16)
    try:
        await ws.write_message(_message("comm_open", {"comm_id": comm_id, "target_name": CONTROL_TARGET, "data": {}},
                                        session, {"version": "1.0.0"}))
        await ws.write_message(_message("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}},
                                        session))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RenderError(f"the kernel sent no widget state within {timeout:.0f} s")
            try:
                frame = await asyncio.wait_for(ws.read_message(), left)
            except TimeoutError:
                continue
            if frame is None:
                raise RenderError("the kernel's websocket closed before it sent its widget state")
            msg = deserialize_binary_message(frame) if isinstance(frame, bytes) else json.loads(frame)
            content = msg.get("content") or {}
            if content.get("comm_id") != comm_id:
                continue
            msg_type = msg.get("header", {}).get("msg_type")
            if msg_type == "comm_close":
                return embed_state({}, [])  # no jupyter.widget.control target: no widgets in this kernel
            if msg_type == "comm_msg" and (content.get("data") or {}).get("method") == "update_states":
                return embed_state(content["data"], msg.get("buffers") or [])
    finally:
        ws.close()


def embed_state(data: dict, buffers: list) -> dict:
    """ipywidgets' embed format from an ``update_states`` message's data and buffers."""
    states = {}
    for model_id, model in (data.get("states") or {}).items():
        states[model_id] = {key: model.get(key) for key in ("model_name", "model_module", "model_module_version")}
        states[model_id]["state"] = model.get("state") or {}
        states[model_id]["buffers"] = []
    for path, buffer in zip(data.get("buffer_paths") or [], buffers, strict=False):
        model_id, where = path[0], path[2:]  # [model_id, "state", key, ...]
        if model_id in states:
            states[model_id]["buffers"].append(
                {"path": where, "encoding": "base64", "data": base64.b64encode(bytes(buffer)).decode()})
    return {"version_major": 2, "version_minor": 0, "state": states}


def script_json(value) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>``, ``<!--`` or line separator can break out."""
    text = json.dumps(value, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def compose(html: str, state: dict, *, slug: str, version: int, live_url: str) -> str:
    """The stored page: Voilà's page with no kernel, the widget state embedded, a placeholder for the ticket."""
    match, config = page_config(html)
    if match is None:
        raise RenderError("Voilà's page has no jupyter-config-data: is the gallery's dashboard template in use?")
    config = {"baseUrl": config.get("baseUrl", ""), "kernelId": None, "slug": slug, "version": int(version),
              "live": {"url": live_url, "ticket": TICKET_PLACEHOLDER}}
    scripts = (f'<script id="jupyter-config-data" type="application/json">{script_json(config)}</script>\n'
               f'<script id="backstage-widget-state" type="{WIDGET_STATE_MIME}">{script_json(state)}</script>')
    html = html[:match.start()] + scripts + _EARLY_KERNEL_RE.sub("", html[match.end():], count=1)
    return CDN_LINK_RE.sub("", html)


# -- the stored pages ----------------------------------------------------------------------------------------
class RenderedPages:
    """Render published versions once, keep the pages on disk, hand them to the dashboard handler.

    *store*: the gallery's `Store`; *pool*: the `VoilaPool`; *live_url*: the live endpoint's absolute path;
    *usage*: the gallery's `usage.Usage` (render times), if it keeps figures.
    """

    #: seconds between two looks for re-render requests (`request_rerender`, from the data-break alert)
    poll_interval = 5.0

    def __init__(self, store, pool, live_url: str, usage=None):
        self.usage = usage
        self.store = store
        self.pool = pool
        self.live_url = live_url
        self.folder = Path(store.root) / "rendered"
        self.folder.mkdir(exist_ok=True, mode=0o700)
        self.requests = self.folder / "requests"
        self.requests.mkdir(exist_ok=True, mode=0o700)
        self._cache: dict[tuple[str, int], tuple[float, tuple[str, str, str]]] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._pending: set[str] = set()
        self.last_error: dict[str, str] = {}

    def path(self, slug: str, version: int) -> Path:
        return self.folder / f"{check_slug(slug)}-v{int(version)}.html"

    def page(self, slug: str, version: int) -> tuple[str, str, str] | None:
        """The stored page split as ``(up to <body>, up to the ticket, the rest)``, or None if never rendered."""
        path = self.path(slug, version)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        cached = self._cache.get((slug, version))
        if cached is not None and cached[0] == mtime:
            return cached[1]
        html = path.read_text("utf-8")
        body = BODY_RE.search(html)
        at = body.end() if body else 0
        before, _, after = html[at:].partition(TICKET_PLACEHOLDER)
        parts = (html[:at], before, after)
        self._cache[(slug, version)] = (mtime, parts)
        return parts

    async def render(self, slug: str) -> bool:
        """Render the published version of *slug* now (one render at a time); False (logged) when it fails,
        leaving the previous page in place."""
        async with self._lock:
            item = self.store.published_for(slug)
            if item is None:
                return False
            started = time.monotonic()
            kernel_id = None
            try:
                html, kernel_id = await voila_page(self.pool, slug)
                if kernel_id is None:
                    raise RenderError("Voilà's page names no kernel")
                state = await widget_state(self.pool, kernel_id)
                page = compose(html, state, slug=slug, version=item["version"], live_url=self.live_url)
            except (RenderError, ValueError) as e:
                self.last_error[slug] = str(e)
                log.error("could not render dashboard %s v%s: %s (viewers get the previous page, or a kernel each)",
                          slug, item["version"], e)
                return False
            finally:
                if kernel_id is not None:
                    await shutdown_kernel(self.pool, kernel_id)
            write_durably(self.path(slug, item["version"]), page.encode("utf-8"), mode=0o600)
            for old in self.folder.glob(f"{slug}-v*.html"):  # earlier versions: nobody is served them any more
                if old.name != self.path(slug, item["version"]).name:
                    old.unlink(missing_ok=True)
            self.last_error.pop(slug, None)
            if self.usage is not None:
                self.usage.rendered(slug, item["version"], time.monotonic() - started)
            log.info("rendered dashboard %s v%s in %.1f s (%d widget models)", slug, item["version"],
                     time.monotonic() - started, len(state["state"]))
            return True

    #: a failed render (Voilà restarting or busy, a kernel that did not start) is tried again this many times, this
    #: many seconds apart; meanwhile viewers get a kernel each, as before the first render
    retries = 3
    retry_delay = 15.0

    async def render_with_retries(self, slug: str) -> bool:
        """:meth:`render`, tried again after a failure while *slug* is still published; False after the last."""
        for attempt in range(1, self.retries + 2):
            if await self.render(slug):
                return True
            if attempt > self.retries or self.store.published_for(slug) is None:
                return False
            log.warning("rendering dashboard %s again in %.0f s (attempt %d of %d)", slug, self.retry_delay,
                        attempt + 1, self.retries + 1)
            await asyncio.sleep(self.retry_delay)
        return False

    async def render_all(self) -> None:
        """Render every published version (at the gallery's start: its kernels' outputs may have changed), each
        tried again after a failure as :meth:`render_with_retries` does."""
        tasks = [self.schedule_once(item["slug"]) for item in self.store.published_items()]
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)

    def schedule(self, slug: str | None = None) -> asyncio.Task:
        """Render *slug* (every published dashboard if None) in the background."""
        task = asyncio.ensure_future(self.render_with_retries(slug) if slug else self.render_all())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def schedule_once(self, slug: str) -> asyncio.Task | None:
        """Render *slug* in the background unless a render of it is waiting or running already (None then)."""
        if slug in self._pending:
            return None
        self._pending.add(slug)
        task = self.schedule(slug)
        task.add_done_callback(lambda _task: self._pending.discard(slug))
        return task

    def forget(self, slug: str) -> None:
        """Remove every stored page of *slug* (unpublished)."""
        for path in self.folder.glob(f"{check_slug(slug)}-v*.html"):
            path.unlink(missing_ok=True)
        self._cache = {k: v for k, v in self._cache.items() if k[0] != slug}

    async def watch_requests(self) -> None:
        """Render the dashboards named in ``rendered/requests/`` (written by `request_rerender`), for ever."""
        while True:
            for request in sorted(self.requests.iterdir()):
                request.unlink(missing_ok=True)
                try:
                    slug = check_slug(request.name)
                except ValueError:
                    continue
                log.info("re-rendering dashboard %s on request (data check)", slug)
                self.schedule_once(slug)  # in the background, tried again after a failure
            await asyncio.sleep(self.poll_interval)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def request_rerender(gallery_state: str | os.PathLike, slug: str) -> None:
    """Ask the running gallery to render *slug* again (another process may call it: the data-break alert).

    *gallery_state* is the gallery's store folder (``$BACKSTAGE_STATE/gallery``); the gallery looks every few
    seconds. A no-op when the gallery never ran there.
    """
    folder = Path(gallery_state) / "rendered" / "requests"
    if not folder.parent.is_dir():
        return
    try:
        folder.mkdir(exist_ok=True, mode=0o700)
        (folder / check_slug(slug)).touch()
    except OSError as e:
        log.warning("could not ask the gallery to render %s again (%s): it renders it at its next start", slug, e)
