"""OIDC sign-in without a network: the ID token checks (keys made here), the client assertion, names from
``sub``, the ``auth: {mode: oidc}`` settings and the hub config they build."""

from __future__ import annotations

import time

import jwt
import pytest
from backstage.auth.oidc.people import OIDCPeople, derive_username
from backstage.auth.oidc.tokens import (
    IDTokenRefused,
    check_id_token,
    check_vot,
    client_assertion,
    expected_nonce,
    public_jwk,
)
from backstage.hubconfig import build_config
from backstage.settings import DEFAULTS, SettingsError, _merge, validate_settings
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER, CLIENT = "https://oidc.example.gov.uk/", "lab-client"
NONCE = expected_nonce(b"secret", "state-1")


@pytest.fixture(scope="module")
def provider_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(key, kid=None, **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "urn:fdc:gov.uk:2022:abc", "iat": now, "exp": now + 180,
              "nonce": NONCE, "vot": "Cl.Cm"}
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or public_jwk(key)["kid"]})


def check(token, key, **overrides):
    args = {"jwks": {"keys": [public_jwk(key)]}, "issuer": ISSUER, "client_id": CLIENT, "nonce": NONCE,
            "vtr": ["Cl.Cm"], "algorithms": ["RS256", "ES256"]}
    return check_id_token(token, **{**args, **overrides})


def test_a_good_id_token_gives_its_claims(provider_key):
    claims = check(id_token(provider_key), provider_key)
    assert claims["sub"] == "urn:fdc:gov.uk:2022:abc" and claims["vot"] == "Cl.Cm"


BAD = [
    ({"iss": "https://evil.example/"}, "was not issued by"),
    ({"aud": "someone-else"}, "for another service"),
    ({"aud": [CLIENT, "other"]}, "several audiences"),
    ({"exp": int(time.time()) - 120}, "has expired"),
    ({"iat": int(time.time()) + 3600}, "dated in the future"),
    ({"nonce": "other"}, "nonce does not match"),
    ({"nonce": None}, "nonce does not match"),
    ({"vot": "Cl"}, "needs 'Cl.Cm'"),
    ({"vot": None}, "did not say how you signed in"),
    ({"sub": None}, "invalid"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[f"{next(iter(c))}-{i}" for i, (c, _) in enumerate(BAD)])
def test_a_bad_id_token_is_refused_with_the_reason(provider_key, changes, message):
    with pytest.raises(IDTokenRefused, match=message):
        check(id_token(provider_key, **changes), provider_key)


def test_signatures_algorithms_and_keys(provider_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(IDTokenRefused, match="matches none of the provider's keys"):
        check(id_token(other, kid=public_jwk(provider_key)["kid"]), provider_key)
    unsigned = jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "x", "nonce": NONCE}, None, algorithm="none")
    with pytest.raises(IDTokenRefused, match="signed with 'none'"):
        check(unsigned, provider_key)
    hs = jwt.encode({"iss": ISSUER}, "k" * 32, algorithm="HS256")
    with pytest.raises(IDTokenRefused, match="signed with 'HS256'"):
        check(hs, provider_key)
    with pytest.raises(IDTokenRefused, match="no ID token"):
        check(None, provider_key)


def test_vot_meets_the_weakest_vtr():
    check_vot("Cl.Cm", ["Cl.Cm"])
    check_vot("Cl", ["Cl", "Cl.Cm"])
    check_vot("Cl.Cm", ["P2.Cl.Cm"])
    with pytest.raises(IDTokenRefused, match="needs 'Cl.Cm'"):
        check_vot("Cl", ["P2.Cl.Cm"])
    with pytest.raises(IDTokenRefused):
        check_vot("Xx", ["Cl"])


def test_the_nonce_is_bound_to_the_state_and_the_hubs_secret():
    assert expected_nonce(b"secret", "state-1") == NONCE
    assert expected_nonce(b"secret", "state-2") != NONCE and expected_nonce(b"other", "state-1") != NONCE
    assert len(NONCE) == 64


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_the_client_assertion_is_private_key_jwt(kind):
    key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
           else ec.generate_private_key(ec.SECP256R1()))
    token = client_assertion(key, CLIENT, "https://oidc.example.gov.uk/token")
    jwk = jwt.PyJWK(public_jwk(key))
    claims = jwt.decode(token, jwk.key, algorithms=[jwk.algorithm_name], audience="https://oidc.example.gov.uk/token")
    assert claims["iss"] == claims["sub"] == CLIENT and claims["exp"] - claims["iat"] == 300 and claims["jti"]
    assert client_assertion(key, CLIENT, "x") != client_assertion(key, CLIENT, "x")  # a fresh jti each time


def test_names_come_from_the_email_made_safe_and_never_collide(tmp_path):
    assert derive_username("Ada.Lovelace@example.org", lambda n: False) == "ada-lovelace"
    assert derive_username("", lambda n: False) == "person"
    assert derive_username("ÉLODIE@example.fr", lambda n: False) == "elodie"
    assert derive_username("x" * 80 + "@example.org", lambda n: False) == "x" * 27
    people = OIDCPeople(tmp_path / "oidc-people.sqlite")
    assert (tmp_path / "oidc-people.sqlite").stat().st_mode & 0o777 == 0o600
    taken = {"admin"}.__contains__
    first, new = people.person_for("sub-1", "admin@example.org", taken)
    assert (first.username, new) == ("admin-2", True)
    second, _ = people.person_for("sub-2", "admin@example.org", taken)
    assert second.username == "admin-3"
    # a changed e-mail keeps the name; the same e-mail under another sub is another person
    again, new = people.person_for("sub-1", "new@example.org", taken)
    assert (again.username, again.email, new) == ("admin-2", "new@example.org", False)
    people.remember_id_token("sub-1", "a.b.c")
    assert people.id_token("admin-2") == "a.b.c" and people.id_token("nobody") == ""


OIDC = {"mode": "oidc", "issuer": ISSUER, "client_id": CLIENT, "private_key": "oidc-private.pem"}


@pytest.mark.parametrize(("auth", "message"), [
    ({"mode": "oidc", "client_id": CLIENT, "private_key": "k.pem"}, "auth.issuer is not set"),
    ({**OIDC, "private_key": None}, "is invalid"),
    ({k: v for k, v in OIDC.items() if k != "private_key"}, "auth.private_key is not set: .*openssl genpkey"),
    ({**OIDC, "token_auth": "client_secret_post"}, "auth.client_secret is not set"),
    ({**OIDC, "vtr": ["Cl.Cm.Xx"]}, "auth.vtr.0 is invalid"),
    ({**OIDC, "new_people": "everyone"}, "auth.new_people is invalid"),
    ({**OIDC, "scopes": ["email"]}, "must include 'openid'"),
    ({**OIDC, "issuer": "oidc.account.gov.uk"}, "auth.issuer is invalid"),
])
def test_oidc_settings_name_the_key_and_the_fix(auth, message):
    with pytest.raises(SettingsError, match=message):
        validate_settings({"auth": auth}, "settings.yaml")


def test_the_hub_config_of_mode_oidc(tmp_path):
    settings = _merge(DEFAULTS, {"state_dir": str(tmp_path), "isolation": "none", "port": 8123,
                                 "auth": {**OIDC, "new_people": "approval", "vtr": ["Cl"], "ui_locales": "cy"}})
    c = build_config(validate_settings(settings))
    assert c.JupyterHub.authenticator_class == "backstage.auth.oidc.OIDCAuthenticator"
    o = c.OIDCAuthenticator
    assert (o.issuer, o.client_id, o.new_people, o.vtr, o.ui_locales) == (ISSUER, CLIENT, "approval", ["Cl"], "cy")
    assert o.oauth_callback_url == "http://localhost:8123/hub/oauth_callback"
    assert o.private_key_path == str(tmp_path / "oidc-private.pem")
    assert o.token_auth_method == "private_key_jwt" and o.scope == ["openid", "email"]
    assert o.store_path == str(tmp_path / "signups.sqlite") and o.people_path == str(tmp_path / "oidc-people.sqlite")
    assert c.Authenticator.allow_all is False


def test_the_state_format_of_oauthenticator_is_read():
    """The nonce is derived from OAuthenticator's state id: this fails if its (private) format changes."""
    from backstage.auth.oidc.handlers import state_id_of
    from oauthenticator.oauth2 import _serialize_state

    assert state_id_of(_serialize_state({"state_id": "abc123", "next_url": "/x"})) == "abc123"
    assert state_id_of("not base64 json") == "" and state_id_of("") == ""
