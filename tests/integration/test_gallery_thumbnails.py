"""Thumbnails: Chromium renders untrusted output, so it runs as the check's own account, reaches nothing but
the page it was sent to, and its raw error text never reaches the submitter."""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import threading
import time

import psutil
import pytest
from backstage.gallery.runas import current_user
from backstage.gallery.sandbox import Sandbox
from backstage.gallery.thumbnails import Thumbnails

SECRET = "SECRET-PROBE-4f1d"


def _serve(folder, hits: list | None = None) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if hits is not None:
                hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def loopback_service(tmp_path):
    """Another service on loopback (think: the hub's API); records every request that reaches it."""
    (tmp_path / "service").mkdir()
    hits: list[str] = []
    server = _serve(tmp_path / "service", hits)
    yield f"127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture
def page_url(tmp_path, loopback_service):
    """A page that tries the loopback service every way a page can, then throws an error carrying a secret."""
    service, _ = loopback_service
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text(f"""<!doctype html><title>t</title>
<h1 style='color:#1d70b8'>Thumbnail</h1>
<img src="http://{service}/img" alt="">
<link rel="stylesheet" href="http://{service}/css">
<iframe src="http://{service}/frame"></iframe>
<script>
fetch("http://{service}/fetch").catch(() => {{}});
try {{ new WebSocket("ws://{service}/ws"); }} catch (e) {{}}
navigator.sendBeacon && navigator.sendBeacon("http://{service}/beacon", "x");
throw new Error("{SECRET} found 127.0.0.1:22 open");
</script>""")
    server = _serve(tmp_path / "page")
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


@pytest.fixture
def account(tmp_path):
    """The check's account: a throw-away Unix account as root (the one-person lab: the current user)."""
    sandbox = Sandbox(owner=str(tmp_path))
    made = sandbox.create_check_account()
    yield made
    sandbox.destroy(made)


def _chromium_users_below_us(seen: set, done: threading.Event) -> None:
    """Collect the uids of the Chromium processes this test started (our descendants only)."""
    me = psutil.Process()
    while not done.is_set():
        for proc in me.children(recursive=True):
            try:
                if "chrom" in proc.name() or "chrom" in (proc.exe() or ""):
                    seen.add(proc.uids().real)
            except psutil.Error:
                continue
        time.sleep(0.05)


def test_chromium_runs_as_the_checks_account_reaches_only_the_page_and_hides_the_browsers_text(
        page_url, loopback_service, account, tmp_path):
    _, hits = loopback_service
    seen: set[int] = set()
    done = threading.Event()
    watcher = threading.Thread(target=_chromium_users_below_us, args=(seen, done), daemon=True)
    watcher.start()
    out = tmp_path / "shot.png"
    try:
        result = asyncio.run(Thumbnails().capture(page_url, out, run_as=account.run_as))
    finally:
        done.set()
        watcher.join()
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", result
    assert seen == {account.run_as.uid}, f"Chromium ran as uids {seen}, not the check's {account.run_as.uid}"
    if os.geteuid() == 0:
        assert account.run_as.uid != current_user().uid
    assert hits == [], f"the page reached a loopback service: {hits}"
    assert result["refused_requests"] >= 4, result
    assert result["page_errors"] == 1 and result["ok"] is False
    assert SECRET not in json.dumps(result) and "127.0.0.1" not in json.dumps(result), result
    assert "error(s) in the browser" in result["error"]
