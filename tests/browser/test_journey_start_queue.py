"""Fair arrivals in Chromium (issue 16, item 3): on a lab that starts one server at a time, three people
sign in one after another; the last one's progress page tells her she waits and how many are ahead, and
then she lands in her own JupyterLab like the others."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from backstage_testing.lab import delete_unix_users, running_lab
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PEOPLE = ("wana", "wben", "wcat")
RECORD_PROGRESS = """(() => {
  const Original = window.EventSource;
  if (!Original) { return; }
  window.EventSource = function (url, options) {
    const source = new Original(url, options);
    source.addEventListener('message', (event) => { window.backstageTold(event.data); });
    return source;
  };
  window.EventSource.prototype = Original.prototype;
})();"""
WAITING = re.compile(r"In the queue: \d+ (person|people) ahead of you|Waiting for a free place")


@pytest.fixture
def lab():
    state = Path(tempfile.mkdtemp(prefix="backstage-queue-browser-"))
    prefix = f"w{secrets.token_hex(2)}-"
    try:
        with running_lab(state, user_prefix=prefix, gallery=False, idle_timeout=0, start_limit=1) as lab:
            yield lab
    finally:
        delete_unix_users(prefix)
        shutil.rmtree(state, ignore_errors=True)


def test_the_last_to_arrive_is_told_she_waits_then_gets_her_lab(lab, new_context):
    passwords = {}
    for name in PEOPLE:
        lab.create_user(name, groups=("participants",))
        passwords[name] = lab.passwords[name]
    pages, told = {}, []
    for name in PEOPLE:  # one browser each, the form filled in
        page = new_context().new_page()
        page.goto(f"{lab.url}/hub/login")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(passwords[name])
        if name == "wcat":  # every message her progress page is told (a start can be quicker than a look at it)
            page.expose_function("backstageTold", lambda text: told.append(text))
            page.add_init_script(RECORD_PROGRESS)
        pages[name] = page
    for page in pages.values():  # the room signs in at once (one start takes ~1 s now: one by one, none would wait)
        page.get_by_role("button", name="Sign in").click(no_wait_after=True)

    cat = pages["wcat"]
    expect(cat).to_have_url(re.compile(r"/hub/spawn-pending/wcat"), timeout=60_000)
    for name, page in pages.items():
        expect(page).to_have_url(re.compile(rf"/user/{name}/lab"), timeout=180_000)
    expect(cat.get_by_role("tab", name="01-welcome.ipynb")).to_be_visible(timeout=120_000)
    assert any(WAITING.search(text) for text in told), told  # her page said she was waiting in line
