"""Sign-up, approval by an organiser, sign-in; and every kind of bad input gets a clear 4xx."""

from __future__ import annotations

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
    assert s.get(f"{lab.hub_api}/user", headers={"X-XSRFToken": lab.xsrf(s)}, timeout=30).json()["name"] == "hubnew1"


def test_organiser_rejects_a_signup(lab, people):
    assert sign_up(lab, "hubnew2").status_code == 200
    organiser = people["hubolu"]
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "reject", "username": "hubnew2", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 200 and "Rejected hubnew2" in r.text
    assert login_error(lab, "hubnew2", "a-good-password") == (403, "Invalid username or password")
    r = organiser.post(f"{lab.url}/hub/signups", timeout=30,
                       data={"action": "approve", "username": "nobody-here", "_xsrf": lab.xsrf(organiser)})
    assert r.status_code == 404 and "no sign-up named" in r.text


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
