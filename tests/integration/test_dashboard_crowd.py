"""A crowd opens a published dashboard on a real lab (issue 14): rendered pages for every viewer and no kernel for
any of them; live kernels only for those who move a control, two per dashboard here, the rest in a FIFO line that
moves when a live page closes. The client is the crowd benchmark's (``backstage_testing.crowd``); the Chromium side
of going live is ``tests/browser/test_dashboard_live_browser.py``."""

from __future__ import annotations

import time
from urllib.parse import urljoin

import pytest
import requests
from backstage_testing.crowd import plan, read_page, run_crowd
from backstage_testing.dashboards import (
    GalleryWatch,
    gallery_lab,
    publish_dashboard,
    settled_kernel_ids,
    voila_kernel_ids,
)
from backstage_testing.journeys import dashboard_notebook, people

pytestmark = pytest.mark.integration

CAPS = {"live_per_dashboard": 2, "live_total": 4, "live_idle_timeout": 600}
VIEWERS = 30


@pytest.fixture(scope="module")
def crowd_lab():
    """A lab of its own whose gallery takes two live kernels per dashboard."""
    with gallery_lab({"Dashboards": CAPS}) as lab:
        yield lab


@pytest.fixture(scope="module")
def dashboard(crowd_lab):
    """The slider dashboard, published by a participant and approved by a reviewer, once rendered."""
    who = people(crowd_lab, author="participants", reviewer="reviewers", official="officials", reader="participants")
    url = publish_dashboard(crowd_lab, dashboard_notebook(), who["author"]["token"], who["reviewer"]["token"],
                            title="Squares for a crowd", summary="A slider and its square")
    tokens = {"official": who["official"]["token"], "participant": who["reader"]["token"]}
    deadline = time.monotonic() + 180
    while True:  # rendered after the approval: until then viewers get the kernel-per-view fallback
        page = open_page(url, tokens["official"])
        if page.mode == "rendered" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert page.mode == "rendered", "the dashboard was not rendered within 180 s of its approval"
    return {"url": url, "tokens": tokens}


def open_page(url: str, token: str):
    r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=120)
    assert r.status_code == 200, f"{r.status_code}: {r.text[:300]}"
    return read_page(r.text, r.url)


def ask_live(page, queue_id: str | None = None) -> requests.Response:
    """What the page does on the viewer's first change: POST its ticket (no cookies, opaque origin)."""
    body = {"ticket": page.config["live"]["ticket"], **({"queue_id": queue_id} if queue_id else {})}
    return requests.post(urljoin(page.url, page.config["live"]["url"]), json=body,
                         headers={"Origin": "null"}, timeout=120)


def close_page(page, kernel_id: str) -> None:
    """The page's unload beacon."""
    r = requests.post(page.api(f"voila/api/shutdown/{kernel_id}"), headers={"Origin": "null"}, timeout=60)
    assert r.status_code in (200, 204), f"{r.status_code}: {r.text[:300]}"


def test_thirty_viewers_get_the_rendered_page_and_no_kernel_starts_for_them(crowd_lab, dashboard):
    before = settled_kernel_ids(crowd_lab.lab_id)
    viewers = plan(VIEWERS, over=10, kinds=("official", "participant"), seed=30)
    with GalleryWatch(crowd_lab.lab_id, interval=0.2) as watch:
        result = run_crowd("crowd", dashboard["url"], dashboard["tokens"], viewers, page_timeout=120)
    assert result.failures == []
    assert watch.kernels_seen - before == set(), "a kernel was started while the crowd only read the dashboard"
    assert len(voila_kernel_ids(crowd_lab.lab_id)) <= len(before)
    assert [v.mode for v in result.views] == ["rendered"] * VIEWERS
    assert all(v.assets >= 3 for v in result.views), "each viewer fetched the page's scripts and styles"


def test_two_viewers_go_live_two_wait_in_line_and_the_first_in_line_goes_live_when_a_page_closes(dashboard):
    pages = [open_page(dashboard["url"], dashboard["tokens"][kind])
             for kind in ("official", "participant", "official", "participant")]
    kernels = []
    try:
        answers = [ask_live(page) for page in pages]
        assert [a.status_code for a in answers] == [200, 200, 202, 202], [a.text[:200] for a in answers]
        kernels = [a.json()["kernelId"] for a in answers[:2]]
        assert len(set(kernels)) == 2 and all(a.json()["views"] for a in answers[:2])
        assert [a.json()["position"] for a in answers[2:]] == [1, 2]
        third, fourth = (a.json()["queue_id"] for a in answers[2:])

        close_page(pages[0], kernels.pop(0))
        deadline = time.monotonic() + 120
        while True:  # both keep polling as their pages do (a line entry not polled for 15 s is dropped)
            waiting = ask_live(pages[3], fourth)
            assert waiting.status_code == 202, f"the second in line went live before the first: {waiting.text}"
            first = ask_live(pages[2], third)
            if first.status_code != 202 or time.monotonic() > deadline:
                break
            time.sleep(first.json()["retry_after"])
        assert first.status_code == 200, f"the first in line did not get the freed place: {first.text[:300]}"
        kernels.append(first.json()["kernelId"])
        assert kernels[-1] not in kernels[:-1] and first.json()["views"]
        again = ask_live(pages[3], fourth)
        assert again.status_code == 202 and again.json()["position"] == 1, again.text
    finally:  # the other live pages close too (a kernel already gone answers an error: nothing to do)
        for kernel_id in kernels:
            requests.post(pages[0].api(f"voila/api/shutdown/{kernel_id}"), headers={"Origin": "null"}, timeout=60)


def test_live_viewers_move_the_slider_and_its_output_follows(dashboard):
    viewers = plan(2, over=0, kinds=("official", "participant"), live_share=1.0, seed=2)
    result = run_crowd("live", dashboard["url"], dashboard["tokens"], viewers, page_timeout=120, live_timeout=180,
                       hold=1)
    assert result.failures == []
    lives = [v.live for v in result.views]
    assert [x.outcome for x in lives] == ["live", "live"] and all(x.echo_seconds is not None for x in lives)
