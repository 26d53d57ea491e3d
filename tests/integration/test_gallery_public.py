"""Public dashboards (issue 14 item 3), in Chromium on the real lab, through the pages only.

A reviewer approves one dashboard for anyone and another for signed-in people only (the default); an anonymous
browser finds the public one on the gallery and opens it, and gets a 404 page offering to sign in for the other
(the same page as for a dashboard that does not exist); the reviewer later makes the public one signed-in only,
the submission page says who did it and when, and the anonymous browser no longer reaches it.
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from backstage_testing import contexts
from backstage_testing.dashboards import wait_rendered
from backstage_testing.journeys import (
    dashboard_notebook,
    nav,
    open_gallery_signed_in,
    people,
    row_of,
    submit_by_api,
    wait_checked,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(900)]

ANYONE = "Anyone, including people who are not signed in"
SIGNED_IN = "Signed-in people only"


@pytest.fixture(scope="module")
def chromium():
    with contexts.chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def checked(lab):
    """Two checked submissions of one participant, waiting for review."""
    team = people(lab, author="participants", reviewer="reviewers")
    suffix = team["author"]["name"][-4:]
    titles = {"open": f"Open squares {suffix}", "closed": f"Closed squares {suffix}"}
    ids = {k: submit_by_api(lab, team["author"]["token"], t, dashboard_notebook()) for k, t in titles.items()}
    for submission_id in ids.values():
        assert wait_checked(lab, team["author"]["token"], submission_id)["status"] == "awaiting-review"
    return {"people": team, "titles": titles, "ids": ids}


def approve_on_page(page, title: str, audience: str | None) -> None:
    """From the review queue: open the submission, pick who can see it (or keep the default), approve."""
    nav(page, "Review queue")
    row_of(page, title).get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()
    approve = page.locator("form", has=page.get_by_role("button", name="Approve and publish"))
    assert approve.get_by_label(SIGNED_IN).is_checked()  # the default: not public
    if audience:
        approve.get_by_label(audience).check()
    page.get_by_role("button", name="Approve and publish").click()
    page.get_by_role("link", name="Open the dashboard").wait_for()


def who_can_see(page) -> str:
    return page.locator("#audience-now dd").inner_text()


def test_a_public_dashboard_opens_for_anyone_and_a_reviewer_can_close_it_again(lab, checked, chromium):
    reviewer = checked["people"]["reviewer"]
    titles = checked["titles"]
    page = contexts.person_page(chromium)
    open_gallery_signed_in(page, lab, reviewer)
    approve_on_page(page, titles["closed"], None)
    assert who_can_see(page).startswith(SIGNED_IN) and f"set by {reviewer['name']}" in who_can_see(page)
    closed_url = page.get_by_role("link", name="Open the dashboard").get_attribute("href")
    approve_on_page(page, titles["open"], ANYONE)
    assert who_can_see(page).startswith(ANYONE) and f"set by {reviewer['name']}" in who_can_see(page)
    open_submission = page.url
    open_slug = page.get_by_role("link", name="Open the dashboard").get_attribute("href").rstrip("/").rsplit("/", 1)[1]
    wait_rendered(lab, open_slug)  # rendered once, in the background: what every viewer is served

    # someone who is not signed in: the gallery lists the public one only, and says sign in to see more
    anonymous = contexts.person_page(chromium)
    anonymous.goto(lab.service_url("gallery"))
    anonymous.get_by_role("heading", name="Dashboards made with UK open data").wait_for()
    assert "Sign in to see more" in anonymous.locator("#public-only").inner_text()
    assert anonymous.get_by_role("link", name=titles["closed"], exact=True).count() == 0
    anonymous.get_by_role("link", name=titles["open"], exact=True).click()
    anonymous.wait_for_url(re.compile(r"/dashboards/"))
    anonymous.get_by_role("heading", name=titles["open"]).wait_for()  # the dashboard's header bar
    anonymous.locator("h1", has_text="Squares").last.wait_for()  # the dashboard's own output, rendered
    open_url = anonymous.url

    # the signed-in-only one: a 404 page offering to sign in, like an address where there is no dashboard
    for url in (urljoin_gallery(lab, closed_url), urljoin_gallery(lab, "dashboards/no-such-dashboard")):
        response = anonymous.goto(url)
        assert response.status == 404, url
        assert anonymous.get_by_role("link", name="Sign in").count() >= 1
        assert titles["closed"] not in anonymous.content()

    # the reviewer changes their mind: signed-in people only; recorded, shown, and the anonymous visitor is out
    page.goto(open_submission)
    change = page.locator("#change-audience")
    assert change.get_by_label(ANYONE).is_checked()
    change.get_by_label(SIGNED_IN).check()
    page.get_by_role("button", name="Save who can see it").click()
    page.locator("#audience-now").wait_for()
    assert who_can_see(page).startswith(SIGNED_IN) and f"set by {reviewer['name']}" in who_can_see(page)
    page.locator("#audience-history summary").click()
    history = page.locator("#audience-history li").all_inner_texts()
    assert len(history) == 2 and ANYONE in history[0] and SIGNED_IN in history[1], history
    assert anonymous.goto(open_url).status == 404
    anonymous.goto(lab.service_url("gallery"))
    assert anonymous.get_by_role("link", name=titles["open"], exact=True).count() == 0

    # the author (signed in) still opens both, and reads who can see it on their submission page
    author = contexts.person_page(chromium)
    open_gallery_signed_in(author, lab, checked["people"]["author"])
    for title in titles.values():
        assert author.get_by_role("link", name=title, exact=True).count() == 1
    nav(author, "My submissions")
    row_of(author, titles["open"]).get_by_role("link", name=titles["open"]).click()
    assert who_can_see(author).startswith(SIGNED_IN)
    assert author.locator("#change-audience").count() == 0  # only reviewers change it


def urljoin_gallery(lab, href: str) -> str:
    from urllib.parse import urljoin

    return urljoin(lab.service_url("gallery"), href)


def test_the_api_lists_public_dashboards_to_anyone_and_refuses_a_bad_public_flag(lab, checked):
    team = checked["people"]
    gallery = lab.service_url("gallery")
    as_author = {"Authorization": f"token {team['author']['token']}"}
    extra_title = f"Flag {team['author']['name'][-4:]}"
    extra = submit_by_api(lab, team["author"]["token"], extra_title, dashboard_notebook())
    assert wait_checked(lab, team["author"]["token"], extra)["status"] == "awaiting-review"
    # a bad flag is refused with the reason, and changes nothing
    r = requests.post(f"{gallery}api/submissions/{extra}/approve", json={"public": "yes"},
                      headers={"Authorization": f"token {team['reviewer']['token']}"}, timeout=60)
    assert r.status_code == 400 and "'public' must be true" in r.json()["error"], r.text
    item = requests.get(f"{gallery}api/submissions/{extra}", headers=as_author, timeout=30).json()
    assert item["status"] == "awaiting-review" and item["public"] is False
    r = requests.post(f"{gallery}api/submissions/{extra}/approve", json={"public": True},
                      headers={"Authorization": f"token {team['reviewer']['token']}"}, timeout=60)
    assert r.status_code == 200, r.text
    slug = r.json()["slug"]
    # anyone: the public ones only; signed in: all, each saying whether it is public
    anonymous = requests.get(f"{gallery}api/dashboards", timeout=30)
    assert anonymous.status_code == 200, anonymous.text
    listed = {d["slug"]: d for d in anonymous.json()["dashboards"]}
    assert slug in listed and all(d["public"] for d in listed.values())
    assert not {checked["titles"]["closed"]} & {d["title"] for d in listed.values()}
    signed_in = requests.get(f"{gallery}api/dashboards", headers=as_author, timeout=30).json()["dashboards"]
    assert {d["title"] for d in signed_in} >= set(checked["titles"].values())
    assert {d["slug"]: d["public"] for d in signed_in}[slug] is True
    # its card's thumbnail too; a signed-in-only dashboard's thumbnail asks to sign in, and says nothing else
    r = requests.get(f"{gallery}submissions/{extra}/thumbnail.png", timeout=30, allow_redirects=False)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.status_code
    r = requests.get(f"{gallery}submissions/{checked['ids']['closed']}/thumbnail.png", timeout=30, allow_redirects=False)
    assert r.status_code == 302 and "oauth2/authorize" in r.headers["Location"], r.status_code
    # the commons reads this list with its own token: to anonymous visitors it names the public ones only
    commons, deadline = lab.service_url("commons"), time.monotonic() + 90  # it caches the list for a few seconds
    while extra_title not in (home := requests.get(commons, timeout=30).text) and time.monotonic() < deadline:
        time.sleep(2)
    assert extra_title in home and checked["titles"]["closed"] not in home
    # a token the gallery refuses still hears why (contract 4 unchanged)
    r = requests.get(f"{gallery}api/dashboards", headers={"Authorization": "token not-a-token"}, timeout=30)
    assert r.status_code == 403
