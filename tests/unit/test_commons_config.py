"""The commons in the hub's configuration: its service entry, its scopes, the front door, the site setting."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from backstage import roles
from backstage.auth.landing import landing_url
from backstage.hubconfig import build_config, front_door
from backstage.settings import DEFAULTS, SettingsError, validate_settings


def settings(**overrides):
    s = copy.deepcopy(DEFAULTS)
    s.update({"state_dir": "/srv/lab", "isolation": "users", "lab_id": "abc", "gallery": False, **overrides})
    return s


def commons_entry(c):
    return next(s for s in c.JupyterHub.services if s["name"] == "commons")


def test_the_commons_is_a_managed_service_public_by_default_with_least_privilege_tokens():
    entry = commons_entry(build_config(settings()))
    assert entry["command"][1:] == ["-m", "backstage.commons", "--CommonsApp.public=True"]
    assert entry["url"] == f"http://127.0.0.1:{DEFAULTS['internal_ports']['commons']}"
    scopes = entry["oauth_client_allowed_scopes"]
    assert "access:services!service=commons" in scopes and roles.CHALLENGES_SCOPE in scopes
    # the viewer's own server only (to start a prototype), never anyone else's
    assert {s for s in scopes if "server" in s} == {"read:servers!user", "servers!user", "access:servers!user"}
    assert "BACKSTAGE_GALLERY_API_URL" not in entry["environment"]  # gallery off: no lineage to read
    gallery_on = commons_entry(build_config(settings(gallery=True)))
    assert gallery_on["environment"]["BACKSTAGE_GALLERY_API_URL"].endswith("/services/gallery/api/dashboards")


def test_every_signed_in_person_may_open_the_commons_and_its_service_may_read_the_gallery():
    by_name = {r["name"]: r for r in build_config(settings()).JupyterHub.load_roles}
    assert "access:services!service=commons" in by_name["user"]["scopes"]
    assert by_name["commons-service"] == {**by_name["commons-service"], "services": ["commons"],
                                          "scopes": ["access:services!service=gallery"]}


def _handler(user, services):
    return SimpleNamespace(current_user=user, services=services)


def test_the_front_door_sends_anonymous_visitors_to_the_commons():
    commons = SimpleNamespace(href="//commons--service.localhost:8000/services/commons/")
    assert front_door(_handler(None, {"commons": commons})) == commons.href
    assert front_door(_handler(None, {})) == ""
    assert build_config(settings()).JupyterHub.default_url is front_door


def test_a_closed_commons_keeps_the_sign_in_form_at_the_front_door():
    c = build_config(settings(commons={"public": False}))
    assert c.JupyterHub.default_url is landing_url
    assert commons_entry(c)["command"][-1] == "--CommonsApp.public=False"


def test_the_setting_is_validated_with_the_key_named():
    with pytest.raises(SettingsError, match="commons"):
        validate_settings({"commons": {"public": "yes"}})
    with pytest.raises(SettingsError, match="commons"):
        validate_settings({"commons": {"open": True}})
