"""One configuration, two deployments: the hub built locally and through the chart's extraConfig agree.

The Kubernetes side is built the way chart 4.4.0's ``jupyterhub_config.py`` does it: the chart's values
(defaults + hub/k8s/values.yaml, merged like Helm), its services/roles/culler/hub.config steps, then
``hub.extraConfig`` executed against the same ``Config`` with ``hub.extraFiles`` written out and
``hub.extraEnv`` resolved from the Secrets the site created.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml
from backstage import roles
from backstage.auth.store import SignupStore
from backstage.hubconfig import build_config
from backstage.k8s import KubernetesConfigError, kubernetes_settings
from backstage.k8s.chart import DRY_POD_IP, chart_values, render_hub
from backstage.k8s.hub import CHART_DECIDES, ensure_admin
from backstage.settings import load_settings
from test_k8s_values import z2jh_chart

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub" / "k8s" / "values.yaml"
SECRETS = {"backstage-hub-db": {"password": "db-password-placeholder"},
           "backstage-auth": {"admin-password": "admin-password-placeholder",
                              "event-password": "bright-otter-42", "oauth-client-id": "backstage",
                              "oauth-client-secret": "client-secret-placeholder"}}
AUTH_MODES = {
    "signup": {"mode": "signup"},
    "open-signup": {"mode": "open-signup"},
    "shared-password": {"mode": "shared-password"},
    "oauthenticator": {"mode": "oauthenticator",
                       "authenticator_class": "oauthenticator.generic.GenericOAuthenticator"},
}
SITE = {"public_url": "https://lab.example.org"}  # every site on Kubernetes names its address
# Keys of a service entry that say where and how it runs, not who may use it.
WHERE = ("url", "command", "environment", "api_token", "cwd", "user")


@pytest.fixture(scope="module")
def values():
    return chart_values(z2jh_chart(), VALUES)


def _site(values, auth) -> dict:
    site = copy.deepcopy(values["hub"]["extraFiles"]["backstage-settings"]["data"])
    site["auth"] = copy.deepcopy(auth)
    return site


def _kubernetes(values, auth, tmp_path, secrets=SECRETS):
    values = copy.deepcopy(values)
    values["hub"]["extraFiles"]["backstage-settings"]["data"] = _site(values, auth)
    return render_hub(values, secrets=secrets, files_root=tmp_path / "k8s-files")


def _local(values, auth, tmp_path):
    """The lab on one machine, from a settings.yaml with the same site settings."""
    state = tmp_path / "local-state"
    state.mkdir()
    site = _site(values, auth)
    site.pop("state_dir")
    if auth["mode"] == "shared-password":
        site["auth"]["event_password"] = SECRETS["backstage-auth"]["event-password"]
    (state / "settings.yaml").write_text(yaml.safe_dump(site))
    return build_config(load_settings({"BACKSTAGE_STATE": str(state)})), state


def _who_may(services, skip=()):
    """Each service's name and everything about who may use it (not where it runs)."""
    return {s["name"]: {k: v for k, v in s.items() if k not in WHERE} for s in services if s["name"] not in skip}


def _authenticator_sections(c, state_dir):
    out = {}
    for section, cfg in c.items():
        if section == "Authenticator" or section.endswith("Authenticator"):
            out[section] = {k: (os.path.relpath(v, state_dir) if k == "store_path" else v) for k, v in cfg.items()}
    return out


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_groups_roles_scopes_and_sign_in_are_identical_both_ways(values, tmp_path, mode):
    local, local_state = _local(values, AUTH_MODES[mode], tmp_path)
    k8s = _kubernetes(values, AUTH_MODES[mode], tmp_path)
    assert k8s.JupyterHub.load_groups == local.JupyterHub.load_groups
    assert set(k8s.JupyterHub.load_groups) == set(roles.GROUPS)
    assert k8s.JupyterHub.custom_scopes == local.JupyterHub.custom_scopes
    assert k8s.JupyterHub.authenticator_class == local.JupyterHub.authenticator_class
    assert _authenticator_sections(k8s, "/srv/backstage") == _authenticator_sections(local, local_state)
    assert k8s.Authenticator.allow_all is False
    assert k8s.JupyterHub.template_vars == local.JupyterHub.template_vars
    assert k8s.Spawner.args == local.Spawner.args  # e.g. how soon a revoked share stops working
    assert k8s.JupyterHub.template_paths[0] == local.JupyterHub.template_paths[0]
    # roles: the same, but for who runs the idle culler (the chart's cull.* on Kubernetes)
    chart_culler = [r for r in k8s.JupyterHub.load_roles if r["name"] == "jupyterhub-idle-culler"]
    local_culler = [r for r in local.JupyterHub.load_roles if roles.CULLER_SERVICE in r.get("services", ())]
    assert len(chart_culler) == len(local_culler) == 1
    assert sorted(chart_culler[0]["scopes"]) == sorted(local_culler[0]["scopes"])
    assert [r for r in k8s.JupyterHub.load_roles if r is not chart_culler[0]] == [
        r for r in local.JupyterHub.load_roles if r is not local_culler[0]]


def test_services_are_the_same_services_with_kubernetes_addresses(values, tmp_path):
    local, _ = _local(values, AUTH_MODES["signup"], tmp_path)
    k8s = _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    assert _who_may(k8s.JupyterHub.services, skip={"jupyterhub-idle-culler"}) == _who_may(
        local.JupyterHub.services, skip={roles.CULLER_SERVICE})
    assert {roles.GALLERY_SERVICE, roles.SHARE_SERVICE} <= {s["name"] for s in k8s.JupyterHub.services}
    by_name = {s["name"]: s for s in k8s.JupyterHub.services}
    local_by_name = {s["name"]: s for s in local.JupyterHub.services}
    ports = values["hub"]["extraFiles"]["backstage-settings"]["data"]["internal_ports"]
    gallery = by_name[roles.GALLERY_SERVICE]
    assert gallery["url"] == f"http://gallery:{ports['gallery']}"
    assert "command" not in gallery and "environment" not in gallery  # its own pod
    assert len(gallery["api_token"]) >= 32  # generated by the chart, kept in its Secret `hub`
    share = by_name[roles.SHARE_SERVICE]
    assert share["url"] == f"http://{DRY_POD_IP}:{ports['share']}"
    assert share["command"] == local_by_name[roles.SHARE_SERVICE]["command"]
    assert share["environment"]["BACKSTAGE_STATE"] == "/srv/backstage"


def test_idle_timeout_is_the_charts_cull_timeout_and_matches_the_local_default(values, tmp_path):
    local, _ = _local(values, AUTH_MODES["signup"], tmp_path)
    k8s = _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    culler = next(s for s in k8s.JupyterHub.services if s["name"] == "jupyterhub-idle-culler")
    local_culler = next(s for s in local.JupyterHub.services if s["name"] == roles.CULLER_SERVICE)
    timeout = values["cull"]["timeout"]
    assert f"--timeout={timeout}" in culler["command"] and f"--timeout={timeout}" in local_culler["command"]


def test_kubernetes_keeps_what_the_chart_decides(values, tmp_path):
    k8s = _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    assert k8s.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert k8s.JupyterHub.db_url.startswith("postgresql+psycopg2://") and "placeholder" not in k8s.JupyterHub.db_url
    assert k8s.JupyterHub.cleanup_servers is False
    assert "bind_url" not in k8s.JupyterHub and "ConfigurableHTTPProxy" not in k8s
    assert k8s.Spawner.default_url == "/lab/tree/notebooks/01-welcome.ipynb" == build_config(load_settings({"BACKSTAGE_STATE": str(tmp_path)})
                                                             ).Spawner.default_url
    assert k8s.EventPasswordAuthenticator == {} and k8s.SignupAuthenticator.store_path == "/srv/backstage/signups.sqlite"


def test_event_password_comes_from_the_secret(values, tmp_path):
    k8s = _kubernetes(values, AUTH_MODES["shared-password"], tmp_path)
    assert k8s.EventPasswordAuthenticator.user_password == SECRETS["backstage-auth"]["event-password"]
    assert "bright-otter-42" not in VALUES.read_text()


# --- the dry render catches a missing secret, token or port, naming it ---------------------------------

def _broken(values, change):
    values = copy.deepcopy(values)
    change(values)
    return values


@pytest.mark.parametrize(
    "change, secrets, auth, message",
    [
        (lambda v: None, {k: v for k, v in SECRETS.items() if k != "backstage-hub-db"}, "signup",
         "Secret 'backstage-hub-db'"),
        (lambda v: None, {**SECRETS, "backstage-auth": {"admin-password": "x"}}, "shared-password",
         "the Secret backstage-auth, key event-password"),
        (lambda v: None, {**SECRETS, "backstage-auth": {"event-password": "bright-otter-42"}}, "shared-password",
         "BACKSTAGE_ADMIN_PASSWORD is not set"),
        (lambda v: v["hub"]["services"].pop("gallery"), SECRETS, "signup", "hub.services.gallery is missing"),
        (lambda v: v["hub"]["extraEnv"].pop("POD_IP"), SECRETS, "signup", "hub.extraEnv.POD_IP"),
        (lambda v: v["hub"]["networkPolicy"].update(ingress=[]), SECRETS, "signup",
         "port 8103, which hub.networkPolicy.ingress does not open"),
        (lambda v: v["hub"]["db"].update(url=None), SECRETS, "signup", "hub.db.url is not set"),
        (lambda v: v["hub"]["extraFiles"].pop("backstage-settings"), SECRETS, "signup",
         "hub.extraFiles.backstage-settings"),
        (lambda v: v["hub"]["extraFiles"]["backstage-settings"]["data"].update(mem_limit="2G"), SECRETS, "signup",
         "'mem_limit' (set singleuser.memory.limit instead)"),
        (lambda v: v["hub"]["extraFiles"]["backstage-settings"]["data"]["internal_ports"].update(share=0), SECRETS,
         "signup", "internal_ports.share"),
    ],
    ids=["db-secret-missing", "event-password-missing", "admin-password-missing", "gallery-token-missing", "pod-ip-missing",
         "share-port-closed", "db-url-missing", "settings-file-missing", "local-only-setting",
         "share-port-invalid"],
)
def test_dry_render_names_what_is_missing(values, tmp_path, change, secrets, auth, message):
    broken = _broken(values, change)
    if "backstage-settings" in broken["hub"]["extraFiles"]:
        broken["hub"]["extraFiles"]["backstage-settings"]["data"]["auth"] = dict(AUTH_MODES[auth])
    with pytest.raises(KubernetesConfigError) as info:
        render_hub(broken, secrets=secrets, files_root=tmp_path)
    assert message in str(info.value)


def test_dry_render_leaves_the_test_process_environment_alone(values, tmp_path):
    before = dict(os.environ)
    _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    assert dict(os.environ) == before


def test_the_admin_gets_the_secrets_password_in_the_signup_store(tmp_path):
    settings = kubernetes_settings({"state_dir": str(tmp_path / "state"), "auth": {"mode": "signup"}, **SITE},
                                   environ={}, cull_timeout=3600)
    ensure_admin(settings, {"BACKSTAGE_ADMIN_PASSWORD": "first-password"})
    ensure_admin(settings, {"BACKSTAGE_ADMIN_PASSWORD": "rotated-password"})  # idempotent, takes the new one
    store = SignupStore(tmp_path / "state" / "signups.sqlite")
    assert store.check("admin", "rotated-password") is not None
    assert store.check("admin", "first-password") is None
    assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"


def test_oauthenticator_mode_needs_no_admin_password_and_dry_run_writes_nothing(tmp_path):
    oauth = kubernetes_settings({"state_dir": str(tmp_path / "a"), "auth": AUTH_MODES["oauthenticator"], **SITE},
                                environ={}, cull_timeout=None)
    ensure_admin(oauth, {})
    dry = kubernetes_settings({"state_dir": str(tmp_path / "b"), **SITE}, environ={}, cull_timeout=None)
    ensure_admin(dry, {"BACKSTAGE_ADMIN_PASSWORD": "pw-123456", "BACKSTAGE_DRY_RUN": "1"})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_gallery_is_routed_even_when_the_hub_image_cannot_import_it(values, tmp_path, monkeypatch):
    """The hub image has no Voilà or nbclient: the gallery runs in its own pod all the same."""
    import backstage.services

    monkeypatch.setattr(backstage.services, "gallery_available", lambda: False)
    local, _ = _local(values, AUTH_MODES["signup"], tmp_path)
    assert roles.GALLERY_SERVICE not in {s["name"] for s in local.JupyterHub.services}
    k8s = _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    gallery = next(s for s in k8s.JupyterHub.services if s["name"] == roles.GALLERY_SERVICE)
    port = values["hub"]["extraFiles"]["backstage-settings"]["data"]["internal_ports"]["gallery"]
    assert gallery["url"] == f"http://gallery:{port}" and gallery["oauth_client_allowed_scopes"]


def test_admin_password_lands_on_a_volume_root_owned_by_someone_else(tmp_path, monkeypatch):
    """A PersistentVolume's root belongs to root with the pod's fsGroup: no chmod, still written."""
    volume = tmp_path / "volume"
    volume.mkdir()
    volume.chmod(0o2775)
    before = volume.stat().st_mode
    # the hub runs as another uid than the volume's owner
    monkeypatch.setattr("backstage.k8s.hub.os.geteuid", lambda: volume.stat().st_uid + 1000)
    settings = kubernetes_settings({"state_dir": str(volume), **SITE}, environ={}, cull_timeout=None)
    ensure_admin(settings, {"BACKSTAGE_ADMIN_PASSWORD": "volume-password"})
    assert volume.stat().st_mode == before
    assert SignupStore(volume / "signups.sqlite").check("admin", "volume-password") is not None


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_every_local_setting_is_taken_or_left_to_the_chart_on_purpose(values, tmp_path, mode):
    """A setting the local lab gains later must be decided for Kubernetes (taken, or in CHART_DECIDES)."""
    local, local_state = _local(values, AUTH_MODES[mode], tmp_path)
    k8s = _kubernetes(values, AUTH_MODES[mode], tmp_path)
    adapted = {"JupyterHub.load_roles", "JupyterHub.services", "JupyterHub.template_paths"}  # compared above
    undecided = []
    for section, traits in local.items():
        for trait, value in traits.items():
            key = f"{section}.{trait}"
            if key in CHART_DECIDES or f"{section}.*" in CHART_DECIDES or key in adapted:
                continue
            there = k8s[section].get(trait) if section in k8s else None
            if trait == "store_path":
                value, there = os.path.relpath(value, local_state), os.path.relpath(there, "/srv/backstage")
            if there != value:
                undecided.append(f"{key}: local {value!r}, Kubernetes {there!r}")
    assert not undecided, ("take these in backstage/k8s/hub.py (apply_lab_config) or list them in "
                           "CHART_DECIDES with the chart key that decides them:\n" + "\n".join(undecided))


@pytest.mark.parametrize("mode", ["signup", "shared-password"])
def test_the_admin_signs_in_with_the_secrets_password_in_every_password_mode(values, tmp_path, mode):
    """The authenticator built the Kubernetes way lets the admin in, with that password only."""
    import asyncio

    from backstage.auth import EventPasswordAuthenticator, SignupAuthenticator

    state = tmp_path / "state"
    secrets = SECRETS["backstage-auth"]
    values = copy.deepcopy(values)
    values["hub"]["extraFiles"]["backstage-settings"]["data"].update(state_dir=str(state), auth=AUTH_MODES[mode])
    c = render_hub(values, secrets=SECRETS, files_root=tmp_path / "files")
    settings = kubernetes_settings(values["hub"]["extraFiles"]["backstage-settings"]["data"], cull_timeout=3600,
                                   environ={"BACKSTAGE_EVENT_PASSWORD": secrets["event-password"]})
    ensure_admin(settings, {"BACKSTAGE_ADMIN_PASSWORD": secrets["admin-password"]})
    cls = SignupAuthenticator if mode == "signup" else EventPasswordAuthenticator
    assert c.JupyterHub.authenticator_class == f"backstage.auth.{cls.__name__}"
    authenticator = cls(config=c)

    def sign_in(password):
        return asyncio.run(authenticator.get_authenticated_user(None, {"username": "admin", "password": password}))

    assert sign_in(secrets["admin-password"])["name"] == "admin"
    assert sign_in("not-the-password") is None
    if mode == "shared-password":
        assert sign_in(secrets["event-password"]) is None  # the password of the day never makes an admin


def test_kubernetes_needs_the_sites_address_for_one_origin_per_person(values, tmp_path):
    with pytest.raises(KubernetesConfigError, match="public_url is not set.*wildcard DNS"):
        kubernetes_settings({"state_dir": str(tmp_path)}, environ={}, cull_timeout=None)
    k8s = _kubernetes(values, AUTH_MODES["signup"], tmp_path)
    assert k8s.JupyterHub.subdomain_host == k8s.JupyterHub.public_url == "https://lab.example.org"
    assert k8s.JupyterHub.cookie_host_prefix_enabled is True and k8s.Spawner.disable_user_config is True
    assert {"lab.example.org", "*.lab.example.org"} <= set(values["ingress"]["hosts"])
    assert set(values["ingress"]["hosts"]) <= set(values["ingress"]["tls"][0]["hosts"])
