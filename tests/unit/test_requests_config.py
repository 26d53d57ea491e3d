"""The data requests' settings come from the site settings file, validated with a message naming the key."""

from __future__ import annotations

import pytest
import yaml
from backstage.commons.requests.config import RequestsConfig
from backstage.commons.requests.notify import SmtpSettings
from backstage.settings import SettingsError, load_settings


def site(tmp_path, monkeypatch, settings: dict) -> None:
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("BACKSTAGE_STATE", str(tmp_path))
    monkeypatch.delenv("BACKSTAGE_SETTINGS", raising=False)
    monkeypatch.delenv("BACKSTAGE_RUNTIME", raising=False)


def test_working_days_stewards_and_smtp_come_from_the_site_settings(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {
        "requests": {"working_days": 15, "stewards": {"ada": ["HM Land Registry"]}, "check_every_hours": 6},
        "notify": {"smtp": {"host": "mail.example.org", "port": 587, "from": "lab@example.org", "starttls": True}},
    })
    config = RequestsConfig()
    assert config.working_days == 15
    assert config.steward_publishers == {"ada": ["HM Land Registry"]}
    assert config.check_every_hours == 6
    smtp = SmtpSettings.from_mapping(config.smtp)
    assert (smtp.host, smtp.port, smtp.sender, smtp.starttls) == ("mail.example.org", 587, "lab@example.org", True)
    assert config.state_dir == str(tmp_path.resolve())


def test_defaults_promise_twenty_working_days_a_daily_check_and_no_email(tmp_path, monkeypatch):
    site(tmp_path, monkeypatch, {})
    config = RequestsConfig()
    assert (config.working_days, config.steward_publishers, config.check_every_hours) == (20, {}, 24)
    assert SmtpSettings.from_mapping(config.smtp) is None


@pytest.mark.parametrize("settings, key", [
    ({"notify": {"smtp": {"host": "mail.example.org", "from": "not-an-address"}}}, "notify.smtp.from"),
    ({"notify": {"smtp": {"host": "mail.example.org", "from": "a@b.org", "tls": True}}}, "notify.smtp"),
    ({"requests": {"working_days": 0}}, "requests.working_days"),
    ({"requests": {"stewards": {"ada": "HM Land Registry"}}}, "requests.stewards.ada"),
])
def test_a_mistake_names_the_setting(tmp_path, monkeypatch, settings, key):
    site(tmp_path, monkeypatch, settings)
    with pytest.raises(SettingsError, match=f"the setting {key} is invalid"):
        load_settings()
