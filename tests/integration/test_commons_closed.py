"""A closed lab (site setting ``commons: {public: false}``): nothing of the commons without signing in; the
front door is the sign-in form; signed-in people use it as usual."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from backstage_testing.lab import own_lab

READS = ["api/challenges", "api/challenges/{cid}", "api/ideas/{iid}", "api/reports"]
PAGES = ["", "challenges", "challenges/{cid}", "ideas/{iid}", "challenges.atom", "challenges/{cid}/feed.atom",
         "house-rules"]


@pytest.fixture(scope="module")
def closed_lab():
    with own_lab("t", gallery=False, commons={"public": False}) as lab:
        yield lab


def test_a_closed_commons_answers_nobody_anonymous_and_everyone_signed_in(closed_lab):
    lab = closed_lab
    official, participant = "clofficial", "clpart"
    lab.create_user(official, groups=("officials",))
    lab.create_user(participant, groups=("participants",))
    commons = lab.service_url("commons")
    token = {"Authorization": f"token {lab.token_for(official)}"}
    body = {"title": "Closed", "summary": "s", "datasets": [], "closes": (date.today() + timedelta(days=5)).isoformat()}
    cid = requests.post(commons + "api/challenges", json=body, headers=token, timeout=30).json()["id"]
    r = requests.post(commons + f"api/challenges/{cid}/ideas", json={"title": "i", "summary": "s"},
                      headers={"Authorization": f"token {lab.token_for(participant)}"}, timeout=30)
    iid = r.json()["id"]
    for path in READS:
        r = requests.get(commons + path.format(cid=cid, iid=iid), timeout=30)
        assert r.status_code == 403 and "sign in first" in r.json()["error"], (path, r.status_code, r.text[:200])
    for path in PAGES:
        r = requests.get(commons + path.format(cid=cid, iid=iid), timeout=30, allow_redirects=False)
        assert r.status_code == 302 and "sign-in?next=" in r.headers["Location"], (path, r.status_code)
        r = requests.get(commons + path.format(cid=cid, iid=iid), timeout=30)
        assert "/hub/login" in r.url and "Closed" not in r.text, (path, r.url)
    r = requests.post(commons + f"api/ideas/{iid}/vote", timeout=30)
    assert r.status_code == 403
    front = requests.get(lab.url + "/", timeout=30)
    assert "/hub/login" in front.url
    signed_in = {"Authorization": f"token {lab.token_for(participant)}"}
    for path in READS[:3]:
        assert requests.get(commons + path.format(cid=cid, iid=iid), headers=signed_in, timeout=30).status_code == 200
    assert requests.get(commons + f"challenges/{cid}", headers=signed_in, timeout=30).status_code == 200
