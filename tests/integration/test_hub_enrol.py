"""The organisers' enrol API (contract used by `backstage kit enrol`)."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.integration


def enrol(lab, token, body, **kw):
    return requests.post(f"{lab.hub_api}/backstage/enrol", headers={"Authorization": f"token {token}"},
                         timeout=60, **kw, **({"json": body} if body is not None else {}))


def test_organiser_enrols_attendees_idempotently(lab, tokens):
    body = {"group": "event-hubtest", "attendees": [
        {"username": "hubatt1", "name": "Attendee One", "email": "one@example.org"},
        {"username": "HubAtt2", "name": "Attendee Two", "email": ""},
        {"username": "hubana"},  # already has an account
    ]}
    r = enrol(lab, tokens["hubolu"], body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["group"] == "event-hubtest"
    assert sorted(c["username"] for c in data["created"]) == ["hubatt1", "hubatt2"]
    assert data["existing"] == ["hubana"]
    group = lab.api("GET", "/groups/event-hubtest").json()
    assert sorted(group["users"]) == ["hubana", "hubatt1", "hubatt2"]
    assert "hubatt1" in lab.api("GET", "/groups/participants").json()["users"]
    # the fresh password signs the attendee in
    password = next(c["password"] for c in data["created"] if c["username"] == "hubatt1")
    lab.login("hubatt1", password)
    # a re-run creates nobody and hands out no new password
    again = enrol(lab, tokens["hubolu"], body).json()
    assert again["created"] == [] and sorted(again["existing"]) == ["hubana", "hubatt1", "hubatt2"]
    lab.login("hubatt1", password)
    assert password not in lab.log_text()


def test_admin_may_enrol_and_others_may_not(lab, tokens):
    body = {"group": "event-hubperm", "attendees": [{"username": "hubatt3"}]}
    for who in ("hubana", "hubrae", "hubola"):
        r = enrol(lab, tokens[who], body)
        assert r.status_code == 403 and "custom:backstage:enrol" in r.json()["message"]
    assert enrol(lab, "not-a-token", body).status_code == 403
    assert lab.api("GET", "/users/hubatt3").status_code == 404
    assert enrol(lab, tokens["admin"], body).status_code == 200


@pytest.mark.parametrize("body, bad", [
    ({"group": "hackday", "attendees": [{"username": "hubatt9"}]}, [None]),
    ({"group": "event-hubbad", "attendees": [{"username": "hubatt9"}, {"username": "bad name"},
                                               {"username": "hubatt9"}, {"name": "no username"}]}, [1, 2, 3]),
    ({"group": "event-hubbad", "attendees": []}, [None]),
    ({"group": "event-hubbad"}, [None]),
    ([1, 2], [None]),
])
def test_malformed_enrolment_is_400_listing_each_entry_and_creates_nothing(lab, tokens, body, bad):
    r = enrol(lab, tokens["hubolu"], body)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert [e["index"] for e in errors] == bad and all(e["reason"] for e in errors)
    assert lab.api("GET", "/users/hubatt9").status_code == 404
    assert lab.api("GET", "/groups/event-hubbad").status_code == 404


def test_body_that_is_not_json_is_400(lab, tokens):
    r = requests.post(f"{lab.hub_api}/backstage/enrol", data=b"{not json",
                      headers={"Authorization": f"token {tokens['hubolu']}", "Content-Type": "application/json"},
                      timeout=30)
    assert r.status_code == 400 and "not valid JSON" in r.text


def test_cookie_post_without_xsrf_is_refused(lab, people):
    organiser = people["hubolu"]
    body = {"group": "event-hubxsrf", "attendees": [{"username": "hubatt8"}]}
    # the cookie goes to the hub's own origin (lab.url), not the API's loopback address
    assert organiser.post(f"{lab.url}/hub/api/backstage/enrol", json=body, timeout=30).status_code == 403
    assert lab.api("GET", "/users/hubatt8").status_code == 404
    r = organiser.post(f"{lab.url}/hub/api/backstage/enrol", json=body, timeout=30,
                       headers={"X-XSRFToken": lab.xsrf(organiser)})
    assert r.status_code == 200, r.text


def test_enrolling_a_name_with_a_pending_signup_is_refused(lab, tokens):
    """The pre-hijack: someone signs up as a name the organiser is about to enrol; enrolment must not
    approve that sign-up (its password is the stranger's)."""
    from test_hub_signup import login_error, sign_up

    assert sign_up(lab, "hubhijack", "strangers-password").status_code == 200
    body = {"group": "event-hubhijack", "attendees": [{"username": "hubatt7"}, {"username": "hubhijack"}]}
    r = enrol(lab, tokens["hubolu"], body)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert [(e["index"], e["username"]) for e in errors] == [(1, "hubhijack")]
    assert "waiting for approval" in errors[0]["reason"] and "/hub/signups" in errors[0]["reason"]
    # nothing was created, and the stranger still cannot sign in
    assert lab.api("GET", "/users/hubatt7").status_code == 404
    assert lab.api("GET", "/groups/event-hubhijack").status_code == 404
    code, message = login_error(lab, "hubhijack", "strangers-password")
    assert code == 403 and "waiting for approval" in message


def test_enrolling_an_account_with_a_role_is_refused(lab, tokens):
    """An account the admin made with a role (no sign-up, so no password of ours): enrolling it would
    hand the organiser a fresh password for it."""
    assert lab.api("POST", "/users/hubboss", json={"admin": True}).status_code == 201
    assert lab.api("POST", "/users/hubjudge").status_code == 201
    assert lab.api("POST", "/groups/reviewers/users", json={"users": ["hubjudge"]}).status_code == 200
    body = {"group": "event-hubboss", "attendees": [{"username": "hubboss"}, {"username": "hubjudge"}]}
    r = enrol(lab, tokens["hubolu"], body)
    assert r.status_code == 400, r.text
    assert [(e["index"], e["username"]) for e in r.json()["errors"]] == [(0, "hubboss"), (1, "hubjudge")]
    assert "already has an account with a role" in r.json()["errors"][0]["reason"]
    assert "password" not in r.json() and lab.api("GET", "/groups/event-hubboss").status_code == 404
