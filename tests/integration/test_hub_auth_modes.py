"""The other sign-in modes, each on a lab of its own: open sign-up, and an event's shared password."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from backstage_testing.lab import running_lab
from test_hub_signup import login_error, sign_up

pytestmark = pytest.mark.integration

EVENT_PASSWORD = "hack-day-" + secrets.token_hex(4)


@pytest.fixture
def state():
    folder = Path(tempfile.mkdtemp(prefix="backstage-modes-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_open_signup_lets_people_straight_in(state):
    with running_lab(state, gallery=False, idle_timeout=0, auth={"mode": "open-signup"}) as lab:
        r = sign_up(lab, "walkin", "walk-in-password")
        assert r.status_code == 200 and "is ready" in r.text
        lab.login("walkin", "walk-in-password")
        assert login_error(lab, "walkin", "wrong-password") == (403, "Invalid username or password")


def test_event_password_for_enrolled_attendees_only(state):
    auth = {"mode": "shared-password", "event_password": EVENT_PASSWORD}
    with running_lab(state, gallery=False, idle_timeout=0, auth=auth) as lab:
        # no sign-up page in event mode
        assert 'href="/hub/signup"' not in requests.get(f"{lab.url}/hub/login", timeout=30).text
        assert requests.get(f"{lab.url}/hub/signup", timeout=30).status_code == 404
        r = lab.api("POST", "/backstage/enrol", json={"group": "event-hackday", "attendees": [{"username": "att1"}]})
        assert r.status_code == 200, r.text
        lab.login("att1", EVENT_PASSWORD)
        # a name nobody enrolled is refused, even with the right password
        code, message = login_error(lab, "gatecrasher", EVENT_PASSWORD)
        assert code == 403 and lab.api("GET", "/users/gatecrasher").status_code == 404
        assert login_error(lab, "att1", "not-the-password")[0] == 403
        # the admin signs in with their own password, never the event's
        assert login_error(lab, "admin", EVENT_PASSWORD)[0] == 403
        lab.login("admin", lab.admin_password)


def test_the_event_password_never_opens_an_account_with_a_role(state):
    """Issue 11, finding 4: the day's password opened organiser, reviewer and official accounts."""
    from backstage.auth.store import SignupStore

    auth = {"mode": "shared-password", "event_password": EVENT_PASSWORD}
    store = SignupStore(state / "signups.sqlite")
    with running_lab(state, gallery=False, idle_timeout=0, auth=auth) as lab:
        for group in ("organisers", "reviewers", "officials", "stewards"):
            promoted, rolehaver = f"promoted-{group}", f"only-{group}"
            r = lab.api("POST", "/backstage/enrol", json={"group": "event-hackday", "attendees": [
                {"username": "attendee"}, {"username": promoted}]})
            assert r.status_code == 200, r.text
            own = {c["username"]: c["password"] for c in r.json()["created"]}
            lab.login(promoted, EVENT_PASSWORD)
            # an attendee given a role keeps only their own password
            assert lab.api("POST", f"/groups/{group}/users", json={"users": [promoted]}).status_code == 200
            assert login_error(lab, promoted, EVENT_PASSWORD) == (403, "Invalid username or password"), group
            lab.login(promoted, own[promoted])
            # someone with only a role (made by the admin, own password in the store)
            assert lab.api("POST", f"/users/{rolehaver}").status_code == 201
            assert lab.api("POST", f"/groups/{group}/users", json={"users": [rolehaver]}).status_code == 200
            store.set_password(rolehaver, "role-own-password")
            assert login_error(lab, rolehaver, EVENT_PASSWORD) == (403, "Invalid username or password"), group
            lab.login(rolehaver, "role-own-password")
        # the attendee still signs in with the day's password, and the admin never does
        lab.login("attendee", EVENT_PASSWORD)
        assert login_error(lab, "admin", EVENT_PASSWORD)[0] == 403
