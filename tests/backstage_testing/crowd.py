"""A crowd of dashboard viewers over HTTP (no browsers): the client of the crowd benchmark and the crowd test.

Each viewer does what a browser does with a published dashboard (``dashboards/<slug>``), as far as the
server can tell:

1. **opens the page**: ``GET`` with the viewer's hub token (``Authorization: token ...``; a crowd signs in with
   one token per kind of viewer, not one account per person: the gallery checks the token with the hub once
   and caches the answer, as it caches a browser's session), then fetches EVERY asset the page references
   (``<script src>``, ``<link rel=stylesheet|modulepreload|preload|icon>``, ``<img src>``), as the sandboxed
   page does on every view because its opaque origin caches nothing; with ``Origin: null`` and no cookies,
   like the sandboxed page. A page drawn with a kernel per view (``kernelId`` set: the old way) is complete
   once its widgets' states have come over the kernel's websocket (what its early script asks for); a rendered
   page (``kernelId`` null) is complete with its last asset, its widgets' states being in the page;
2. **may go live** (:class:`Viewer` ``.live``): ``POST`` the page's ``live.url`` with its ticket (no cookies),
   polling with the ``queue_id`` every ``retry_after`` seconds while it answers ``202`` (in line, the page still
   shown), then opens the kernel's websocket, loads the live widgets' states, finds the first control reachable
   from the slots' views (``views``, through ``IPY_MODEL_`` references), changes it (a ``comm_msg``
   ``update``) and waits for another model's ``update`` back (the output following the control);
3. **closes the page** after reading it (``read`` seconds, only when it holds a kernel): the page's unload beacon
   ``POST voila/api/shutdown/<kernel id>``.

A failure is a 5xx, a time-out or a broken page (not 200, no ``jupyter-config-data``, a rendered page without its
widget state or with a slot whose model is not in it, an asset not 200); a viewer waiting in line, with the page
shown, is not one.

Example::

    viewers = plan(30, over=10, kinds=("official",), live_share=0, seed=1)
    result = run_crowd("crowd", url, {"official": token}, viewers, page_timeout=120)
    assert not result.failures, result.failures
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import aiohttp
from jupyter_server.services.kernels.connection.base import deserialize_binary_message

from backstage_testing.loadsim import percentile

__all__ = ["CONTROL_MODELS", "CrowdResult", "Live", "PageError", "View", "Viewer", "crowd_lines", "go_live",
           "live_lines", "page_assets", "plan", "read_page", "run_crowd", "widget_states"]

#: widget models a viewer can change, with how (the state to send, from the model's state)
CONTROL_MODELS = ("DropdownModel", "IntSliderModel", "FloatSliderModel", "SelectionSliderModel", "SelectModel",
                  "RadioButtonsModel", "ToggleButtonsModel", "IntTextModel", "FloatTextModel", "CheckboxModel")
PARALLEL_FETCHES = 6  # a browser's connections per host
_SLOT_TYPE = "application/vnd.jupyter.widget-view+json"


class PageError(Exception):
    """A viewer's page is broken or its server failed (the message says how)."""


@dataclass(frozen=True)
class Viewer:
    """One person of the crowd: when they arrive (seconds after the start), as whom, whether they go live,
    and how long they keep the page open."""

    index: int
    arrival: float
    kind: str
    live: bool = False
    read: float = 0.0


@dataclass
class Live:
    """What happened when a viewer went live: in line or not, and the times (seconds)."""

    outcome: str = "failed"  # "live", "refused" (401: sign in first), "failed"
    kernel_id: str | None = None  # the live kernel, once granted (the page's beacon returns it)
    positions: list[int] = field(default_factory=list)  # places in line, as the 202s said
    queue_seconds: float = 0.0  # from the first 202 to the 200
    connect_seconds: float | None = None  # from the first POST to the 200 (in line included)
    echo_seconds: float | None = None  # from the widget change to the output's update
    failure: str | None = None

    @property
    def queued(self) -> bool:
        return bool(self.positions)


@dataclass
class View:
    """One viewer's visit: page-complete time (or the failure), what was fetched, and going live."""

    viewer: Viewer
    seconds: float | None = None
    failure: str | None = None
    mode: str | None = None  # "rendered" (kernelId null) or "kernel_per_view"
    assets: int = 0
    bytes: int = 0
    live: Live | None = None
    page: Page | None = field(default=None, repr=False)  # as read, even when its assets or widgets then failed


@dataclass
class CrowdResult:
    """A crowd's visits and how long it took (``wall``, seconds)."""

    name: str
    views: list[View]
    wall: float

    @property
    def failures(self) -> list[str]:
        """``"viewer N: reason"`` for every failed page or failed going-live."""
        out = [f"viewer {v.viewer.index}: {v.failure}" for v in self.views if v.failure]
        out += [f"viewer {v.viewer.index} live: {v.live.failure}" for v in self.views
                if v.live is not None and v.live.outcome == "failed"]
        return out

    def page_times(self, percent: float) -> float:
        """The page-complete time at ``percent`` over every viewer (a failed one counts with the time it took)."""
        return percentile([v.seconds for v in self.views if v.seconds is not None], percent)


def plan(viewers: int, over: float, kinds: tuple[str, ...] = ("official",), live_share: float = 0.0,
         seed: int = 0, read: tuple[float, float] = (20.0, 40.0)) -> list[Viewer]:
    """``viewers`` people arriving at random times over ``over`` seconds (the same ``seed``, the same crowd);
    kinds taken in turn; ``round(live_share * viewers)`` of them, picked at random, go live."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, over) for _ in range(viewers))
    live = set(rng.sample(range(viewers), round(live_share * viewers)))
    return [Viewer(i, arrival, kinds[i % len(kinds)], i in live, rng.uniform(*read))
            for i, arrival in enumerate(arrivals)]


# -- the page -----------------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """The assets a page references, its config, its widget state and its slots (in document order)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets: list[tuple[str, bool]] = []  # (URL, fetched in CORS mode as a module is)
        self.scripts: dict[str, str] = {}  # id -> text of <script id=...>
        self.slots: list[str] = []  # texts of the widget-view scripts
        self._script: tuple[str | None, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.assets.append((a["src"], a.get("type") == "module"))
            self._script, self._text = (a.get("id"), a.get("type")), []
        elif tag == "link" and a.get("href"):
            rels = set((a.get("rel") or "").lower().split())
            if rels & {"stylesheet", "modulepreload", "preload", "icon"}:
                self.assets.append((a["href"], "modulepreload" in rels))
        elif tag == "img" and a.get("src"):
            self.assets.append((a["src"], False))

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script_id, script_type = self._script
            text = "".join(self._text)
            if script_id:
                self.scripts[script_id] = text
            if script_type == _SLOT_TYPE:
                self.slots.append(text)
            self._script = None


@dataclass
class Page:
    """A dashboard page as read: its config, assets (absolute URLs), embedded widget state and slots."""

    url: str
    config: dict
    assets: list[tuple[str, bool]]
    state: dict | None
    slots: list[str]

    @property
    def mode(self) -> str:
        return "kernel_per_view" if self.config.get("kernelId") else "rendered"

    def api(self, path: str) -> str:
        """An absolute URL below the page's ``baseUrl`` (e.g. ``api/kernels/<id>``)."""
        return urljoin(self.url, self.config["baseUrl"] + path)


def page_assets(html: str, page_url: str) -> list[tuple[str, bool]]:
    """``(absolute URL, module?)`` of every asset ``html`` references (``data:`` URIs need no fetch)."""
    parser = _PageParser()
    parser.feed(html)
    return [(urljoin(page_url, src), module) for src, module in parser.assets if not src.startswith("data:")]


def read_page(html: str, page_url: str) -> Page:
    """Parse a dashboard page; raise :class:`PageError` naming what is missing when it is broken."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    if "jupyter-config-data" not in parser.scripts:
        raise PageError("broken page: no jupyter-config-data script")
    try:
        config = json.loads(parser.scripts["jupyter-config-data"])
        slots = [json.loads(text)["model_id"] for text in parser.slots]
    except (ValueError, KeyError, TypeError) as e:
        raise PageError(f"broken page: unreadable config or widget slot ({e})") from None
    assets = [(urljoin(page_url, src), module) for src, module in parser.assets if not src.startswith("data:")]
    outside = [u for u, _ in assets if urlparse(u).hostname != urlparse(page_url).hostname]
    if outside:
        raise PageError(f"broken page: it loads {outside[0]} from outside the lab")
    page = Page(page_url, config, assets, None, slots)
    if page.mode == "rendered":
        text = parser.scripts.get("backstage-widget-state")
        if text is None:
            raise PageError("broken page: kernelId is null but there is no backstage-widget-state script")
        try:
            page.state = json.loads(text)["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise PageError(f"broken page: unreadable widget state ({e})") from None
        missing = [m for m in slots if m not in page.state]
        if missing:
            raise PageError(f"broken page: {len(slots)} widget slots, {len(missing)} without a saved state")
        if not isinstance(config.get("live"), dict) or not config["live"].get("ticket"):
            raise PageError("broken page: a rendered page without its live endpoint and ticket")
    return page


async def _fetch_asset(session: aiohttp.ClientSession, url: str, module: bool) -> int:
    headers = {"Origin": "null"} if module else {}  # a module script is a CORS fetch from the opaque origin
    async with session.get(url, headers=headers) as r:
        body = await r.read()
        if r.status != 200:
            raise PageError(f"asset {urlparse(url).path} answered {r.status}")
        return len(body)


async def _open_page(session, url: str, token: str | None, view: View) -> Page:
    headers = {"Authorization": f"token {token}"} if token else {}
    async with session.get(url, headers=headers) as r:
        html = await r.text(errors="replace")
        if r.status != 200:
            raise PageError(f"the page answered {r.status}")
    view.bytes += len(html)
    page = view.page = read_page(html, str(r.url))
    view.mode, view.assets = page.mode, len(page.assets)
    limit = asyncio.Semaphore(PARALLEL_FETCHES)

    async def fetch(asset):
        async with limit:
            return await _fetch_asset(session, *asset)

    async def kernel_states():
        # the old way's widgets are drawn once their states come from the page's kernel; its early script
        # asks for them while the assets load
        if page.mode != "kernel_per_view":
            return
        async with _kernel_socket(session, page, page.config["kernelId"]) as ws:
            states = await widget_states(ws)
        missing = [m for m in page.slots if m not in states]
        if missing:
            raise PageError(f"broken page: the kernel has no state for {len(missing)} of its widget slots")

    sizes = await asyncio.gather(kernel_states(), *(fetch(a) for a in page.assets))
    view.bytes += sum(sizes[1:])
    return page


# -- the kernel websocket (jupyter_server's JSON frames, no subprotocol, as the gallery's proxy relays them) ---


def _kernel_socket(session, page: Page, kernel_id: str):
    url = page.api(f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}")
    return session.ws_connect(url.replace("http", "ws", 1), origin="null", max_msg_size=256 << 20)


def _message(msg_type: str, content: dict, metadata: dict | None = None) -> str:
    return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "",
                                  "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
                       "parent_header": {}, "metadata": metadata or {}, "content": content, "channel": "shell"})


async def _receive(ws) -> dict | None:
    """The next kernel message (None when the socket closed)."""
    msg = await ws.receive()
    if msg.type == aiohttp.WSMsgType.TEXT:
        return json.loads(msg.data)
    if msg.type == aiohttp.WSMsgType.BINARY:
        return deserialize_binary_message(msg.data)
    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR):
        return None
    return {}


async def widget_states(ws) -> dict:
    """Ask a kernel for its widgets' states (``jupyter.widget.control``'s ``request_states``), as the page
    does; return ``{model_id: {"model_name", ..., "state"}}``."""
    control = uuid.uuid4().hex
    await ws.send_str(_message("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control",
                                             "data": {}}, {"version": "1.0.0"}))
    await ws.send_str(_message("comm_msg", {"comm_id": control, "data": {"method": "request_states"}}))
    while True:
        msg = await _receive(ws)
        if msg is None:
            raise PageError(f"the kernel's websocket closed before the widgets' states came ({ws.close_code})")
        content = msg.get("content") or {}
        if msg.get("msg_type") == "comm_msg" and content.get("comm_id") == control:
            data = content.get("data") or {}
            if data.get("method") == "update_states":
                return data.get("states") or {}


def _reachable(states: dict, roots: list[str]) -> list[str]:
    """Model ids reachable from ``roots`` through ``IPY_MODEL_<id>`` references, breadth first."""
    seen, queue = [], list(roots)
    while queue:
        model_id = queue.pop(0)
        if model_id in seen or model_id not in states:
            continue
        seen.append(model_id)
        text = json.dumps(states[model_id].get("state", {}))
        queue += [ref.split('"', 1)[0] for ref in text.split('"IPY_MODEL_')[1:]]
    return seen


def _change(model: dict) -> dict:
    """A viewer's move on a control: the next option, the next step, the other tick."""
    name, state = model["model_name"], model.get("state", {})
    if "_options_labels" in state and name != "SelectMultipleModel":
        return {"index": ((state.get("index") or 0) + 1) % max(1, len(state["_options_labels"]))}
    if name == "CheckboxModel":
        return {"value": not state.get("value")}
    value, step = state.get("value", 0), state.get("step") or 1
    top = state.get("max", value + step)
    return {"value": value + step if value + step <= top else value - step}


# -- going live ----------------------------------------------------------------------------------------


async def go_live(session, page: Page, live: Live) -> tuple[str, aiohttp.ClientWebSocketResponse]:
    """Ask for a live kernel as the page does, in line while it says 202; move a control; wait for the output.

    Fills ``live``; returns the kernel id and its open websocket (the caller closes the page).
    """
    endpoint = urljoin(page.url, page.config["live"]["url"])
    body = {"ticket": page.config["live"]["ticket"]}
    started = time.monotonic()
    first_queued = None
    while True:
        async with session.post(endpoint, json=body, headers={"Origin": "null"}) as r:
            text, status = await r.text(errors="replace"), r.status
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {"body": text[:200]}
        if status == 200:
            break
        if status == 202:
            first_queued = first_queued or time.monotonic()
            live.positions.append(int(answer["position"]))
            body["queue_id"] = answer["queue_id"]
            await asyncio.sleep(float(answer.get("retry_after", 2)))
            continue
        if status == 401:
            live.outcome = "refused"
            raise PageError("going live asks to sign in (401)")
        raise PageError(f"the live endpoint answered {status}: {str(answer)[:200]}")
    live.connect_seconds = time.monotonic() - started
    live.queue_seconds = time.monotonic() - first_queued if first_queued else 0.0
    live.kernel_id = kernel_id = answer["kernelId"]
    views = answer["views"]
    ws = await _kernel_socket(session, page, kernel_id)
    try:
        states = await widget_states(ws)
        controls = [m for m in _reachable(states, views) if states[m].get("model_name") in CONTROL_MODELS]
        if not controls:
            raise PageError(f"no control among the live views' widgets ({len(states)} models)")
        control = controls[0]
        moved = time.monotonic()
        await ws.send_str(_message("comm_msg", {"comm_id": control, "data": {
            "method": "update", "state": _change(states[control]), "buffer_paths": []}}))
        while True:
            msg = await _receive(ws)
            if msg is None:
                raise PageError(f"the live kernel's websocket closed ({ws.close_code}) before the output followed")
            content = msg.get("content") or {}
            if msg.get("msg_type") == "comm_msg" and content.get("comm_id") != control \
                    and (content.get("data") or {}).get("method") == "update":
                live.echo_seconds = time.monotonic() - moved
                live.outcome = "live"
                return kernel_id, ws
    except BaseException:
        await ws.close()
        raise


async def _close_page(session, page: Page, kernel_id: str) -> None:
    """The page's unload beacon: Voilà shuts the kernel down (the gallery frees a live place)."""
    async with session.post(page.api(f"voila/api/shutdown/{kernel_id}"), headers={"Origin": "null"}) as r:
        await r.read()


# -- the crowd -----------------------------------------------------------------------------------------


async def _visit(url: str, token: str | None, viewer: Viewer, page_timeout: float, live_timeout: float,
                 hold: float) -> View:
    view = View(viewer)
    # a browser's few connections per host, kept alive; no cookies (the page's origin is opaque). IPv4: the
    # lab's proxy listens on 127.0.0.1, and *.localhost also resolves to ::1 first. An idle connection is dropped
    # after 3 s, before the proxy's (Node's 5 s keep-alive) ends it: a request sent on a connection the server
    # is closing is reset (seen: 2 of 30 live viewers' polls), which a browser retries and aiohttp does not.
    connector = aiohttp.TCPConnector(limit_per_host=PARALLEL_FETCHES, family=socket.AF_INET, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=page_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        started = time.monotonic()
        page = None
        try:
            async with asyncio.timeout(page_timeout):
                page = await _open_page(session, url, token, view)
        except TimeoutError:
            view.failure = f"time-out: the page was not complete after {page_timeout:.0f} s"
        except (PageError, aiohttp.ClientError, OSError, ValueError) as e:
            view.failure = str(e) or type(e).__name__
        view.seconds = time.monotonic() - started
        if page is None and view.page is not None and view.page.mode == "kernel_per_view":
            await _leave(session, view.page, view.page.config["kernelId"], view)  # its kernel was taken all the same
        if page is None:
            return view
        kernel_id = page.config.get("kernelId")
        ws = None
        if viewer.live and page.mode == "rendered":
            view.live = Live()
            try:
                async with asyncio.timeout(live_timeout):
                    kernel_id, ws = await go_live(session, page, view.live)
                await asyncio.sleep(hold)  # plays with the live controls a little, then leaves
            except TimeoutError:
                view.live.failure = f"time-out: not live after {live_timeout:.0f} s"
            except (PageError, aiohttp.ClientError, OSError, ValueError, KeyError) as e:
                view.live.failure = str(e) or type(e).__name__
            kernel_id = view.live.kernel_id  # granted even if the widgets then failed: the page still closes
        elif kernel_id:
            await asyncio.sleep(viewer.read)  # reads the page, its kernel held, then closes it
        try:
            if kernel_id:
                await _leave(session, page, kernel_id, view)
        finally:
            if ws is not None:
                await ws.close()
    return view


async def _leave(session, page: Page, kernel_id: str, view: View) -> None:
    try:
        await _close_page(session, page, kernel_id)
    except (aiohttp.ClientError, OSError) as e:
        view.failure = view.failure or f"closing the page failed: {e}"


async def _run(url, tokens, viewers, page_timeout, live_timeout, hold, progress) -> list[View]:
    start = time.monotonic()
    done: list[View] = []
    step = max(1, len(viewers) // 10)

    async def one(viewer: Viewer) -> View:
        await asyncio.sleep(max(0.0, viewer.arrival - (time.monotonic() - start)))
        view = await _visit(url, tokens.get(viewer.kind), viewer, page_timeout, live_timeout, hold)
        done.append(view)
        if progress and (len(done) % step == 0 or len(done) == len(viewers)):
            failed = sum(1 for v in done if v.failure or (v.live and v.live.outcome == "failed"))
            progress(f"{len(done)}/{len(viewers)} viewers done, {failed} failed, "
                     f"{time.monotonic() - start:.0f} s")
        return view

    return await asyncio.gather(*(one(v) for v in viewers))


def run_crowd(name: str, url: str, tokens: dict[str, str | None], viewers: list[Viewer], *,
              page_timeout: float = 120, live_timeout: float = 600, hold: float = 10,
              progress=None) -> CrowdResult:
    """Run ``viewers`` against the dashboard at ``url`` (tokens by kind of viewer; None: anonymous).

    ``hold``: seconds a live viewer keeps the live page before closing it. ``progress``: called with a line
    per tenth of the crowd done (e.g. ``lambda line: print(line, file=sys.stderr)``).
    """
    started = time.monotonic()
    tell = (lambda line: progress(f"{name}: {line}")) if progress else None
    views = asyncio.run(_run(url, tokens, viewers, page_timeout, live_timeout, hold, tell))
    return CrowdResult(name, views, time.monotonic() - started)


# -- figures -------------------------------------------------------------------------------------------


def crowd_lines(result: CrowdResult) -> list[str]:
    """The crowd's page figures, one line."""
    views = result.views
    modes = sorted({v.mode for v in views if v.mode})
    mb = sum(v.bytes for v in views) / 1e6
    assets = max((v.assets for v in views), default=0)
    return [f"{result.name}: {len(views)} viewers ({', '.join(modes) or 'no page'}), page complete "
            f"p50 {result.page_times(50):.3f} s, p95 {result.page_times(95):.3f} s, max {result.page_times(100):.3f} s; "
            f"failures: {sum(1 for v in views if v.failure)}; {assets} assets a page, {mb:.0f} MB fetched, "
            f"{result.wall:.0f} s in all"]


def live_lines(result: CrowdResult) -> list[str]:
    """Going live: how many, how many waited in line and how long, time to live and to the output."""
    lives = [v.live for v in result.views if v.live is not None]
    if not lives:
        return []
    ok = [x for x in lives if x.outcome == "live"]
    queued = [x for x in lives if x.queued]
    connect = [x.connect_seconds for x in ok]
    direct = [x.connect_seconds for x in ok if not x.queued]
    echo = [x.echo_seconds for x in ok]
    waits = [x.queue_seconds for x in queued if x.outcome == "live"]
    deepest = max((max(x.positions) for x in queued), default=0)
    return [
        f"{result.name} live: {len(lives)} went live, {len(ok)} got a kernel, "
        f"{sum(1 for x in lives if x.outcome == 'failed')} failed, {sum(1 for x in lives if x.outcome == 'refused')} "
        f"refused; to live p50 {percentile(connect, 50):.2f} s, p95 {percentile(connect, 95):.2f} s "
        f"(without a wait in line: p95 {percentile(direct, 95):.2f} s); output after a change "
        f"p50 {percentile(echo, 50):.2f} s, p95 {percentile(echo, 95):.2f} s",
        f"{result.name} queue: {len(queued)} waited in line (deepest place {deepest}), "
        f"wait p50 {percentile(waits, 50):.2f} s, p95 {percentile(waits, 95):.2f} s, max {percentile(waits, 100):.2f} s",
    ]


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
