"""Layer the local lab's configuration onto the Zero to JupyterHub chart's, in the hub pod.

``hub.extraConfig`` in ``hub/k8s/values.yaml`` runs, inside the chart's ``jupyterhub_config.py``::

    from backstage.k8s import configure_hub
    configure_hub(c, get_config=get_config, get_secret_value=get_secret_value)

The chart has by then set KubeSpawner, PostgreSQL, the proxy's address, the cookie secret, the idle
culler (``cull.*``) and one entry per ``hub.services`` key (with the API token it generated).
:func:`configure_hub` builds the local lab's ``Config`` with :func:`backstage.hubconfig.build_config`
and takes from it, unchanged: the sign-in (authenticator and its settings), the groups, the roles, the
custom scopes and the services, with only their addresses changed (the gallery runs in its own pod,
the share page listens on the hub pod's address). Nothing else is taken: the local spawner, SQLite
database, loopback addresses and proxy command do not apply on Kubernetes.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import yaml

from backstage import roles
from backstage.auth.store import SignupStore
from backstage.hubconfig import build_config
from backstage.k8s.errors import KubernetesConfigError
from backstage.services import gallery_service
from backstage.settings import DEFAULTS, SettingsError, _merge, validate_settings

log = logging.getLogger(__name__)

__all__ = ["CHART_DECIDES", "GALLERY_HOST", "SETTINGS_PATH", "apply_lab_config", "configure_hub", "ensure_admin",
           "kubernetes_settings"]

#: Where ``hub.extraFiles.backstage-settings`` mounts the site settings in the hub pod.
SETTINGS_PATH = "/usr/local/etc/backstage/settings.yaml"
#: The gallery's Kubernetes Service (``hub/k8s/gallery.yaml``), in the hub's namespace.
GALLERY_HOST = "gallery"

# JupyterHub traits the lab decides, copied as they are.
_LAB_TRAITS = ("authenticator_class", "custom_scopes", "load_groups", "authenticate_prometheus",
               "shutdown_on_logout", "default_url",
               # one origin per person (site setting public_url): servers on <name>.<domain>, services on
               # <name>--service.<domain>; needs a wildcard DNS name and certificate (hub/k8s/README.md)
               "subdomain_host", "public_url", "cookie_host_prefix_enabled",
               # the public-service pages and the GOV.UK files of the hub's layout (/hub/cookies, /hub/govuk/...)
               "extra_handlers")
# Spawner traits about how a server behaves, not where it runs (e.g. how soon a revoked share stops working).
_LAB_SPAWNER_TRAITS = ("args", "disable_user_config", "server_token_scopes")
# What the local configuration sets that the chart decides on Kubernetes (and where), by section and
# trait. A trait that is neither taken by apply_lab_config nor listed here fails a unit test, so that
# a new setting of the local lab gets a decision for Kubernetes.
CHART_DECIDES = {
    "JupyterHub.bind_url": "proxy.service / ingress",
    "JupyterHub.hub_bind_url": "the chart's hub Service",
    "JupyterHub.cleanup_proxy": "the chart (proxy in its own pod)",
    "JupyterHub.cleanup_servers": "the chart (False: user pods outlive a hub restart)",
    "JupyterHub.cookie_secret_file": "the chart's Secret `hub`",
    "JupyterHub.db_url": "hub.db",
    "JupyterHub.spawner_class": "the chart (KubeSpawner)",
    "ConfigurableHTTPProxy.*": "the chart's proxy pod",
    "BackstageSpawner.*": "singleuser.* (KubeSpawner: a pod and a volume per person)",
    "LocalProcessSpawner.*": "singleuser.* (KubeSpawner)",
    "Spawner.cmd": "singleuser.cmd",
    "Spawner.default_url": "singleuser.defaultUrl",
    "Spawner.mem_limit": "singleuser.memory.limit",
    "Spawner.env_keep": "singleuser.extraEnv",
    "Spawner.environment": "singleuser.extraEnv (BACKSTAGE_GALLERY_API: apply_lab_config, the gallery's Service)",
    "Spawner.http_timeout": "singleuser.startTimeout (image pulls take longer)",
    "Spawner.start_timeout": "singleuser.startTimeout (image pulls take longer)",
}
# Keys of a service entry that only make sense for a process the hub starts itself.
_PROCESS_KEYS = ("command", "environment", "cwd", "user")
# Local-lab settings that Kubernetes decides elsewhere: setting them in the site file is a mistake.
_NOT_ON_KUBERNETES = {
    "ip": "proxy.service (type, port) and ingress",
    "port": "proxy.service (type, port) and ingress",
    "proxy_command": "the chart's proxy pod (proxy.chp)",
    "singleuser_command": "singleuser.cmd",
    "user_prefix": "nothing: every person has their own pod and volume",
    "isolation": "nothing: every person has their own pod and volume",
    "mem_limit": "singleuser.memory.limit",
    "idle_timeout": "cull.timeout",
    "starter_notebooks": "the user image (binder/) and singleuser.lifecycleHooks",
}


def kubernetes_settings(site: dict, *, environ: dict, cull_timeout: int | None,
                        source: str = SETTINGS_PATH) -> dict:
    """The lab's settings for the hub pod: defaults ▸ site file ▸ secrets from the environment.

    Parameters
    ----------
    site : dict
        The site settings (``hub.extraFiles.backstage-settings.data`` in values.yaml).
    environ : dict
        The hub pod's environment; ``BACKSTAGE_EVENT_PASSWORD`` (from the Secret ``backstage-auth``)
        becomes ``auth.event_password``.
    cull_timeout : int or None
        ``cull.timeout`` when ``cull.enabled``, else None: the lab's ``idle_timeout``.
    source : str
        Named in error messages.

    Returns
    -------
    dict
        Settings validated by :func:`backstage.settings.validate_settings`.

    Raises
    ------
    KubernetesConfigError
        A setting that Kubernetes decides elsewhere, or invalid settings.
    """
    if not isinstance(site, dict):
        raise KubernetesConfigError(f"{source} must hold a mapping of settings, not {type(site).__name__}: "
                                    "fix hub.extraFiles.backstage-settings.data in values.yaml")
    misplaced = sorted(set(site) & set(_NOT_ON_KUBERNETES))
    if misplaced:
        raise KubernetesConfigError(
            f"{source}: these settings have no effect on Kubernetes; remove them from "
            "hub.extraFiles.backstage-settings.data: "
            + "; ".join(f"{key!r} (set {_NOT_ON_KUBERNETES[key]} instead)" for key in misplaced))
    settings = _merge(DEFAULTS, site)  # the settings module's own layering, as on one machine
    if environ.get("BACKSTAGE_EVENT_PASSWORD"):
        settings["auth"]["event_password"] = environ["BACKSTAGE_EVENT_PASSWORD"]
    settings["idle_timeout"] = int(cull_timeout or 0)
    settings["isolation"] = "none"  # KubeSpawner: one pod and one volume per person
    if not settings.get("public_url") and not settings.get("unsafe_shared_origin"):
        raise KubernetesConfigError(
            f"{source}: public_url is not set: set it to the site's address, e.g. public_url: "
            "https://lab.example.org, in hub.extraFiles.backstage-settings.data (each person's server then "
            "runs at https://<name>.lab.example.org: the site needs a wildcard DNS name and certificate, "
            "see hub/k8s/README.md)")
    try:
        validate_settings(settings, source)
    except SettingsError as e:
        raise KubernetesConfigError(
            f"{e} (on Kubernetes the event password comes from the Secret backstage-auth, "
            "key event-password)" if "event_password" in str(e) else str(e)) from None
    return settings


def _read_site(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise KubernetesConfigError(
            f"{path} is missing: hub.extraFiles.backstage-settings (mountPath {SETTINGS_PATH}) must be "
            "set in values.yaml, or BACKSTAGE_SETTINGS must name the settings file") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise KubernetesConfigError(f"{path} is not valid YAML ({e}): fix "
                                    "hub.extraFiles.backstage-settings in values.yaml") from None


def _port_of(service: dict) -> int:
    url = service.get("url") or ""
    port = urlparse(url).port
    if not port:
        raise KubernetesConfigError(
            f"service {service['name']!r}: its url {url!r} has no port: set its port in the site "
            f"settings (internal_ports) in hub.extraFiles.backstage-settings")
    return port


def _roles(chart_roles: list, lab_roles: list) -> list:
    """The chart's roles (its culler, hub.loadRoles) plus the lab's, without the lab's own culler role."""
    kept = []
    for role in lab_roles:
        only_culler = (set(role.get("services", ())) == {roles.CULLER_SERVICE}
                       and not role.get("users") and not role.get("groups"))
        if not only_culler:
            kept.append(role)
    taken = {r["name"] for r in kept}
    for role in chart_roles:
        if role["name"] in taken:
            raise KubernetesConfigError(
                f"hub.loadRoles.{role['name']} in values.yaml redefines a role of the lab: remove it there "
                "and change the role in backstage/roles.py, which both the local lab and Kubernetes use")
    return list(chart_roles) + kept


def _services(chart_services: list, lab_services: list, environ: dict) -> list:
    """The lab's services with Kubernetes addresses, merged with the chart's entries by name."""
    chart = {s["name"]: s for s in chart_services}
    out = []
    for lab in lab_services:
        name = lab["name"]
        if name == roles.CULLER_SERVICE:
            continue  # the chart runs jupyterhub-idle-culler from cull.*
        service = copy.deepcopy(lab)
        if name == roles.GALLERY_SERVICE:
            # its own pod: the hub does not start it, and reaches it through its Service
            port = _port_of(lab)
            for key in _PROCESS_KEYS:
                service.pop(key, None)
            service["url"] = f"http://{GALLERY_HOST}:{port}"
            entry = chart.get(name)
            if entry is None or not entry.get("api_token"):
                raise KubernetesConfigError(
                    f"hub.services.{name} is missing from values.yaml (or has no API token): list it "
                    f"(`{name}: {{}}`) so that the chart generates the token the gallery's pod reads from "
                    f"the Secret `hub`, key hub.services.{name}.apiToken")
        elif service.get("url") and service.get("command"):
            # started by the hub in the hub pod; the proxy (another pod) reaches it on the pod's address
            port = _port_of(lab)
            pod_ip = environ.get("POD_IP")
            if not pod_ip:
                raise KubernetesConfigError(
                    f"service {name!r} runs in the hub pod but POD_IP is not set: add hub.extraEnv.POD_IP "
                    "(valueFrom.fieldRef.fieldPath: status.podIP) to values.yaml")
            service["url"] = f"http://{pod_ip}:{port}"
        service.update({k: v for k, v in chart.pop(name, {}).items() if k != "name"})
        out.append(service)
    return list(chart.values()) + out


def _section_is_authenticator(name: str) -> bool:
    return name == "Authenticator" or name.endswith("Authenticator")


def apply_lab_config(c, lab, *, settings: dict, environ: dict) -> None:
    """Copy the lab's sign-in, groups, roles, scopes and services from ``lab`` onto the chart's ``c``.

    Parameters
    ----------
    c : traitlets.config.Config
        The chart's configuration, as its ``jupyterhub_config.py`` has built it so far.
    lab : traitlets.config.Config
        :func:`backstage.hubconfig.build_config` of the Kubernetes settings.
    settings : dict
        Those settings (:func:`kubernetes_settings`).
    environ : dict
        The hub pod's environment (``POD_IP``).
    """
    hub, lab_hub = c.JupyterHub, lab.JupyterHub
    for trait in _LAB_TRAITS:
        if trait in lab_hub:
            hub[trait] = copy.deepcopy(lab_hub[trait])
    hub.load_roles = _roles(list(hub.get("load_roles", [])), list(lab_hub.get("load_roles", [])))
    lab_services = list(lab_hub.get("services", []))
    if roles.GALLERY_SERVICE not in {s["name"] for s in lab_services}:
        # The hub image need not be able to import the gallery (Voilà, nbclient...): it runs in its
        # own pod, so the hub always routes to it.
        lab_services.append(gallery_service(settings))
    hub.services = _services(list(hub.get("services", [])), lab_services, environ)
    gallery = next((s for s in hub.services if s["name"] == roles.GALLERY_SERVICE), None)
    if gallery is not None:  # where a notebook cell submits (backstage.gallery.client): the gallery's Service
        c.Spawner.environment = {**c.get("Spawner", {}).get("environment", {}),
                                 "BACKSTAGE_GALLERY_API": f"{gallery['url']}/services/{roles.GALLERY_SERVICE}/api/"}
    hub.template_paths = list(lab_hub.get("template_paths", [])) + [
        p for p in hub.get("template_paths", []) if p not in lab_hub.get("template_paths", [])]
    hub.template_vars = {**lab_hub.get("template_vars", {}), **hub.get("template_vars", {})}
    for trait in _LAB_SPAWNER_TRAITS:
        if trait in lab.get("Spawner", {}):
            c.Spawner[trait] = copy.deepcopy(lab.Spawner[trait])
    for section in lab:
        if _section_is_authenticator(section):
            c[section].update(copy.deepcopy(lab[section]))
    lab_url = lab.get("Spawner", {}).get("default_url")
    if lab_url and c.get("Spawner", {}).get("default_url") != lab_url:
        log.warning("singleuser.defaultUrl is %r but the local lab opens %r: set singleuser.defaultUrl",
                    c.get("Spawner", {}).get("default_url"), lab_url)


def ensure_admin(settings: dict, environ: dict) -> None:
    """Give the first admin account its password in the sign-up store, from ``BACKSTAGE_ADMIN_PASSWORD``.

    What ``backstage up`` does on one machine; idempotent (a rotated Secret takes effect at the next
    start). Without it, in the modes where admins sign in with a password (all but ``oauthenticator``),
    whoever first signed up as the admin's name would be let in as admin, so a missing password stops
    the hub with a clear error instead. ``BACKSTAGE_DRY_RUN=1`` (the dry render) checks but writes nothing.

    Raises
    ------
    KubernetesConfigError
        ``BACKSTAGE_ADMIN_PASSWORD`` is not set in a password mode.
    """
    if settings["auth"]["mode"] == "oauthenticator":
        return
    password = environ.get("BACKSTAGE_ADMIN_PASSWORD")
    admin = settings["admin_users"][0]
    if not password:
        raise KubernetesConfigError(
            f"BACKSTAGE_ADMIN_PASSWORD is not set: the admin {admin!r} signs in with a password in the "
            f"{settings['auth']['mode']!r} mode. Create it: `kubectl create secret generic backstage-auth "
            "--from-literal=admin-password=...` (key admin-password, read by hub.extraEnv)")
    if environ.get("BACKSTAGE_DRY_RUN") == "1":
        return
    state = Path(settings["state_dir"])
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    if state.stat().st_uid == os.geteuid():
        os.chmod(state, 0o700)
    # else: the root of a volume, whose owner and group Kubernetes set (fsGroup); it is not ours to chmod
    SignupStore(state / "signups.sqlite").set_password(admin, password)


def configure_hub(c, get_config, get_secret_value=None, environ: dict | None = None,
                  settings_path: str | os.PathLike | None = None) -> dict:
    """Build the lab's configuration and apply it to the chart's ``c`` (called by ``hub.extraConfig``).

    Parameters
    ----------
    c : traitlets.config.Config
        The chart's configuration object.
    get_config : callable
        The chart's ``z2jh.get_config`` (reads the chart's values in the hub pod).
    get_secret_value : callable, optional
        The chart's ``z2jh.get_secret_value``; the chart itself already put the services' API
        tokens into ``c`` (accepted so that the extraConfig reads like the chart's own examples).
    environ : dict, optional
        Defaults to ``os.environ``.
    settings_path : path, optional
        Defaults to ``$BACKSTAGE_SETTINGS`` or :data:`SETTINGS_PATH`.

    Returns
    -------
    dict
        The settings used.

    Examples
    --------
    In ``hub.extraConfig`` (values.yaml)::

        from backstage.k8s import configure_hub
        configure_hub(c, get_config=get_config, get_secret_value=get_secret_value)
    """
    env = os.environ if environ is None else environ
    path = Path(settings_path or env.get("BACKSTAGE_SETTINGS") or SETTINGS_PATH)
    cull_timeout = get_config("cull.timeout") if get_config("cull.enabled", False) else None
    settings = kubernetes_settings(_read_site(path), environ=env, cull_timeout=cull_timeout, source=str(path))
    apply_lab_config(c, build_config(settings), settings=settings, environ=env)
    ensure_admin(settings, env)
    if env is os.environ:  # inside the hub pod: the same JupyterHub fix as the local lab's config
        from backstage import patches

        patches.apply()
        os.environ.pop("BACKSTAGE_ADMIN_PASSWORD", None)  # the store has its hash; nothing else needs it
    log.info("Government Backstage: sign-in %r, %d groups, %d roles, services %s",
             settings["auth"]["mode"], len(c.JupyterHub.load_groups), len(c.JupyterHub.load_roles),
             ", ".join(s["name"] for s in c.JupyterHub.services))
    return settings
