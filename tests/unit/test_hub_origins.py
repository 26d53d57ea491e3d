"""One origin per person (issue 11): the hub's configuration, the URL helpers and the JupyterHub fixes."""

from __future__ import annotations

import copy

import pytest
from backstage import patches, urls
from backstage.hubconfig import build_config
from backstage.services import managed_services
from backstage.settings import DEFAULTS, SettingsError, load_settings


def settings(**overrides):
    s = copy.deepcopy(DEFAULTS)
    s.update(state_dir="/srv/lab", isolation="users", lab_id="abc", gallery=False, port=8123)
    s.update(overrides)
    return s


def test_make_up_gives_each_server_a_localhost_origin_of_its_own():
    c = build_config(settings())
    assert c.JupyterHub.subdomain_host == "http://localhost:8123"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8123"  # the proxy still listens on loopback only
    assert c.JupyterHub.cookie_host_prefix_enabled is False  # __Host- needs https (see hubconfig.py)
    assert "public_url" not in c.JupyterHub  # JupyterHub derives it from subdomain_host
    assert c.Spawner.disable_user_config is True


def test_a_real_site_names_its_public_url_and_gets_host_only_prefixed_cookies():
    c = build_config(settings(public_url="https://lab.example.org/"))
    assert c.JupyterHub.subdomain_host == "https://lab.example.org"
    assert c.JupyterHub.public_url == "https://lab.example.org"
    assert c.JupyterHub.cookie_host_prefix_enabled is True


def test_the_shared_origin_is_an_explicit_unsafe_choice():
    c = build_config(settings(unsafe_shared_origin=True))
    assert c.JupyterHub.subdomain_host == ""
    assert c.JupyterHub.cookie_host_prefix_enabled is False
    assert c.Spawner.disable_user_config is True  # kept either way


@pytest.mark.parametrize("value", ["lab.example.org", "https://lab.example.org/hub/", "ftp://lab.example.org"])
def test_a_public_url_that_is_not_an_origin_is_refused_naming_the_setting(tmp_path, value):
    (tmp_path / "settings.yaml").write_text(f"public_url: {value}\n")
    with pytest.raises(SettingsError, match="public_url"):
        load_settings({"BACKSTAGE_STATE": str(tmp_path)})


def test_services_learn_the_subdomain_host():
    for service in managed_services(settings()):
        assert service["environment"][urls.SUBDOMAIN_HOST_ENV] == "http://localhost:8123", service["name"]
    for service in managed_services(settings(unsafe_shared_origin=True)):
        assert service["environment"][urls.SUBDOMAIN_HOST_ENV] == ""


@pytest.mark.parametrize("host, server, service", [
    ("http://localhost:8000", "http://ada.localhost:8000/user/ada/",
     "http://gallery--service.localhost:8000/services/gallery/"),
    ("https://lab.example.org", "https://ada.lab.example.org/user/ada/",
     "https://gallery--service.lab.example.org/services/gallery/"),
    ("", "http://127.0.0.1:8000/user/ada/", "http://127.0.0.1:8000/services/gallery/"),
])
def test_urls_are_where_the_proxy_routes_them(host, server, service):
    assert urls.user_server_url("ada", "http://127.0.0.1:8000", host) == server
    assert urls.service_url("gallery", "http://127.0.0.1:8000", host) == service


def test_urls_read_the_subdomain_host_from_the_environment(monkeypatch):
    monkeypatch.setenv(urls.SUBDOMAIN_HOST_ENV, "http://localhost:9000")
    assert urls.user_server_url("ada", "http://127.0.0.1:9000") == "http://ada.localhost:9000/user/ada/"
    monkeypatch.setenv(urls.SUBDOMAIN_HOST_ENV, "")
    assert urls.user_server_url("ada", "http://127.0.0.1:9000") == "http://127.0.0.1:9000/user/ada/"


@pytest.mark.parametrize("host, foreign", [
    ("ada.localhost:8000", True), ("gallery--service.localhost:8000", True), ("ADA.LOCALHOST", True),
    ("localhost:8000", False), ("127.0.0.1:8000", False), ("[::1]:8000", False), ("evil-localhost:8000", False),
    ("localhost.evil.example", False),
])
def test_hub_pages_are_refused_on_the_hosts_of_servers_and_services(host, foreign):
    assert patches.foreign_subdomain(host, "localhost") is foreign


def test_service_links_keep_the_port():
    from jupyterhub.services.service import Service

    patches.apply()
    service = Service(name="gallery", domain="gallery--service.localhost",
                      host="http://gallery--service.localhost:8000", base_url="/")
    assert service.href == "http://gallery--service.localhost:8000/services/gallery/"
    assert Service(name="gallery", base_url="/").href == "/services/gallery/"
