"""Data requests on a real lab (hub, proxy, the commons service) with a real SMTP server on loopback.

The lab's govdata mirror is a copy of the shared datasets with one byte changed in one file, and its
cache is empty, so a steward who names that dataset in a ``released`` answer is refused.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import xml.etree.ElementTree as ET  # noqa: S405 (our own feed, from our own lab)
from pathlib import Path

import pytest
import requests
from backstage.auth.store import SignupStore
from backstage_testing.lab import delete_unix_users, running_lab
from backstage_testing.smtp import smtp_server

pytestmark = pytest.mark.integration

BROKEN_ID, BROKEN_FILE = "ukhpi-2021-03", "landreg_ukhpi_annual_change_by_la_2021-03.csv"
PEOPLE = {  # name: (groups, e-mail)
    "rqana": (("participants",), "ana@example.org"),
    "rqben": (("participants",), "ben@example.org"),
    "rqons": (("stewards",), "ons-steward@example.org"),
    "rqlrs": (("stewards",), "lr-steward@example.org"),
    "rqola": (("officials",), ""),
}
BARRIER = {"kind": "barrier", "title": "Region lookup file moved", "body": "The ONS link answers 404.",
           "dataset": "lad21-region-lookup", "barrier": "broken-link"}


def broken_mirror(shared: Path, into: Path) -> Path:
    """A copy of the mirror with one byte of one file changed."""
    mirror = into / "mirror"
    shutil.copytree(shared, mirror)
    path = mirror / BROKEN_FILE
    data = bytearray(path.read_bytes())
    data[100] = ord("#") if data[100] != ord("#") else ord("@")
    path.write_bytes(bytes(data))
    return mirror


@pytest.fixture(scope="module")
def mail():
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def rlab(mail, shared_datasets):
    work = Path(tempfile.mkdtemp(prefix="backstage-requests-"))
    prefix = f"t{secrets.token_hex(2)}-"
    env = {"GOVDATA_MIRROR": str(broken_mirror(shared_datasets, work)), "GOVDATA_CACHE": str(work / "cache")}
    settings = {
        "user_prefix": prefix, "gallery": False, "idle_timeout": 0,
        "notify": {"smtp": {"host": "127.0.0.1", "port": mail.port, "from": "lab@example.org"}},
        "requests": {"working_days": 20, "stewards": {"rqons": ["Office for National Statistics"],
                                                      "rqlrs": ["HM Land Registry"]}},
    }
    try:
        with running_lab(work / "state", env=env, **settings) as lab:
            store = SignupStore(lab.state_dir / "signups.sqlite")
            for name, (_, address) in PEOPLE.items():
                lab.passwords[name] = secrets.token_urlsafe(12)
                store.add(name, lab.passwords[name], approved=True, email=address)
            lab.people = {name: lab.create_user(name, groups=groups) for name, (groups, _) in PEOPLE.items()}
            lab.tokens = {name: lab.token_for(name) for name in PEOPLE} | {"admin": lab.admin_token}
            yield lab
    finally:
        delete_unix_users(prefix)
        shutil.rmtree(work, ignore_errors=True)


def call(lab, method, path, who=None, **kwargs):
    """Call the commons as *who* (a person's API token; None: anonymous)."""
    headers = {"Authorization": f"token {lab.tokens[who]}"} if who else {}
    return requests.request(method, lab.service_url("commons") + path, headers=headers, timeout=60,
                            allow_redirects=False, **kwargs)


def test_barrier_request_supported_and_released_shows_in_timeline_feed_updates_and_email(rlab, mail):
    r = call(rlab, "POST", "api/requests", "rqana", json=BARRIER)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "open" and len(made["respond_by"]) == 10
    rid = made["id"]
    assert call(rlab, "POST", f"api/requests/{rid}/support", "rqben").json() == {"supporters": 1}
    assert call(rlab, "POST", f"api/requests/{rid}/support", "rqben").json() == {"supporters": 1}

    refused = call(rlab, "POST", f"api/requests/{rid}/answer", "rqons",
                   json={"status": "released", "message": "Here", "dataset": BROKEN_ID})
    assert refused.status_code == 400
    assert BROKEN_ID in refused.json()["error"] and "does not load and verify" in refused.json()["error"]
    assert call(rlab, "GET", f"api/requests/{rid}").json()["status"] == "open"

    r = call(rlab, "POST", f"api/requests/{rid}/answer", "rqons",
             json={"status": "released", "message": "Republished at a stable link.", "dataset": "lad21-region-lookup"})
    assert r.status_code == 200, r.text

    public = call(rlab, "GET", f"api/requests/{rid}").json()
    assert public["status"] == "released" and public["supporters"] == 1
    assert [(e["kind"], e["status"], e["actor"]) for e in public["timeline"]] == [
        ("filed", "open", "rqana"), ("answer", "released", "rqons")]
    assert public["timeline"][-1]["dataset"] == "lad21-region-lookup"

    feed = ET.fromstring(call(rlab, "GET", "requests/feed.atom").content)  # noqa: S314
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert f"Request {rid} Released: {BARRIER['title']}" in titles

    for person in ("rqana", "rqben"):
        updates = call(rlab, "GET", "api/updates", person).json()["updates"]
        assert any("Released" in u["subject"] and "lad21-region-lookup" in u["text"] for u in updates), updates
    assert call(rlab, "GET", "api/updates", "rqons").json()["updates"] == []

    for person, address in (("rqana", "ana@example.org"), ("rqben", "ben@example.org")):
        (message,) = mail.wait_for(lambda m, a=address: m["To"] == a and f"Data request {rid}: Released" in m["Subject"])
        text = message.get_content()
        assert f"Hello {person}," in text and "lad21-region-lookup" in text and f"/services/commons/requests/{rid}" in text
        others = {a for _, a in PEOPLE.values() if a and a != address}
        assert not any(other in message.as_string() for other in others), "another person's address leaked"


def confidential_and_public(lab) -> tuple[int, int]:
    public = call(lab, "POST", "api/requests", "rqana", json={**BARRIER, "title": "Public one"}).json()["id"]
    secret = call(lab, "POST", "api/requests", "rqana", json={**BARRIER, "title": "Secret one",
                                                               "confidential": True}).json()["id"]
    return public, secret


READERS = [None, "rqben", "rqana", "rqons", "rqlrs", "rqola", "admin"]


def test_access_table_for_every_endpoint_public_and_confidential(rlab):
    public, secret = confidential_and_public(rlab)
    answer = {"status": "in-progress", "message": "Looking into it."}
    #                           anon  other author ONS  LR   official admin
    table = {
        ("GET", f"api/requests/{public}", None):           [200, 200, 200, 200, 200, 200, 200],
        ("GET", f"api/requests/{secret}", None):           [404, 404, 200, 200, 404, 404, 200],
        ("POST", f"api/requests/{public}/support", None):  [403, 200, 400, 200, 200, 200, 200],
        ("POST", f"api/requests/{secret}/support", None):  [403, 404, 400, 200, 404, 404, 200],
        ("DELETE", f"api/requests/{public}/support", None): [403, 200, 200, 200, 200, 200, 200],
        ("POST", f"api/requests/{public}/answer", "a"):    [403, 403, 403, 200, 403, 403, 200],
        ("POST", f"api/requests/{secret}/answer", "a"):    [403, 404, 403, 200, 404, 404, 200],
        ("POST", "api/requests", "new"):                   [403, 201, 201, 201, 201, 201, 201],
        ("GET", "api/requests", None):                     [200] * 7,
        ("GET", "api/requests/figures", None):             [200] * 7,
        ("GET", "api/updates", None):                      [403, 200, 200, 200, 200, 200, 200],
        ("GET", "api/data-problems", None):                [200] * 7,
        ("GET", "requests/feed.atom", None):               [200] * 7,
        ("GET", "requests", None):                         [200] * 7,
        ("GET", f"requests/{secret}", None):               [404, 404, 200, 200, 404, 404, 200],
        ("GET", "requests/figures", None):                 [200] * 7,
    }
    failures = []
    for (method, path, body), expected in table.items():
        for who, want in zip(READERS, expected, strict=True):
            json_body = answer if body == "a" else ({**BARRIER, "title": f"by {who}"} if body == "new" else None)
            got = call(rlab, method, path, who, json=json_body).status_code
            if got != want:
                failures.append(f"{method} {path} as {who or 'anonymous'}: {got}, expected {want}")
    assert not failures, "\n".join(failures)
    listed = {who: [i["id"] for i in call(rlab, "GET", "api/requests", who).json()["requests"]] for who in READERS}
    for who, sees in zip(READERS, [False, False, True, True, False, False, True], strict=True):
        assert (secret in listed[who]) is sees, who
    feed = call(rlab, "GET", "requests/feed.atom").text
    assert "Secret one" not in feed and "Public one" in feed


@pytest.mark.parametrize("body, status, words", [
    ({**BARRIER, "title": "x" * 1_000_000}, 400, "keep it to 200"),
    ({**BARRIER, "dataset": "imd-2019-lad2"}, 400, "imd-2019-lad2"),
    ({**BARRIER, "kind": "gripe"}, 400, "'kind' must be one of"),
    ({**BARRIER, "barrier": None}, 400, "'barrier' must be one of"),
    ({**BARRIER, "confidential": "no"}, 400, "true or false"),
])
def test_hostile_requests_are_refused_by_name_and_store_nothing(rlab, body, status, words):
    before = len(call(rlab, "GET", "api/requests", "admin").json()["requests"])
    r = call(rlab, "POST", "api/requests", "rqana", json=body)
    assert r.status_code == status and words in r.json()["error"], r.text[:300]
    assert len(call(rlab, "GET", "api/requests", "admin").json()["requests"]) == before


def test_not_json_and_a_bad_request_number_are_clear_errors(rlab):
    r = call(rlab, "POST", "api/requests", "rqana", data=b"{not json")
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    assert call(rlab, "GET", "api/requests/99999999").status_code == 404
    assert call(rlab, "GET", "api/requests/..%2F..%2Fetc").status_code == 404


def test_script_in_a_title_is_shown_as_text_in_page_and_feed(rlab):
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rid = call(rlab, "POST", "api/requests", "rqana", json={**BARRIER, "title": title}).json()["id"]
    page = call(rlab, "GET", f"requests/{rid}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page and "<img src=x" not in page
    feed = call(rlab, "GET", "requests/feed.atom").text
    assert "<script>alert" not in feed and "&lt;script&gt;" in feed


def test_a_cookie_write_without_xsrf_is_refused_and_stores_nothing(rlab):
    session = rlab.people["rqana"]
    page = session.get(rlab.service_url("commons") + "requests/new", timeout=60)  # signs in to the commons
    assert page.status_code == 200 and "Ask for data" in page.text
    before = len(call(rlab, "GET", "api/requests", "admin").json()["requests"])
    r = session.post(rlab.service_url("commons") + "api/requests", json={**BARRIER, "title": "no xsrf"}, timeout=60)
    assert r.status_code == 403 and "XSRF" in r.json()["error"]
    r = session.post(rlab.service_url("commons") + "requests/new", data={**BARRIER, "title": "no xsrf form"},
                     timeout=60, allow_redirects=False)
    assert r.status_code == 403
    assert len(call(rlab, "GET", "api/requests", "admin").json()["requests"]) == before


def test_figures_count_overdue_answers_and_publishers(rlab):
    rid = call(rlab, "POST", "api/requests", "rqben", json={**BARRIER, "title": "Counted"}).json()["id"]
    assert call(rlab, "POST", f"api/requests/{rid}/answer", "rqons", json={"status": "scheduled"}).status_code == 200
    figures = call(rlab, "GET", "api/requests/figures", "rqola").json()
    assert figures["requests"] >= 1 and figures["overdue"] == 0
    assert figures["median_working_days_to_first_answer"] is not None
    assert any(p["publisher"].startswith("Office for National Statistics") for p in figures["by_publisher"])


def test_a_closed_commons_shows_requests_only_to_signed_in_people(tmp_path):
    prefix = f"t{secrets.token_hex(2)}-"
    try:
        with running_lab(tmp_path / "state", user_prefix=prefix, gallery=False, idle_timeout=0,
                         commons={"public": False}) as lab:
            lab.create_user("rqcat", groups=("participants",))
            lab.tokens = {"rqcat": lab.token_for("rqcat")}
            assert call(lab, "POST", "api/requests", "rqcat", json=BARRIER).status_code == 201
            for path in ("api/requests", "api/requests/1", "api/requests/figures", "api/data-problems"):
                assert call(lab, "GET", path).status_code == 403, path
                assert call(lab, "GET", path, "rqcat").status_code == 200, path
            for path in ("requests", "requests/1", "requests/figures", "requests/feed.atom"):
                r = call(lab, "GET", path)
                assert r.status_code == 302 and "sign-in" in r.headers["Location"], (path, r.status_code)
    finally:
        delete_unix_users(prefix)
