"""The two private names of JupyterHub the lab uses, pinned: this fails when JupyterHub changes them.

- ``HubOAuth._get_token_cookie(handler)`` (``backstage/web/auth.py``): tells "signed in, but the XSRF token is
  missing" from "not signed in", so a failed form post says which;
- ``jupyterhub.scopes._intersect_expanded_scopes(a, b, db=None)`` (``backstage/patches.py``): keeps a group
  share within the token's own scopes.

After upgrading JupyterHub, re-read both functions, then move the pin.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import jupyterhub
from jupyterhub import scopes
from jupyterhub.services.auth import HubOAuth

PINNED = "6.1.1"


def test_the_pinned_jupyterhub_is_the_one_installed():
    assert jupyterhub.__version__ == PINNED, (
        f"JupyterHub {jupyterhub.__version__} is installed, the lab's use of its private names was checked on "
        f"{PINNED}: re-read HubOAuth._get_token_cookie and scopes._intersect_expanded_scopes, then update PINNED")


def test_get_token_cookie_reads_the_services_login_cookie():
    assert list(inspect.signature(HubOAuth._get_token_cookie).parameters) == ["self", "handler"]
    auth = HubOAuth(api_token="x", api_url="http://127.0.0.1:1/hub/api", oauth_client_id="service-test")
    seen = {}

    def get_secure_cookie(name):
        seen["name"] = name
        return b"token-value"

    handler = SimpleNamespace(request=SimpleNamespace(headers={}), get_secure_cookie=get_secure_cookie)
    assert auth._get_token_cookie(handler) == "token-value"
    assert seen["name"] == auth.cookie_name


def test_intersect_expanded_scopes_keeps_what_both_sides_allow():
    assert list(inspect.signature(scopes._intersect_expanded_scopes).parameters) == ["scopes_a", "scopes_b", "db"]
    got = scopes._intersect_expanded_scopes({"read:users"}, {"read:users!user=ada", "admin:users"})
    assert set(got) == {"read:users!user=ada"}
