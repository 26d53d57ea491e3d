"""Site settings: layering and helpful errors."""

from __future__ import annotations

import json

import pytest
from backstage.settings import SettingsError, load_settings


def env_for(tmp_path, **extra):
    return {"BACKSTAGE_STATE": str(tmp_path), **extra}


def test_defaults_without_a_site_file(tmp_path):
    s = load_settings(env_for(tmp_path))
    assert s["port"] == 8000 and s["idle_timeout"] == 3600 and s["user_prefix"] == "bk-"
    assert s["auth"]["mode"] == "signup"
    assert s["state_dir"] == str(tmp_path.resolve())
    assert s["isolation"] in ("users", "none")


def test_site_file_then_environment_then_launcher(tmp_path):
    (tmp_path / "settings.yaml").write_text("port: 9000\nidle_timeout: 60\nauth:\n  mode: open-signup\n")
    s = load_settings(env_for(tmp_path))
    assert (s["port"], s["idle_timeout"], s["auth"]["mode"]) == (9000, 60, "open-signup")
    assert s["auth"]["min_password_length"] == 8  # nested defaults kept
    s = load_settings(env_for(tmp_path, BACKSTAGE_PORT="9100"))
    assert s["port"] == 9100
    runtime = json.dumps({"internal_ports": {"hub": 12345}})
    s = load_settings(env_for(tmp_path, BACKSTAGE_RUNTIME=runtime))
    assert s["internal_ports"]["hub"] == 12345 and s["internal_ports"]["share"] == 8103


@pytest.mark.parametrize("text, words", [
    ("idle_timout: 60\n", ["idle_timout", "known settings"]),
    ("port: eighty\n", ["port", "'eighty'"]),
    ("auth:\n  mode: nativeauthenticator\n", ["auth.mode", "nativeauthenticator"]),
    ("auth:\n  mode: shared-password\n", ["event_password"]),
    ("auth:\n  mode: oauthenticator\n", ["authenticator_class", "GenericOAuthenticator"]),
    ("user_prefix: Root\n", ["user_prefix"]),
    ("- a list\n", ["mapping"]),
    ("port: [\n", ["not valid YAML"]),
])
def test_bad_site_file_names_the_key_and_the_fix(tmp_path, text, words):
    (tmp_path / "settings.yaml").write_text(text)
    with pytest.raises(SettingsError) as e:
        load_settings(env_for(tmp_path))
    assert str(tmp_path / "settings.yaml") in str(e.value)
    for word in words:
        assert word in str(e.value)


def test_bad_port_variable(tmp_path):
    with pytest.raises(SettingsError, match="BACKSTAGE_PORT"):
        load_settings(env_for(tmp_path, BACKSTAGE_PORT="http"))
