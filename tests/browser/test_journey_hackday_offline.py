"""Hack day offline, in Chromium, through the pages only (issue 10).

The organiser builds the kit's hand-out with the real command; an attendee opens the built HTML brief, follows
its "In the lab" link with every request to anything but the lab refused (no internet in the room), signs in on
the form, and lands in JupyterLab with the kit's first notebook open and the kit's notebooks beside it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from backstage.kits import find_kit
from backstage_testing.browser import fill_sign_in_form

# a busy machine: the first spawn and loading the data can each take minutes (they poll to their own deadlines)
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(900)]

BACKSTAGE = Path(sys.executable).with_name("backstage")
KIT = "clean-air"


def _the_lab(lab):
    """Whether a URL is the lab: its own host and port, or a person's or service's origin under it."""
    hub = urlsplit(lab.url)

    def is_lab(url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "blob", "about"):
            return True  # the brief on the organiser's USB stick, and what pages build in memory
        host = parts.hostname or ""
        return parts.port == hub.port and (host == hub.hostname or host.endswith("." + hub.hostname))

    return is_lab


def test_an_attendee_opens_the_kits_lab_link_from_the_brief_with_no_internet(lab, repo, new_context, tmp_path):
    # the organiser, the evening before: the real command, exactly as the README gives it
    out = tmp_path / "handout"
    built = subprocess.run([str(BACKSTAGE), "kit", "build", KIT, "--hub", lab.url, "--out", str(out), "--no-pdf"],
                           capture_output=True, text=True, timeout=300, env={**os.environ, "BACKSTAGE_KIT_REPO": ""})
    assert built.returncode == 0, built.stderr
    kit = find_kit(KIT, repo)
    session = lab.create_user(f"atte{secrets.token_hex(2)}", groups=("participants",))
    attendee = {"name": session.username, "password": session.password}

    # the attendee, in a room with no internet: anything but the lab is refused
    context = new_context()
    is_lab, refused = _the_lab(lab), []
    context.route(lambda url: not is_lab(url), lambda route: (refused.append(route.request.url), route.abort()))
    page = context.pages[0]
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    page.goto((out / f"{KIT}-brief.html").as_uri())
    page.get_by_role("heading", name=kit.title, level=1).wait_for()
    links = page.locator(".links .link").filter(has_text="In the lab")
    links.get_by_role("link").click()

    fill_sign_in_form(page, attendee["name"], attendee["password"])
    launch = page.get_by_role("button", name=re.compile("Launch Server|Start My Server", re.I))
    notebook_tab = page.get_by_role("tab", name=re.compile(r"01-welcome\.ipynb"))
    # a server not yet running may offer "Launch Server" first, as the hub does for any link into a lab
    page.wait_for_function("() => document.querySelector('.jp-LabShell') || "
                           "[...document.querySelectorAll('a,button')].some(e => /launch server/i.test(e.textContent))",
                           timeout=180_000)
    if launch.count():
        launch.first.click()
    page.wait_for_url(re.compile(rf"/user/{attendee['name']}/lab/tree/notebooks/01-welcome\.ipynb"), timeout=180_000)

    # the kit's first notebook is open, read from the copy in the attendee's home
    notebook_tab.wait_for(timeout=120_000)
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.get_by_role("heading", name="Welcome to Government Backstage").wait_for(timeout=60_000)
    # and the file browser shows the folder holding the kit's notebooks
    listing = page.locator(".jp-DirListing-content")
    for notebook in kit.notebooks:
        listing.get_by_text(Path(notebook).name, exact=True).wait_for(timeout=30_000)
    assert not [url for url in requested if "git-pull" in url], "nothing was pulled from a repository"
    # nothing the journey needed was outside: every refused request was to the internet, never the lab
    assert all(not is_lab(url) for url in refused)
    assert not [url for url in refused if "github.com" in url or "git-pull" in url], refused
