"""Sign-up, approval by an organiser, sign-in; and every kind of bad input gets a clear 4xx."""

from __future__ import annotations

import html
import re

import pytest
import requests

pytestmark = pytest.mark.integration


def signup_session(lab) -> tuple[requests.Session, str]:
    s = requests.Session()
    page = s.get(f"{lab.url}/hub/signup", timeout=30)
    assert page.status_code == 200 and 'name="password_confirm"' in page.text
    return s, re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


def sign_up(lab, username, password="a-good-password", confirm=None, xsrf=True):
    s, token = signup_session(lab)
    data = {"username": username, "name": "Test Person", "email": "t@example.org", "password": password,
            "password_confirm": password if confirm is None else confirm}
    if xsrf:
        data["_xsrf"] = token
    return s.post(f"{lab.url}/hub/signup", data=data, timeout=60)


def login_error(lab, username, password) -> tuple[int, str]:
    try:
        lab.login(username, password)
    except AssertionError as e:
        m = re.search(r"refused \((\d+)\): (.*)", str(e), re.S)
        return int(m.group(1)), m.group(2)
    return 302, ""


def test_login_page_links_to_signup(lab):
    assert 'href="/hub/signup"' in requests.get(f"{lab.url}/hub/login", timeout=30).text


def test_signup_waits_for_approval_then_signs_in(lab, people):
    r = sign_up(lab, "hubnew1")
    assert r.status_code == 200 and "waiting for approval" in r.text
    code, message = login_error(lab, "hubnew1", "a-good-password")
    assert code == 403 and "waiting for approval" in message

    # a participant may not approve; the page is refused
    assert people["hubana"].get(f"{lab.url}/hub/signups", timeout=30).status_code == 403
    organiser = people["hubolu"]
    page = organiser.get(f"{lab.url}/hub/signups", timeout=30)
    assert page.status_code == 200 and "Approve hubnew1" in page.text
    # approving without the XSRF token is refused, and changes nothing
    r = organiser.post(f"{lab.url}/hub/signups", data={"action": "approve", "username": "hubnew1"}, timeout=30)
    assert r.status_code == 403
    assert login_error(lab, "hubnew1", "a-good-password")[0] == 403
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "approve", "username": "hubnew1", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 200 and "Approved hubnew1" in r.text
    s = lab.login("hubnew1", "a-good-password")
    assert s.get(f"{lab.url}/hub/api/user", headers={"X-XSRFToken": lab.xsrf(s)}, timeout=30).json()["name"] == "hubnew1"
    # approved without a role chosen: a participant (so the gallery and the lab's groups know them)
    assert "participants" in lab.api("GET", "/users/hubnew1").json()["groups"]


def test_organiser_rejects_a_signup(lab, people):
    assert sign_up(lab, "hubnew2").status_code == 200
    organiser = people["hubolu"]
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "reject", "username": "hubnew2", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 200 and "Rejected hubnew2" in r.text
    assert login_error(lab, "hubnew2", "a-good-password") == (403, "Invalid username or password")
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "approve", "username": "nobody-here", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 404 and "no waiting sign-up named" in r.text


def test_reject_never_removes_an_approved_account(lab, people):
    organiser = people["hubolu"]
    for name in ("admin", "hubana"):
        r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                           data={"action": "reject", "username": name, "_xsrf": lab.xsrf(organiser)})
        assert r.status_code == 404 and "no waiting sign-up" in r.text
    lab.login("admin", lab.admin_password)
    lab.login("hubana", people["hubana"].password)


def signups_post(lab, session, **data):
    return session.post(f"{lab.url}/hub/signups", data={**data, "_xsrf": lab.xsrf(session)}, timeout=30)


def test_approve_with_a_role_makes_the_account_and_its_group_before_the_first_sign_in(lab, people):
    assert sign_up(lab, "hubrole1").status_code == 200
    page = people["hubolu"].get(f"{lab.url}/hub/signups", timeout=30).text
    assert "Role for hubrole1" in page and '<option value="organiser">' not in page  # only the admin makes organisers
    r = signups_post(lab, people["hubolu"], action="approve", username="hubrole1", role="reviewer")
    assert r.status_code == 200 and "Approved hubrole1: reviewer (group reviewers)" in r.text
    # the hub knows them before they ever sign in (the admin page can add them to groups)
    model = lab.api("GET", "/users/hubrole1").json()
    assert model["groups"] == ["reviewers"] and model["last_activity"] is None
    s = lab.login("hubrole1", "a-good-password")
    me = s.get(f"{lab.url}/hub/api/user", headers={"X-XSRFToken": lab.xsrf(s)}, timeout=30).json()
    assert "custom:gallery:review" in me["scopes"]


@pytest.mark.parametrize("approver, role, status, message", [
    ("hubolu", "organiser", 403, "only the admin makes organisers"),
    ("hubolu", "admin", 403, "You may not give the role"),
    ("admin", "organiser", 200, "Gave the role hubrole2: organiser"),
])
def test_what_an_approver_may_give(lab, people, approver, role, status, message):
    lab.create_user("hubrole2")
    session = lab.login("admin", lab.admin_password) if approver == "admin" else people[approver]
    r = signups_post(lab, session, action="grant", username="hubrole2", role=role)
    assert r.status_code == status and message in r.text
    assert ("organisers" in lab.api("GET", "/users/hubrole2").json()["groups"]) == (status == 200)


def test_a_role_for_someone_approved_who_never_signed_in(lab, people):
    from backstage.auth.store import SignupStore

    SignupStore(lab.state_dir / "signups.sqlite").add("hubrole3", "a-good-password", approved=True)
    assert lab.api("GET", "/users/hubrole3").status_code == 404  # approved, never signed in
    r = signups_post(lab, people["hubolu"], action="grant", username="HubRole3", role="official")
    assert r.status_code == 200 and "Gave the role hubrole3: official (group officials)" in r.text
    assert lab.api("GET", "/users/hubrole3").json()["groups"] == ["officials"]


@pytest.mark.parametrize("username, why", [
    ("hubnobody", "no approved sign-up or account named 'hubnobody'"),  # made-up name
    ("hubpending", "no approved sign-up or account named 'hubpending'"),  # waiting: approve it instead
])
def test_no_role_for_names_nobody_approved(lab, people, username, why):
    assert sign_up(lab, "hubpending").status_code in (200, 400)
    r = signups_post(lab, people["hubolu"], action="grant", username=username, role="reviewer")
    assert r.status_code == 404 and why in html.unescape(r.text) and "ask them to sign up" in r.text
    assert lab.api("GET", f"/users/{username}").status_code == 404


def test_participants_may_not_give_roles(lab, people):
    r = signups_post(lab, people["hubana"], action="grant", username="hubana", role="reviewer")
    assert r.status_code == 403
    assert "reviewers" not in lab.api("GET", "/users/hubana").json()["groups"]


def test_the_home_page_counts_waiting_signups_for_organisers_only(lab, people):
    assert sign_up(lab, "hubwaits").status_code == 200
    home = people["hubolu"].get(f"{lab.url}/hub/home", timeout=30).text
    waiting = len(__import__("backstage.auth.store", fromlist=["SignupStore"]).SignupStore(
        lab.state_dir / "signups.sqlite").people(approved=False))
    assert re.search(rf"{waiting} sign-ups? (is|are) waiting for approval", home)
    assert 'href="/hub/signups"' in home
    participant_home = people["hubana"].get(f"{lab.url}/hub/home", timeout=30).text
    assert "waiting for approval" not in participant_home and 'href="/hub/signups"' not in participant_home
    assert "Shared with me" in participant_home


@pytest.mark.parametrize("username, password, confirm, status, message", [
    ("hub bad", "a-good-password", None, 400, "characters other than"),
    ("<b>hubx</b>", "a-good-password", None, 400, "characters other than"),
    ("9hub", "a-good-password", None, 400, "start with a letter"),
    ("", "a-good-password", None, 400, "username is empty"),
    ("hubshort", "short", None, 400, "shorter than 8"),
    ("hubtypo", "a-good-password", "a-good-passw0rd", 400, "passwords differ"),
    ("hubana", "a-good-password", None, 400, "already taken"),
])
def test_bad_signups_are_refused_clearly_and_nothing_is_saved(lab, people, username, password, confirm,
                                                              status, message):
    r = sign_up(lab, username, password, confirm)
    assert r.status_code == status and message in r.text
    assert "&lt;b&gt;" in r.text or "<b>" not in username  # the name is escaped when echoed
    if status == 400 and message != "already taken":
        assert login_error(lab, username.strip().lower(), password)[0] == 403


def test_a_signup_cannot_claim_an_account_made_without_one(lab, people):
    # the admin made an account (no sign-up of its own); a stranger's sign-up may not claim it
    assert lab.api("POST", "/users/hubmade").status_code == 201
    r = sign_up(lab, "hubmade", "strangers-password")
    assert r.status_code == 400 and "already taken" in r.text
    # nor may a sign-up made before the account was created be approved onto it
    assert sign_up(lab, "hubearly", "strangers-password").status_code == 200
    assert lab.api("POST", "/users/hubearly").status_code == 201
    organiser = people["hubolu"]
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "approve", "username": "hubearly", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 409 and "reject it" in r.text
    assert login_error(lab, "hubearly", "strangers-password")[0] == 403


def test_duplicate_signup_keeps_the_first_password(lab):
    assert sign_up(lab, "hubdup", "first-password").status_code == 200
    r = sign_up(lab, "hubdup", "second-password")
    assert r.status_code == 400 and "already taken" in r.text
    from backstage.auth.store import SignupStore

    store = SignupStore(lab.state_dir / "signups.sqlite")
    assert store.check("hubdup", "first-password") and not store.check("hubdup", "second-password")


def test_signup_without_xsrf_is_refused(lab):
    r = sign_up(lab, "hubnoxsrf", xsrf=False)
    assert r.status_code == 403
    assert lab.api("GET", "/users/hubnoxsrf").status_code == 404
    from backstage.auth.store import SignupStore

    assert SignupStore(lab.state_dir / "signups.sqlite").get("hubnoxsrf") is None


def test_a_ten_megabyte_password_is_refused_cheaply(lab):
    huge = "x" * 10_000_000
    r = sign_up(lab, "hubhuge", huge)
    assert r.status_code == 400 and "longer than 1024 characters" in r.text
    from backstage.auth.store import SignupStore

    assert SignupStore(lab.state_dir / "signups.sqlite").get("hubhuge") is None
    code, message = login_error(lab, "hubana", huge)
    assert code == 400 and "longer than 1024 characters" in message


@pytest.mark.parametrize("username, password", [
    ("hubana", "wrong-password"),       # wrong password
    ("nobody-at-all", "whatever-pw"),   # unknown user
    ("hub ana", "wrong-password"),      # odd characters
    ("", ""),                           # empty form
])
def test_bad_logins_get_the_login_form_again_never_a_500(lab, people, username, password):
    assert login_error(lab, username, password) == (403, "Invalid username or password")


def test_login_without_xsrf_is_refused(lab, people):
    s = requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=30)
    r = s.post(f"{lab.url}/hub/login", data={"username": "hubana", "password": people["hubana"].password},
               allow_redirects=False, timeout=30)
    assert r.status_code == 403
