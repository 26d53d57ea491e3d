"""The hub's configuration, asserted on a built ``Config()`` (no hub, no network)."""

from __future__ import annotations

import copy

import pytest
from backstage import roles
from backstage.hubconfig import build_config
from backstage.settings import DEFAULTS


def settings(**overrides):
    s = copy.deepcopy(DEFAULTS)
    s.update(state_dir="/srv/lab", isolation="users", lab_id="abc", gallery=False)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(s.get(key), dict):
            s[key] = {**s[key], **value}
        else:
            s[key] = value
    return s


def roles_by_name(c):
    return {r["name"]: r for r in c.JupyterHub.load_roles}


def test_default_config_is_a_signup_lab_with_approval_and_allow_all_off():
    c = build_config(settings())
    assert c.JupyterHub.authenticator_class == "backstage.auth.SignupAuthenticator"
    assert c.SignupAuthenticator.open_signup is False
    assert c.Authenticator.allow_all is False
    assert c.Authenticator.admin_users == {"admin"}
    assert c.SignupAuthenticator.store_path == "/srv/lab/signups.sqlite"


def test_state_lives_in_the_state_dir():
    c = build_config(settings())
    assert c.JupyterHub.db_url == "sqlite:////srv/lab/jupyterhub.sqlite"
    assert c.JupyterHub.cookie_secret_file == "/srv/lab/jupyterhub_cookie_secret"
    assert c.BackstageSpawner.homes_dir == "/srv/lab/homes"


def test_public_port_and_loopback_internal_ports():
    c = build_config(settings(port=8123, internal_ports={"hub": 9001, "proxy_api": 9002}))
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8123"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:9001"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9002"
    assert c.ConfigurableHTTPProxy.command[0].endswith("node_modules/.bin/configurable-http-proxy")


@pytest.mark.parametrize("mode, cls", [
    ("open-signup", "backstage.auth.SignupAuthenticator"),
    ("shared-password", "backstage.auth.EventPasswordAuthenticator"),
    ("oauthenticator", "oauthenticator.generic.GenericOAuthenticator"),
])
def test_auth_modes(mode, cls):
    auth = {"mode": mode, "event_password": "password-of-the-day",
            "authenticator_class": "oauthenticator.generic.GenericOAuthenticator"}
    c = build_config(settings(auth=auth))
    assert c.JupyterHub.authenticator_class == cls
    assert c.Authenticator.allow_all is False
    if mode == "open-signup":
        assert c.SignupAuthenticator.open_signup is True
    # JupyterHub's "nobody may sign in" warning stays on for an OAuthenticator without allow config
    assert ("any_allow_config" in c.Authenticator) == (mode != "oauthenticator")
    if mode == "shared-password":
        assert c.EventPasswordAuthenticator.user_password == "password-of-the-day"
        assert c.JupyterHub.template_vars["backstage_signup"] is False


def test_the_five_groups_and_custom_scopes_are_declared():
    c = build_config(settings())
    assert set(c.JupyterHub.load_groups) == {"participants", "organisers", "reviewers", "officials", "stewards"}
    assert set(c.JupyterHub.custom_scopes) == {
        "custom:gallery:review", "custom:signups:approve", "custom:backstage:enrol",
        "custom:commons:challenges", "custom:commons:answer"}


def test_least_privilege_roles():
    by_name = roles_by_name(build_config(settings()))
    user = by_name["user"]["scopes"]
    # own server and sharing it; never another's server, never admin
    assert "self" in user and "shares!user" in user
    assert not any(s.startswith(("admin", "access:servers", "servers", "users", "list:")) for s in user)
    assert by_name["gallery-visitor"]["scopes"] == ["access:services!service=gallery"]
    assert sorted(by_name["gallery-visitor"]["groups"]) == sorted(roles.GROUPS)
    assert by_name["reviewer"] == {**by_name["reviewer"], "scopes": ["custom:gallery:review"], "groups": ["reviewers"]}
    assert set(by_name["organiser"]["scopes"]) == {"custom:signups:approve", "custom:backstage:enrol"}
    assert by_name["organiser"]["groups"] == ["organisers"]
    # contract 7: challenges for organisers and officials, answers for stewards, both for the admin
    assert by_name["challenger"]["scopes"] == ["custom:commons:challenges"]
    assert sorted(by_name["challenger"]["groups"]) == ["officials", "organisers"]
    assert by_name["steward"]["scopes"] == ["custom:commons:answer"]
    assert by_name["steward"]["groups"] == ["stewards"]
    assert set(by_name["backstage-admin"]["scopes"]) >= {"custom:commons:challenges", "custom:commons:answer"}
    assert set(by_name["backstage-admin"]["scopes"]) >= {"custom:signups:approve", "custom:backstage:enrol"}
    assert by_name["backstage-admin"]["users"] == ["admin"]
    # no group role grants anything on servers
    for role in by_name.values():
        if role.get("groups"):
            assert not any("servers" in s for s in role["scopes"]), role


def test_idle_culler_has_only_what_culling_needs():
    c = build_config(settings(idle_timeout=1800))
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=1800" in culler["command"]
    role = roles_by_name(c)["idle-culler"]
    assert set(role["scopes"]) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
    assert role["services"] == ["idle-culler"]


def test_culling_off_when_timeout_is_zero():
    c = build_config(settings(idle_timeout=0))
    assert "idle-culler" not in {s["name"] for s in c.JupyterHub.services}
    assert "idle-culler" not in roles_by_name(c)


def test_share_page_uses_only_sharing_scopes():
    c = build_config(settings())
    share = next(s for s in c.JupyterHub.services if s["name"] == "share")
    assert share["oauth_client_allowed_scopes"] == roles.SHARE_PAGE_SCOPES
    assert share["url"] == "http://127.0.0.1:8103"
    assert share["oauth_no_confirm"] is True


def test_gallery_service_when_asked_for():
    c = build_config(settings(gallery=True, internal_ports={"gallery": 7001, "gallery_voila": 7002}))
    gallery = next(s for s in c.JupyterHub.services if s["name"] == "gallery")
    assert gallery["url"] == "http://127.0.0.1:7001"
    assert gallery["command"][1:] == ["-m", "backstage.gallery"]
    assert gallery["environment"]["GALLERY_VOILA_PORT"] == "7002"
    assert "custom:gallery:review" in gallery["oauth_client_allowed_scopes"]
    assert "gallery" not in {s["name"] for s in build_config(settings(gallery=False)).JupyterHub.services}


def test_servers_isolated_as_root_and_one_person_lab_otherwise():
    c = build_config(settings(user_prefix="lab-", mem_limit="2G"))
    assert c.JupyterHub.spawner_class == "backstage.spawner.BackstageSpawner"
    assert c.BackstageSpawner.isolate_users is True
    assert c.BackstageSpawner.user_prefix == "lab-"
    assert c.Spawner.mem_limit == "2G"
    assert c.Spawner.default_url == "/lab/tree/notebooks/01-welcome.ipynb"  # the welcome notebook opens
    assert build_config(settings(isolation="none")).BackstageSpawner.isolate_users is False


def test_operations_metrics_and_fast_stop():
    c = build_config(settings())
    assert c.JupyterHub.authenticate_prometheus is True
    total = (c.LocalProcessSpawner.interrupt_timeout + c.LocalProcessSpawner.term_timeout
             + c.LocalProcessSpawner.kill_timeout)
    assert total < 10


def test_build_config_is_pure():
    s = settings()
    before = copy.deepcopy(s)
    assert build_config(s) == build_config(s)
    assert s == before


def test_config_file_layers_escape_hatch_last(tmp_path, monkeypatch):
    """jupyterhub_config.py loads build_config, then jupyterhub_config.d/*.py may override it."""
    from backstage.hubconfig import REPO
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv("BACKSTAGE_STATE", str(tmp_path))
    monkeypatch.delenv("BACKSTAGE_RUNTIME", raising=False)
    (tmp_path / "settings.yaml").write_text("idle_timeout: 120\ngallery: false\n")
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "hub"))
    c = loader.load_config()
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=120" in culler["command"]
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'jupyterhub.sqlite'}"


def test_services_get_time_to_start_on_a_busy_machine():
    c = build_config(settings(gallery=True))
    assert {s["name"] for s in c.JupyterHub.services} == {"idle-culler", "share", "gallery", "commons"}
    assert all(s["timeout"] >= 60 for s in c.JupyterHub.services)
