"""In Chromium: "Start a prototype" opens the participant's own lab (starting it through the hub's spawn page)
on a notebook that loads the challenge's data; submitted to the gallery naming the idea and approved, the
dashboard is listed on the idea's page and in the API (lineage)."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta

import pytest
import requests
from backstage_testing.browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def auth(token):
    return {"Authorization": f"token {token}"}


def test_start_a_prototype_then_its_dashboard_is_listed_on_the_idea(lab, new_context):
    suffix = uuid.uuid4().hex[:4]
    official, author, reviewer = f"pof{suffix}", f"ppa{suffix}", f"prv{suffix}"
    lab.create_user(official, groups=("officials",))
    lab.create_user(author, groups=("participants",))
    lab.create_user(reviewer, groups=("reviewers",))
    commons = lab.service_url("commons")
    body = {"title": "Deprivation and buses", "summary": "s", "datasets": ["imd-2019-lad21"],
            "closes": (date.today() + timedelta(days=10)).isoformat()}
    cid = requests.post(commons + "api/challenges", json=body, headers=auth(lab.token_for(official)), timeout=30).json()["id"]
    author_token = lab.token_for(author)
    r = requests.post(commons + f"api/challenges/{cid}/ideas", json={"title": "Bus gaps map", "summary": "s"},
                      headers=auth(author_token), timeout=30)
    idea = r.json()["id"]

    page = new_context().new_page()
    page.goto(commons + f"ideas/{idea}")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username").fill(author)
    page.get_by_label("Password").fill(lab.passwords[author])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Bus gaps map").wait_for()
    # the server is not running: the commons starts it (with the person's own token), then writes the notebook
    assert requests.get(lab.hub_api + f"/users/{author}", headers=auth(author_token), timeout=30).json()["servers"] == {}
    page.get_by_role("button", name="Start a prototype").click()
    page.get_by_role("heading", name="Your notebook is ready").wait_for(timeout=120_000)
    assert not axe_violations(page)
    page.get_by_role("link", name="Open the notebook in my lab").click()
    page.wait_for_url(lambda url: f"/user/{author}/lab/tree/prototypes/idea-{idea}.ipynb" in url, timeout=120_000)

    server = lab.user_url(author)
    r = requests.get(f"{server}/api/contents/prototypes/idea-{idea}.ipynb", headers=auth(author_token), timeout=30)
    assert r.status_code == 200, r.text
    code = "\n".join(c["source"] for c in r.json()["content"]["cells"] if c["cell_type"] == "code")
    assert "govdata.load('imd-2019-lad21')" in code
    result = lab.execute(author, code.replace("govdata.attribution()", "") + "\nprint(len(data_1))")
    assert "309" in str(result), result

    gallery = lab.service_url("gallery")
    r = requests.post(gallery + "api/submissions", headers=auth(author_token), timeout=120,
                      json={"title": "Bus gaps", "summary": "s", "path": f"prototypes/idea-{idea}.ipynb", "idea": idea})
    assert r.status_code == 201, r.text
    submission = r.json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = requests.get(gallery + f"api/submissions/{submission}", headers=auth(author_token), timeout=30).json()
        if status["status"] != "checking":
            break
        time.sleep(2)
    assert status["status"] == "awaiting-review", status
    r = requests.post(gallery + f"api/submissions/{submission}/approve", headers=auth(lab.token_for(reviewer)),
                      json={}, timeout=120)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60  # the commons caches the gallery's list for a few seconds
    while time.monotonic() < deadline:
        # as the author: a dashboard not marked public is listed to signed-in people only
        ideas = requests.get(commons + f"api/challenges/{cid}", headers=auth(author_token), timeout=30).json()["ideas"]
        if ideas[0]["prototypes"]:
            break
        time.sleep(2)
    assert len(ideas[0]["prototypes"]) == 1 and ideas[0]["prototypes"][0].endswith("dashboards/bus-gaps")
    page.goto(commons + f"ideas/{idea}")
    assert page.get_by_role("link", name="Bus gaps").is_visible()
    # and the gallery's card names the idea and its challenge, linking back to the commons: she goes there by the
    # site's navigation, which signs her in to the gallery on the way (the dashboard is for signed-in people only)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Gallery").click()
    page.wait_for_url(lambda url: url.startswith(gallery) and "sign-in" not in url and "oauth" not in url)
    page.get_by_role("heading", name="Dashboards made with UK open data").wait_for()
    assert page.get_by_role("link", name="The idea “Bus gaps map”").is_visible()
    assert page.get_by_role("link", name="Deprivation and buses").is_visible()
