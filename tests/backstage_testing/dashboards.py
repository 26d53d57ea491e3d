"""Published dashboards on a real lab: publish one as a participant and a reviewer would, and watch the
gallery's processes (its Voilà and that Voilà's kernels) while people open it.

Used by the dashboard benchmarks (``benchmarks/dashboard_latency.py``, ``benchmarks/dashboard_crowd.py``)
and the crowd test::

    with gallery_lab({"Dashboards": {"live_per_dashboard": 2}}, prefix="t") as lab:   # a lab of its own
        ...
    url = publish_dashboard(lab, notebook, author_token, reviewer_token, title="Indicators by council")
    before = voila_kernel_ids(lab.lab_id)       # kernel ids under the dashboards' Voilà
    with GalleryWatch(lab.lab_id) as watch:     # samples every 0.5 s in a thread
        ...                                     # the crowd
    watch.kernels_seen - before                 # kernels started meanwhile
    watch.rss_peak                              # {"gallery": bytes, "voila": bytes, "kernels": bytes, "total": bytes}
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import psutil
import requests

from backstage_testing.journeys import wait_checked
from backstage_testing.lab import own_lab

__all__ = ["GalleryWatch", "dashboards_voila", "gallery_lab", "gallery_process", "publish_dashboard",
           "settled_kernel_ids", "voila_kernel_ids", "wait_rendered"]

_KERNEL_FILE_RE = re.compile(r"kernel-([0-9a-f-]{36})\.json")
#: the dashboards' Voilà preheats kernels; a check's one-off Voilà does not
_POOL_ARG = "--VoilaConfiguration.preheat_kernel=True"


@contextmanager
def gallery_lab(gallery_config: dict, prefix: str = "t", **settings):
    """A lab of its own (:func:`backstage_testing.lab.own_lab`) whose gallery reads ``gallery_config`` (traits by
    class, e.g. ``{"Dashboards": {"live_per_dashboard": 2}}``); ``settings`` go to :func:`running_lab`."""
    with own_lab(prefix, gallery_config=gallery_config, **settings) as lab:
        yield lab


def publish_dashboard(lab, notebook: Path | dict, author_token: str, reviewer_token: str, *,
                      title: str = "Benchmark dashboard", summary: str = "pandas, ipywidgets and a map",
                      topics: tuple[str, ...] = ("benchmark",), approve: dict | None = None,
                      check_timeout: float = 600) -> str:
    """Submit ``notebook`` as its author (contract 4), wait for the automatic checks, approve it as the
    reviewer (with the JSON body ``approve``, e.g. ``{"public": True}``); return the dashboard's full URL.

    Raises ``AssertionError`` naming the checks' results if the notebook does not pass them.
    """
    if isinstance(notebook, Path):
        notebook = json.loads(notebook.read_text())
    gallery = lab.service_url("gallery")
    r = requests.post(f"{gallery}api/submissions", json={"title": title, "summary": summary, "topics": list(topics),
                                                         "notebook": notebook},
                      headers={"Authorization": f"token {author_token}"}, timeout=120)
    assert r.status_code == 201, f"the submission was refused ({r.status_code}): {r.text[:500]}"
    item = wait_checked(lab, author_token, r.json()["id"], timeout=check_timeout)
    assert item["status"] == "awaiting-review", f"the dashboard notebook failed its checks: {item.get('checks')}"
    r = requests.post(f"{gallery}api/submissions/{item['id']}/approve", json=approve or {}, timeout=300,
                      headers={"Authorization": f"token {reviewer_token}"})
    assert r.status_code == 200, f"the approval was refused ({r.status_code}): {r.text[:500]}"
    return urljoin(gallery, r.json()["url"])


def wait_rendered(lab, slug: str, version: int = 1, timeout: float = 300) -> Path:
    """Wait until the gallery has rendered version *version* of dashboard *slug* once (interface 14, part 1:
    ``<state>/gallery/rendered/<slug>-v<version>.html``), so views are served that page; return its path."""
    page = lab.state_dir / "gallery" / "rendered" / f"{slug}-v{version}.html"
    deadline = time.monotonic() + timeout
    while not page.exists() and time.monotonic() < deadline:
        time.sleep(1)
    assert page.exists(), f"{page} was not rendered within {timeout} s:\n{lab.log_text()[-3000:]}"
    return page


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def gallery_process(lab_id: str) -> psutil.Process:
    """The lab's gallery service (``python -m backstage.gallery ...`` carrying ``BACKSTAGE_LAB_ID``)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        argv = proc.info["cmdline"] or []
        try:
            if "backstage.gallery" in argv and argv[argv.index("backstage.gallery") - 1] == "-m" \
                    and proc.environ().get("BACKSTAGE_LAB_ID") == lab_id:
                found.append(proc)
        except psutil.Error:
            continue
    if len(found) != 1:
        raise LookupError(f"expected one gallery process of lab {lab_id}, found {len(found)}: is the gallery on?")
    return found[0]


def dashboards_voila(gallery: psutil.Process) -> psutil.Process | None:
    """The published dashboards' Voilà (the one with a kernel pool) under ``gallery``; None while it restarts."""
    try:
        children = gallery.children(recursive=True)
    except psutil.Error:
        return None
    pools = [p for p in children if _POOL_ARG in _cmdline(p)]
    # after an approval the old Voilà serves open pages for a grace period: the newest is the current one
    return max(pools, key=lambda p: p.create_time(), default=None)


def _voila_kernels(gallery: psutil.Process) -> dict[str, psutil.Process]:
    """Kernels (by id) under every dashboards' Voilà of ``gallery`` (the current one and any retiring)."""
    kernels = {}
    try:
        children = gallery.children(recursive=True)
    except psutil.Error:
        return kernels
    for pool in (p for p in children if _POOL_ARG in _cmdline(p)):
        try:
            below = pool.children(recursive=True)
        except psutil.Error:
            continue
        for proc in below:
            found = _KERNEL_FILE_RE.search(" ".join(_cmdline(proc)))
            if found:
                kernels[found.group(1)] = proc
    return kernels


def voila_kernel_ids(lab_id: str) -> set[str]:
    """Ids of the kernels running under the lab's dashboards' Voilà (from their connection files)."""
    return set(_voila_kernels(gallery_process(lab_id)))


def _rss(proc: psutil.Process | None) -> int:
    try:
        return proc.memory_info().rss if proc is not None else 0
    except psutil.Error:
        return 0


class GalleryWatch(threading.Thread):
    """Samples, every ``interval`` seconds, the kernels under the dashboards' Voilà (every id seen, the most
    at once) and the resident memory of the gallery, its Voilà and those kernels (peaks, in bytes)."""

    def __init__(self, lab_id: str, interval: float = 0.5):
        super().__init__(name="gallery-watch", daemon=True)
        self.gallery = gallery_process(lab_id)
        self.interval = interval
        self.kernels_seen: set[str] = set()
        self.kernels_peak = 0
        self.rss_peak = {"gallery": 0, "voila": 0, "kernels": 0, "total": 0}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        kernels = _voila_kernels(self.gallery)
        self.kernels_seen |= set(kernels)
        self.kernels_peak = max(self.kernels_peak, len(kernels))
        now = {"gallery": _rss(self.gallery), "voila": _rss(dashboards_voila(self.gallery)),
               "kernels": sum(_rss(k) for k in kernels.values())}
        now["total"] = sum(now.values())
        for part, value in now.items():
            self.rss_peak[part] = max(self.rss_peak[part], value)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 (a sampler must never end the run; the next sample retries)
                pass
            self._stop_event.wait(self.interval)

    def __enter__(self) -> GalleryWatch:
        self.sample()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop_event.set()
        self.join(10)
        self.sample()


def settled_kernel_ids(lab_id: str, seconds: float = 5, timeout: float = 180) -> set[str]:
    """Wait until the kernels under the dashboards' Voilà have not changed for ``seconds`` (its pool is full
    and no render is running); return their ids."""
    gallery = gallery_process(lab_id)
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = set(_voila_kernels(gallery))
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= seconds:
            return now
        time.sleep(0.5)
    raise TimeoutError(f"the dashboards' kernels did not settle within {timeout:.0f} s (last: {len(last or ())})")
