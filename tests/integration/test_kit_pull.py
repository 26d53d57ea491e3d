"""The hand-out's nbgitpuller link, opened in Chromium against the real lab, pulls the kit into a participant's home."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import time
import zipfile
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
import requests
from backstage.chromium import CHROMIUM_ARGS
from backstage.kits import KitLinks, build_handout, find_kit
from backstage_testing.lab import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]

def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=Organiser", "-c", "user.email=org@example.org", *args], cwd=cwd,
                   check=True, capture_output=True, timeout=60)


@contextmanager
def git_daemon(base):
    """Serve every repository under ``base`` read-only over git:// on a free local port."""
    port = free_port()
    proc = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
                             f"--port={port}", "--reuseaddr", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("git daemon did not start listening")
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_nbgitpuller_link_pulls_the_kit_into_a_participants_home(lab, repo, tmp_path):
    from playwright.sync_api import sync_playwright

    # the organiser's kit, from the built zip, committed to a local git repository served over git://
    kit = find_kit("clean-air", repo)
    handout = build_handout(kit, lab.url, tmp_path / "handout", links=KitLinks(repo=""), pdf=False)
    served = tmp_path / "served"
    with zipfile.ZipFile(handout.zip) as zf:
        zf.extractall(served)
    git("init", "-q", "-b", "main", cwd=served / "clean-air")
    git("add", ".", cwd=served / "clean-air")
    git("commit", "-q", "-m", "the clean-air kit", cwd=served / "clean-air")

    name = f"pull{secrets.token_hex(3)}"
    session = lab.create_user(name, groups=("participants",))
    lab.spawn(session)
    token = lab.token_for(name)

    with git_daemon(served) as git_base:
        link = KitLinks(repo=f"{git_base}/clean-air", branch="main").nbgitpuller(lab.url, kit.notebooks[0])
        assert link.startswith(f"{lab.url}/hub/user-redirect/git-pull?")
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path="/usr/bin/chromium",
                                                           args=CHROMIUM_ARGS, headless=True)
            try:
                context.add_cookies([{"name": c.name, "value": c.value, "domain": urlparse(lab.url).hostname,
                                      "path": c.path}
                                     for c in session.cookies])
                page = context.new_page()
                page.goto(link)
                page.wait_for_url(re.compile(rf"/user/{name}/lab/tree/clean-air/notebooks/01-welcome\.ipynb"),
                                  timeout=120_000)
            finally:
                context.close()

    # the kit is now in the participant's home: the same files, byte for byte
    base = f"{lab.user_url(name)}/api/contents/clean-air"
    headers = {"Authorization": f"token {token}"}
    listing = requests.get(f"{base}/notebooks", headers=headers, timeout=30)
    assert listing.status_code == 200, listing.text
    assert sorted(item["name"] for item in listing.json()["content"]) == sorted(nb.rsplit("/", 1)[1] for nb in kit.notebooks)
    brief = requests.get(f"{base}/brief.md", headers=headers, params={"content": 1}, timeout=30).json()
    assert brief["content"] == kit.brief_path.read_text()
    pulled = requests.get(f"{base}/{kit.notebooks[0]}", headers=headers, params={"content": 1}, timeout=30).json()
    assert pulled["content"]["metadata"]["title"] == "Welcome to Government Backstage"
