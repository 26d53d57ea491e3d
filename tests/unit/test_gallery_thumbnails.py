"""Thumbnails: Chromium renders untrusted output, so it never runs as root."""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import pwd
import threading
import time

import psutil
import pytest
from backstage.gallery.thumbnails import Thumbnails

PAGE = b"<!doctype html><title>t</title><h1 style='color:#1d70b8'>Thumbnail</h1>"


@pytest.fixture
def page_url(tmp_path):
    (tmp_path / "index.html").write_bytes(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def test_chromium_runs_as_the_unprivileged_user_and_the_screenshot_is_taken(page_url, tmp_path):
    seen: set[str] = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            for proc in psutil.process_iter(["username", "exe", "cmdline"]):
                try:
                    if "chromium" in (proc.info["exe"] or "") or "--user-data-dir" in " ".join(proc.info["cmdline"] or []):
                        seen.add(proc.info["username"])
                except psutil.Error:
                    continue
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = tmp_path / "shot.png"
    try:
        result = asyncio.run(Thumbnails().capture(page_url, out))
    finally:
        done.set()
        watcher.join()
    assert result["ok"], result
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    expected = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert seen == {expected}, f"Chromium ran as {seen}"
