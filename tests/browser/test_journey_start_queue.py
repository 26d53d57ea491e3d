"""Fair arrivals in Chromium (issue 16, item 3): on a lab that starts one server at a time, three people
sign in one after another while the first one's server is slow to start; the last one's progress page tells
her she waits and how many are ahead, and then she lands in her own JupyterLab like the others."""

from __future__ import annotations

import re

import pytest
from backstage_testing.lab import own_lab
from backstage_testing.slowstart import slow_start
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
    with own_lab("w", gallery=False, idle_timeout=0, start_limit=1) as lab:
        yield lab


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
    # a busy morning: ana's server is slow to start (frozen until cat has been told she waits; a start is ~1 s now)
    with slow_start(lab, "wana") as frozen:
        for name, page in pages.items():  # they sign in one after another
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(re.compile(rf"/hub/spawn-pending/{name}"), timeout=60_000)
        assert frozen, "ana's server process was never seen"
        cat = pages["wcat"]
        expect(cat.get_by_text(WAITING).first).to_be_visible(timeout=60_000)  # her page says she is in line
    for name, page in pages.items():
        expect(page).to_have_url(re.compile(rf"/user/{name}/lab"), timeout=180_000)
    expect(cat.get_by_role("tab", name="01-welcome.ipynb")).to_be_visible(timeout=120_000)
    assert any(WAITING.search(text) for text in told), told  # and so did every message it was sent
