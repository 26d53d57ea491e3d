"""Sign in with GOV.UK One Login against a real OpenID provider on loopback (npm ``oidc-provider``, configured
like One Login: private_key_jwt only, nonce required, vtr accepted, vot issued), over HTTP through the real hub.

Each refusal: a clear message, no session, nobody created.
"""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from backstage.auth.store import SignupStore
from backstage_testing.oidc import oidc_lab, sign_in_at_provider

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def oidc():
    state = Path(tempfile.mkdtemp(prefix="backstage-oidc-"))
    try:
        with oidc_lab(state / "state") as (lab, provider):
            yield lab, provider
    finally:
        shutil.rmtree(state, ignore_errors=True)


def text(r: requests.Response) -> str:
    return html.unescape(re.sub(r"\s+", " ", r.text))


def who(lab, session: requests.Session) -> dict | None:
    """The hub's answer to 'who am I' for ``session`` (None: not signed in: the hub's home sends it to sign in)."""
    home = session.get(f"{lab.url}/hub/home", allow_redirects=False, timeout=30)
    if home.status_code == 302:
        assert "/hub/login" in home.headers["Location"], home.headers["Location"]
        return None
    assert home.status_code == 200, home.status_code
    xsrf = [c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub")]
    r = session.get(f"{lab.url}/hub/api/user", headers={"X-XSRFToken": xsrf[0]} if xsrf else {}, timeout=30)
    return r.json() if r.status_code == 200 else None


def sign_in(lab, provider, email: str) -> tuple[requests.Session, requests.Response]:
    session, callback = sign_in_at_provider(lab, provider, email)
    return session, session.get(callback, allow_redirects=False, timeout=60)


def mapping(lab) -> dict:
    with sqlite3.connect(lab.state_dir / "oidc-people.sqlite") as db:
        return {row[0]: row[1:] for row in db.execute("SELECT sub, username, email FROM people")}


def test_first_sign_in_makes_a_participant_keyed_by_sub(oidc):
    lab, provider = oidc
    session, r = sign_in(lab, provider, "Ada.Lovelace@example.org")
    assert r.status_code == 302, text(r)[-600:]
    me = who(lab, session)
    assert me["name"] == "ada-lovelace" and me["groups"] == ["participants"] and not me["admin"]
    # what the lab asked for, as One Login wants it
    asked = provider.seen()["authorization"]
    assert asked["vtr"] == '["Cl.Cm"]' and asked["ui_locales"] == "en" and asked["scope"] == "openid email"
    assert len(asked["nonce"]) >= 32 and asked["state"] and asked["code_challenge_method"] == "S256"
    assert provider.seen()["token_auth"][-1] == "private_key_jwt"
    # the key is the provider's sub, not the e-mail
    [(sub, (username, email))] = [(s, v) for s, v in mapping(lab).items() if v[0] == "ada-lovelace"]
    assert sub.startswith("urn:fdc:gov.uk:2022:") and email == "Ada.Lovelace@example.org"


def test_second_sign_in_finds_the_same_person(oidc):
    lab, provider = oidc
    first, _ = sign_in(lab, provider, "mary@example.org")
    again, r = sign_in(lab, provider, "mary@example.org")
    assert r.status_code == 302
    assert who(lab, again)["name"] == who(lab, first)["name"] == "mary"
    assert [v[0] for v in mapping(lab).values()].count("mary") == 1


def test_a_changed_email_keeps_the_same_person(oidc):
    lab, provider = oidc
    sign_in(lab, provider, "grace.h@example.org")
    provider.rename("grace.h@example.org", "g.hopper@example.net")
    session, r = sign_in(lab, provider, "g.hopper@example.net")
    assert r.status_code == 302
    assert who(lab, session)["name"] == "grace-h"
    assert ("grace-h", "g.hopper@example.net") in mapping(lab).values()


def test_names_are_safe_and_never_collide(oidc):
    lab, provider = oidc
    assert lab.api("POST", "/users/alan").status_code == 201  # a local account with that name
    session, _ = sign_in(lab, provider, "alan@example.org")
    assert who(lab, session)["name"] == "alan-2"
    session, _ = sign_in(lab, provider, "admin@example.org")
    me = who(lab, session)
    assert me["name"] == "admin-2" and not me["admin"]
    session, _ = sign_in(lab, provider, "<script>1</script>@example.org")
    assert who(lab, session)["name"] == "script-1-script"


REFUSALS = [
    ({"iss": "http://127.0.0.1:9/evil"}, "was not issued by"),
    ({"aud": "another-service"}, "is for another service"),
    ({"exp_in": -300}, "has expired"),
    ({"nonce": "0" * 64}, "nonce does not match"),
    ({"vot": "Cl"}, "you signed in at level 'Cl' but this lab needs 'Cl.Cm'"),
    ({"omit_vot": True}, "did not say how you signed in"),
]


@pytest.mark.parametrize(("changes", "message"), REFUSALS, ids=[next(iter(c)) for c, _ in REFUSALS])
def test_a_bad_id_token_is_refused_with_no_session(oidc, changes, message):
    lab, provider = oidc
    email = f"refused-{next(iter(changes))}@example.org"
    session, callback = sign_in_at_provider(lab, provider, email)
    provider.next_id_token(**changes)
    r = session.get(callback, allow_redirects=False, timeout=60)
    assert r.status_code == 403, text(r)[-600:]
    assert message in text(r) and "You are not signed in" in text(r)
    assert who(lab, session) is None
    assert email not in [v[1] for v in mapping(lab).values()]


def test_cancelling_at_the_provider_is_access_denied_with_no_session(oidc):
    lab, provider = oidc
    session, callback = sign_in_at_provider(lab, provider, "cancel@example.org", cancel=True)
    assert parse_qs(urlparse(callback).query)["error"] == ["access_denied"]
    r = session.get(callback, allow_redirects=False, timeout=60)
    assert r.status_code == 403
    assert "GOV.UK One Login did not sign you in (access_denied" in text(r) and "start again" in text(r)
    assert who(lab, session) is None


def test_a_replayed_state_is_refused(oidc):
    lab, provider = oidc
    session, callback = sign_in_at_provider(lab, provider, "replay@example.org")
    state_cookie = {c.name: c.value for c in session.cookies if c.name == "oauthenticator-state"}
    assert session.get(callback, allow_redirects=False, timeout=60).status_code == 302
    # the same browser again: its state cookie was used up
    r = session.get(callback, allow_redirects=False, timeout=60)
    assert r.status_code == 400 and "no state cookie" in text(r)
    # an attacker who kept the cookie and the link
    thief = requests.Session()
    thief.cookies.update(state_cookie)
    r = thief.get(callback, allow_redirects=False, timeout=60)
    assert r.status_code == 400 and "already used once" in text(r)
    assert who(lab, thief) is None
    # a link started by someone else's browser
    _, other_callback = sign_in_at_provider(lab, provider, "replay@example.org")
    r = thief.get(other_callback, allow_redirects=False, timeout=60)
    assert r.status_code == 400 and "does not match" in text(r) and who(lab, thief) is None


def test_logout_ends_the_session_then_goes_to_the_providers_logout(oidc):
    lab, provider = oidc
    session, _ = sign_in(lab, provider, "leaving@example.org")
    assert who(lab, session)["name"] == "leaving"
    r = session.get(f"{lab.url}/hub/logout", allow_redirects=False, timeout=30)
    assert r.status_code == 302
    end = urlparse(r.headers["Location"])
    query = parse_qs(end.query)
    assert f"{end.scheme}://{end.netloc}" == provider.issuer and end.path == "/session/end"
    assert query["post_logout_redirect_uri"] == [f"{lab.url}/hub/login"] and query["id_token_hint"]
    assert who(lab, session) is None
    r = session.get(r.headers["Location"], timeout=30)  # the provider signs out and sends us back
    assert r.ok


def test_the_admin_keeps_the_labs_password(oidc):
    lab, provider = oidc
    page = requests.get(f"{lab.url}/hub/login", timeout=30)
    assert "Sign in with GOV.UK One Login" in page.text and "/hub/login/password" in page.text
    form = requests.Session()
    form.get(f"{lab.url}/hub/login/password", timeout=30)
    r = form.post(f"{lab.url}/hub/login/password", data={"username": "admin", "password": lab.admin_password,
                                                         "_xsrf": lab.xsrf(form)}, allow_redirects=False, timeout=60)
    assert r.status_code == 302 and who(lab, form)["admin"]
    # nobody else signs in with a password in this mode
    SignupStore(lab.state_dir / "signups.sqlite").add("ola", "ola-password-1", approved=True)
    other = requests.Session()
    other.get(f"{lab.url}/hub/login/password", timeout=30)
    r = other.post(f"{lab.url}/hub/login/password", data={"username": "ola", "password": "ola-password-1",
                                                          "_xsrf": lab.xsrf(other)}, allow_redirects=False, timeout=60)
    assert r.status_code == 403 and who(lab, other) is None


def test_provider_down_is_a_clear_refusal_then_works_again(oidc):
    lab, provider = oidc
    session, callback = sign_in_at_provider(lab, provider, "outage@example.org")
    provider.stop()
    try:
        r = session.get(callback, allow_redirects=False, timeout=60)
        assert r.status_code == 503, text(r)[-600:]
        assert "GOV.UK One Login cannot be reached" in text(r) and "try again in a few minutes" in text(r)
        assert who(lab, session) is None
    finally:
        provider.restart()
    # a restarted provider has new signing keys: the lab fetches them again
    session, r = sign_in(lab, provider, "outage@example.org")
    assert r.status_code == 302 and who(lab, session)["name"] == "outage"
