"""Dashboard latency: plain ``voila notebook.ipynb`` (cold) against the gallery's published dashboard.

Same machine, same run, same notebook (``notebooks/06-build-a-dashboard.ipynb``: pandas, ipywidgets
and a map):

1. **cold Voilà**: a standalone ``voila notebook.ipynb``; every page view starts a kernel and runs the
   notebook. Time to first byte (HTTP) and time until the widgets are rendered in Chromium.
2. **gallery**: a real lab (``tests/backstage_testing/lab.py``: hub, proxy, gallery service), the notebook submitted,
   checked and approved, then served behind hub OAuth as the gallery serves it by default (the page rendered
   once, ``Dashboards.mode = "rendered"``; with ``kernel_per_view`` in the lab's ``gallery_config.json``, from the
   preheated pool). Same two figures, the browser signed in as an official.
3. **load**: 20 concurrent viewers for a minute (each opens the dashboard with a hub token, reads it
   for 20-40 s, then closes it as a browser does); errors (a page with neither a kernel nor its widgets' saved
   state is one) and the 95th percentile of page latency;
   then the dashboard kernels left (should return to the pool size).

Last line: ``ratio: N`` = cold time-to-widgets / gallery time-to-widgets (target: 5 or more).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from backstage.chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent

NOTEBOOK = REPO / "notebooks" / "06-build-a-dashboard.ipynb"
WIDGETS = ".jupyter-widgets"
VIEWS = 3
REFILL = 20  # seconds between two measured views: a map notebook takes ~10 s to preheat on 2 busy cores
VIEWERS, LOAD_SECONDS = 20, 60


def ttfb(url: str, headers: dict) -> float:
    """Seconds to the first byte of the page; then the page is closed as a browser closes it."""
    start = time.monotonic()
    with requests.get(url, headers=headers, stream=True, timeout=300) as r:
        r.raise_for_status()
        next(r.iter_content(1))
        took = time.monotonic() - start
        kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', r.text)
    if kernel and "/dashboards/" in url:  # what the page's unload handler does
        requests.post(url.rsplit("/dashboards/", 1)[0] + "/dashboards/voila/api/shutdown/" + kernel.group(1),
                      headers={"Origin": "null"}, timeout=60)
    return took


def time_to_widgets(context, url: str) -> float:
    page = context.new_page()
    try:
        start = time.monotonic()
        page.goto(url, wait_until="commit", timeout=300_000)
        page.wait_for_selector(WIDGETS, state="visible", timeout=300_000)
        return time.monotonic() - start
    finally:
        page.close(run_before_unload=True)  # Voilà's unload handler shuts the page's kernel down
        time.sleep(1)


def cold_voila(playwright, notebook: Path) -> dict:
    """Plain ``voila notebook.ipynb`` on a free port (no token, no pool): every view is a cold start."""
    from backstage.gallery.voila import DENIED_EXTENSIONS
    from backstage.net import free_port

    folder = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    shutil.copy(notebook, folder / "dashboard.ipynb")
    port = free_port()
    argv = [sys.executable, "-m", "voila", str(folder / "dashboard.ipynb"), "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--Voila.token="]
    argv += [f"--VoilaConfiguration.extension_denylist={name}" for name in DENIED_EXTENSIONS]
    proc = subprocess.Popen(argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.head(url + "voila/static/voila.js", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("plain Voilà did not start") from None
                time.sleep(0.3)
        first_bytes = [ttfb(url, {}) for _ in range(VIEWS)]
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        widgets = [time_to_widgets(context, url) for _ in range(VIEWS)]
        context.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)
    return {"ttfb": statistics.median(first_bytes), "widgets": statistics.median(widgets)}


def load(url: str, token: str) -> dict:
    latencies, errors = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS
    shutdown = url.rsplit("/dashboards/", 1)[0] + "/dashboards/voila/api/shutdown/"

    def viewer(n):
        rng = random.Random(n)
        session = requests.Session()
        time.sleep(rng.uniform(0, 3))
        while time.monotonic() < stop_at:
            start = time.monotonic()
            try:
                r = session.get(url, headers={"Authorization": f"token {token}"}, timeout=120)
                took = time.monotonic() - start
                kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', r.text)
                with lock:
                    latencies.append(took)
                    if r.status_code != 200 or not (kernel or "backstage-widget-state" in r.text):
                        errors.append(f"{r.status_code}")  # neither a kernel nor a rendered page's saved widgets
                time.sleep(min(rng.uniform(20, 40), max(0.0, stop_at - time.monotonic())))
                if kernel:  # the page closes: the browser tells Voilà to shut its kernel down
                    session.post(shutdown + kernel.group(1), headers={"Origin": "null"}, timeout=60)
            except requests.RequestException as e:
                with lock:
                    errors.append(type(e).__name__)

    threads = [threading.Thread(target=viewer, args=(n,)) for n in range(VIEWERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    p95 = latencies[max(0, math_ceil(0.95 * len(latencies)) - 1)] if latencies else float("nan")
    return {"views": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors)), "p95": p95,
            "median": statistics.median(latencies) if latencies else float("nan")}


def math_ceil(x: float) -> int:
    return int(-(-x // 1))


def main() -> int:
    from backstage_testing.browser import sign_in
    from backstage_testing.dashboards import publish_dashboard, voila_kernel_ids
    from backstage_testing.lab import delete_unix_users, running_lab
    from playwright.sync_api import sync_playwright

    notebook = NOTEBOOK
    if not notebook.exists():
        raise SystemExit(f"{notebook} is missing: the benchmark measures that starter dashboard")
    os.environ.setdefault("GOVDATA_MIRROR", str(REPO.parent / "shared" / "datasets"))
    state = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    prefix = f"bd{random.randrange(16**3):03x}-"
    with sync_playwright() as playwright:
        cold = cold_voila(playwright, notebook)
        print(f"cold voila: ttfb {cold['ttfb']:.3f} s, time to widgets {cold['widgets']:.3f} s (median of {VIEWS})")
        try:
            with running_lab(state, user_prefix=prefix) as lab:
                sessions = {role: lab.create_user(f"bench{role}", groups=(group,)) for role, group in
                            (("author", "participants"), ("reviewer", "reviewers"), ("official", "officials"))}
                tokens = {role: lab.token_for(s.username) for role, s in sessions.items()}
                url = publish_dashboard(lab, notebook, tokens["author"], tokens["reviewer"])
                pool = int(os.environ.get("BENCH_POOL_SIZE", "2"))
                time.sleep(30)  # the pool fills after the approval's Voilà reload
                first_bytes = []
                for _ in range(VIEWS):
                    first_bytes.append(ttfb(url, {"Authorization": f"token {tokens['official']}"}))
                    time.sleep(REFILL)  # the pool refills between two officials' visits
                profile = tempfile.mkdtemp(prefix="bench-chromium-")
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = context.new_page()
                sign_in(page, lab, "benchofficial", sessions["official"].password)
                page.close()
                widgets = []
                for _ in range(VIEWS):
                    widgets.append(time_to_widgets(context, url))
                    time.sleep(REFILL)
                context.close()
                shutil.rmtree(profile, ignore_errors=True)
                gallery = {"ttfb": statistics.median(first_bytes), "widgets": statistics.median(widgets)}
                print(f"gallery dashboard: ttfb {gallery['ttfb']:.3f} s, time to widgets {gallery['widgets']:.3f} s "
                      f"(median of {VIEWS})")
                result = load(url, tokens["official"])
                print(f"load: {VIEWERS} viewers for {LOAD_SECONDS} s: {result['views']} views, "
                      f"errors: {result['errors']} {result['error_kinds'] or ''}, "
                      f"p95 {result['p95']:.3f} s, median {result['median']:.3f} s")
                deadline = time.monotonic() + 120
                kernels = len(voila_kernel_ids(lab.lab_id))
                while kernels != pool and time.monotonic() < deadline:
                    time.sleep(3)
                    kernels = len(voila_kernel_ids(lab.lab_id))
                print(f"dashboard kernels after the load: {kernels} (pool size {pool})")
        finally:
            delete_unix_users(prefix)
            shutil.rmtree(state, ignore_errors=True)
    print(f"ratio: {cold['widgets'] / gallery['widgets']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
