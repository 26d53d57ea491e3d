"""The commons over its JSON API on a real lab (hub, proxy, commons service): contract 7, access, hostile input,
and a kill -9 that loses nothing acknowledged."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlparse

import psutil
import pytest
import requests

FUTURE = (date.today() + timedelta(days=60)).isoformat()


def auth(token):
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def people(lab):
    suffix = uuid.uuid4().hex[:4]
    groups = {"participant": ("participants",), "other": ("participants",), "organiser": ("organisers",),
              "reviewer": ("reviewers",), "official": ("officials",)}
    out = {}
    for role, group in groups.items():
        name = f"c{role[:3]}{suffix}"
        lab.create_user(name, groups=group)
        out[role] = {"name": name, "token": lab.token_for(name)}
    out["admin"] = {"name": "admin", "token": lab.admin_token}
    return out


def call(lab, method, path, who=None, **kwargs):
    headers = auth(who["token"]) if who else {}
    return requests.request(method, lab.service_url("commons") + path, headers=headers, timeout=60, **kwargs)


def new_challenge(lab, people, **extra):
    body = {"title": "Cleaner air near schools", "summary": "Where is the air **worst**?",
            "datasets": ["imd-2019-lad21"], "closes": FUTURE, "votes_per_person": 10, **extra}
    r = call(lab, "POST", "api/challenges", people["official"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def new_idea(lab, people, challenge_id, who="participant", title="Map of school streets"):
    r = call(lab, "POST", f"api/challenges/{challenge_id}/ideas", people[who], json={"title": title, "summary": "s"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_flow_over_the_api_post_read_propose_vote_answer_and_the_feed(lab, people):
    created = new_challenge(lab, people)
    assert created["url"].endswith(f"challenges/{created['id']}")
    cid = created["id"]
    r = call(lab, "GET", f"api/challenges/{cid}")  # anonymous
    assert r.status_code == 200 and r.json()["title"] == "Cleaner air near schools" and r.json()["ideas"] == []
    good = new_idea(lab, people, cid)
    other = new_idea(lab, people, cid, who="other", title="Air sensors on buses")
    r = call(lab, "POST", f"api/ideas/{good}/vote", people["participant"])
    assert r.status_code == 200 and r.json() == {"votes": 1, "votes_left": 9}
    r = call(lab, "POST", f"api/ideas/{good}/vote", people["participant"])
    assert r.json() == {"votes": 1, "votes_left": 9}
    r = call(lab, "POST", f"api/ideas/{other}/status", people["official"], json={"status": "declined"})
    assert r.status_code == 400 and "reason" in r.json()["error"]
    r = call(lab, "POST", f"api/ideas/{other}/status", people["participant"],
             json={"status": "declined", "reason": "mine"})
    assert r.status_code == 403
    r = call(lab, "POST", f"api/ideas/{other}/status", people["official"],
             json={"status": "declined", "reason": "Buses already carry sensors"})
    assert r.status_code == 200 and r.json()["responder"] == people["official"]["name"]
    r = call(lab, "POST", f"api/ideas/{good}/status", people["official"], json={"status": "adopted", "reason": "Funded"})
    assert r.status_code == 200
    view = call(lab, "GET", f"api/challenges/{cid}").json()
    ideas = {i["id"]: i for i in view["ideas"]}
    assert (ideas[good]["status"], ideas[good]["votes"], ideas[good]["reason"]) == ("adopted", 1, "Funded")
    assert ideas[other]["status"] == "declined" and ideas[good]["prototypes"] == []
    feed = call(lab, "GET", f"challenges/{cid}/feed.atom")
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("application/atom+xml")
    assert "Declined: Air sensors on buses" in feed.text and "Adopted: Map of school streets" in feed.text
    assert "Cleaner air near schools" in call(lab, "GET", "challenges.atom").text
    r = call(lab, "DELETE", f"api/ideas/{good}/vote", people["participant"])
    assert r.json() == {"votes": 0, "votes_left": 10}


ENDPOINTS = [  # (method, path template, body), with who may do it
    ("GET", "api/challenges", None),
    ("GET", "api/challenges/{cid}", None),
    ("GET", "api/ideas/{iid}", None),
    ("GET", "", None),
    ("GET", "challenges/{cid}", None),
    ("GET", "ideas/{iid}", None),
    ("GET", "challenges.atom", None),
    ("POST", "api/challenges", {"title": "t", "summary": "s", "datasets": [], "closes": FUTURE}),
    ("POST", "api/challenges/{cid}/ideas", {"title": "t", "summary": "s"}),
    ("POST", "api/ideas/{iid}/vote", None),
    ("POST", "api/ideas/{iid}/status", {"status": "shortlisted", "reason": ""}),
    ("POST", "api/ideas/{iid}/report", {"reason": "spam"}),
    ("GET", "api/reports", None),
]
ALLOWED = {  # who gets a 2xx, by endpoint index; everyone else a 403
    "anonymous": {0, 1, 2, 3, 4, 5, 6},
    "participant": {0, 1, 2, 3, 4, 5, 6, 8, 9, 11},
    "reviewer": {0, 1, 2, 3, 4, 5, 6, 8, 9, 11},
    "organiser": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12},
    "official": set(range(12)),  # the challenge's owner
    "admin": set(range(13)),
}


@pytest.mark.parametrize("who", list(ALLOWED))
def test_access_table_while_the_commons_is_public(lab, people, who):
    cid = new_challenge(lab, people)["id"]
    iid = new_idea(lab, people, cid)
    for index, (method, path, body) in enumerate(ENDPOINTS):
        r = call(lab, method, path.format(cid=cid, iid=iid), None if who == "anonymous" else people[who], json=body)
        expected = "ok" if index in ALLOWED[who] else 403
        got = "ok" if r.status_code in (200, 201) else r.status_code
        assert got == expected, f"{who} {method} {path}: {r.status_code} {r.text[:200]}"


HOSTILE = [
    ({"title": "x" * (1 << 20), "summary": "s", "datasets": [], "closes": FUTURE}, 400, "shorten it to 200"),
    ({"title": "t", "summary": "s", "datasets": ["imd-2019-lad", "nope"], "closes": FUTURE}, 400, "'imd-2019-lad'"),
    ({"title": "t", "summary": "s", "datasets": "imd-2019-lad21", "closes": FUTURE}, 400, "list of govdata"),
    ({"title": "t", "summary": "s", "datasets": [], "closes": "next week"}, 400, "YYYY-MM-DD"),
    ({"title": "t", "summary": "s", "datasets": [], "closes": "2001-01-01"}, 400, "in the past"),
    ({"title": "t", "summary": "s", "datasets": [], "closes": FUTURE, "votes_per_person": 0}, 400, "1 to 100"),
    ({"title": "", "summary": "s", "datasets": [], "closes": FUTURE}, 400, '"title" is empty'),
    ({"title": "t", "summary": "s", "datasets": [], "closes": FUTURE, "kit": "clean-aer"}, 400, "Did you mean 'clean-air'"),
]


@pytest.mark.parametrize("body,code,message", HOSTILE)
def test_hostile_challenges_are_refused_with_the_cause_and_nothing_is_stored(lab, people, body, code, message):
    before = len(call(lab, "GET", "api/challenges").json()["challenges"])
    r = call(lab, "POST", "api/challenges", people["official"], json=body)
    assert r.status_code == code and message in r.json()["error"], r.text[:300]
    assert len(call(lab, "GET", "api/challenges").json()["challenges"]) == before


def test_a_one_megabyte_idea_title_is_refused_and_nothing_is_stored(lab, people):
    cid = new_challenge(lab, people)["id"]
    r = call(lab, "POST", f"api/challenges/{cid}/ideas", people["participant"], json={"title": "x" * (1 << 20), "summary": "s"})
    assert r.status_code == 400 and "shorten it to 200" in r.json()["error"]
    assert call(lab, "GET", f"api/challenges/{cid}").json()["ideas"] == []


def test_a_closed_challenge_refuses_ideas_and_votes_with_409(lab, people):
    cid = new_challenge(lab, people)["id"]
    iid = new_idea(lab, people, cid)
    r = call(lab, "POST", f"api/challenges/{cid}/status", people["official"], json={"status": "closed"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = call(lab, "POST", f"api/challenges/{cid}/ideas", people["participant"], json={"title": "late", "summary": "s"})
    assert r.status_code == 409 and "closed" in r.json()["error"]
    assert call(lab, "POST", f"api/ideas/{iid}/vote", people["participant"]).status_code == 409


def test_twenty_parallel_votes_of_one_person_against_a_cap_of_three_count_three(lab, people):
    cid = new_challenge(lab, people, votes_per_person=3)["id"]
    ideas = [new_idea(lab, people, cid, title=f"idea {i}") for i in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda i: call(lab, "POST", f"api/ideas/{i}/vote", people["other"]).status_code, ideas))
    assert sorted(codes) == [200] * 3 + [409] * 17
    votes = call(lab, "GET", f"api/challenges/{cid}").json()["ideas"]
    assert sum(i["votes"] for i in votes) == 3
    r = call(lab, "POST", f"api/ideas/{next(i for i in ideas if codes[ideas.index(i)] == 409)}/vote", people["other"])
    assert r.status_code == 409 and "withdraw one" in r.json()["error"]


def test_a_hidden_idea_takes_no_votes_and_disappears_for_others_but_not_its_author(lab, people):
    cid = new_challenge(lab, people)["id"]
    iid = new_idea(lab, people, cid)
    assert call(lab, "POST", f"api/ideas/{iid}/report", people["other"], json={"reason": "advert"}).status_code == 201
    assert call(lab, "POST", f"api/ideas/{iid}/hide", people["participant"], json={"reason": "x"}).status_code == 403
    r = call(lab, "POST", f"api/ideas/{iid}/hide", people["organiser"], json={"reason": "Advertising"})
    assert r.status_code == 200
    assert call(lab, "POST", f"api/ideas/{iid}/vote", people["other"]).status_code == 404
    assert call(lab, "GET", f"api/ideas/{iid}").status_code == 404
    assert call(lab, "GET", f"api/challenges/{cid}").json()["ideas"] == []
    mine = call(lab, "GET", f"api/ideas/{iid}", people["participant"])
    assert mine.status_code == 200 and mine.json()["hidden"] is True
    assert call(lab, "POST", f"api/ideas/{iid}/vote", people["participant"]).status_code == 409
    page = call(lab, "GET", f"ideas/{iid}", people["participant"])
    assert "Hidden by the moderators: Advertising" in page.text


def commons_session(lab, name):
    """A browser-like session: signed in at the hub, then at the commons through hub OAuth."""
    session = lab.login(name, lab.passwords[name])
    r = session.get(lab.service_url("commons") + "sign-in", timeout=60)
    assert r.status_code == 200 and "Show us a better way" in r.text, r.text[:300]
    return session


def commons_xsrf(session, lab):
    path = urlparse(lab.service_url("commons")).path.rstrip("/")
    return next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(path))


def test_a_cookie_post_without_xsrf_is_refused_and_with_it_accepted(lab, people):
    cid = new_challenge(lab, people)["id"]
    session = commons_session(lab, people["participant"]["name"])
    url = lab.service_url("commons") + f"api/challenges/{cid}/ideas"
    r = session.post(url, json={"title": "via cookie", "summary": "s"}, timeout=60)
    assert r.status_code == 403 and "XSRF" in r.json()["error"]
    r = session.post(lab.service_url("commons") + f"challenges/{cid}", data={"title": "form", "summary": "s"}, timeout=60)
    assert r.status_code == 403
    assert call(lab, "GET", f"api/challenges/{cid}").json()["ideas"] == []
    r = session.post(url, json={"title": "via cookie", "summary": "s"}, headers={"X-XSRFToken": commons_xsrf(session, lab)},
                     timeout=60)
    assert r.status_code == 201, r.text


def test_markdown_in_a_challenge_is_rendered_inert_on_its_page(lab, people):
    cid = new_challenge(lab, people, summary="<script>alert(1)</script>\n\n[x](javascript:alert(1)) **ok**")["id"]
    page = call(lab, "GET", f"challenges/{cid}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and 'href="javascript' not in page
    assert "<strong>ok</strong>" in page and "Open Government Licence v3.0" in page


def test_a_challenge_page_links_its_kit_for_people_signed_in(lab, people):
    cid = new_challenge(lab, people, kit="clean-air")["id"]
    page = call(lab, "GET", f"challenges/{cid}", people["participant"]).text
    assert "Clean air: where do we measure it" in page and "user-redirect/lab/tree/notebooks/" in page


def _commons_process(lab):
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            if "backstage.commons" in cmd and proc.environ().get("BACKSTAGE_LAB_ID") == lab.lab_id:
                found.append(proc)
        except psutil.Error:
            continue
    assert len(found) == 1, f"expected one commons process for this lab, found {found}"
    return found[0]


def test_kill_9_of_the_commons_loses_no_acknowledged_idea_or_vote(lab, people):
    cid = new_challenge(lab, people)["id"]
    iid = new_idea(lab, people, cid, title="Survives kill -9")
    assert call(lab, "POST", f"api/ideas/{iid}/vote", people["other"]).status_code == 200
    commons = _commons_process(lab)
    commons.kill()
    deadline = time.monotonic() + 180
    r = None
    while time.monotonic() < deadline:
        try:
            r = call(lab, "GET", f"api/challenges/{cid}")
            if r.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(1)
    assert r is not None and r.status_code == 200, "the hub did not restart the commons"
    assert [(i["title"], i["votes"]) for i in r.json()["ideas"]] == [("Survives kill -9", 1)]
    assert _commons_process(lab).pid != commons.pid


def test_an_anonymous_visitor_at_the_root_lands_on_the_commons_home_page(lab):
    r = requests.get(lab.url + "/", timeout=60)
    assert r.status_code == 200 and "Show us a better way" in r.text and "How to join" in r.text
    assert r.url == lab.service_url("commons")
