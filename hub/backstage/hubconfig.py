"""Build the hub's configuration from the lab's settings: a pure function, unit-tested on a ``Config()``.

``hub/jupyterhub_config.py`` (and, on Kubernetes, ``backstage.k8s.configure_hub`` from ``hub.extraConfig``) calls
:func:`build_config` on :func:`~backstage.settings.load_settings`. The config only sets values,
never appends to lists it did not create.
"""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

from backstage import roles, urls
from backstage.auth.landing import home_template_vars, landing_url, spawner_default_url
from backstage.public_pages import public_handlers
from backstage.services import managed_services
from backstage.settings import load_settings
from backstage.web import asset_routes
from backstage.web.layout import HubLayout, Site

__all__ = ["REPO", "build_config", "load_settings"]

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent.parent

REVOKE_WITHIN = 10  # seconds: a share or its revocation takes effect within this

_AUTHENTICATORS = {
    "signup": "backstage.auth.SignupAuthenticator",
    "open-signup": "backstage.auth.SignupAuthenticator",
    "shared-password": "backstage.auth.EventPasswordAuthenticator",
    "oidc": "backstage.auth.oidc.OIDCAuthenticator",
}


def front_door(handler) -> str:
    """``JupyterHub.default_url``: an anonymous visitor at ``/`` lands on the commons' home page (contract 7).

    Signed-in people land where :func:`backstage.auth.landing.landing_url` says (officials on the
    gallery, participants in their own lab); a closed commons (``commons: {public:
    false}``) leaves anonymous visitors at the sign-in form. The commons' ``href`` carries its own host
    when services have origins of their own (``JupyterHub.subdomain_host``).
    """
    if handler.current_user:
        return landing_url(handler)
    commons = handler.services.get(roles.COMMONS_SERVICE)
    return commons.href if commons is not None else ""


def _proxy_command(settings: dict) -> list[str]:
    return settings.get("proxy_command") or [str(REPO / "node_modules" / ".bin" / "configurable-http-proxy")]


def _oidc(c: Config, settings: dict, store: str) -> None:
    """GOV.UK One Login (contract 9): ``backstage.auth.oidc.OIDCAuthenticator`` from ``auth``."""
    auth, state = settings["auth"], Path(settings["state_dir"])
    oidc = c.OIDCAuthenticator
    oidc.issuer = auth["issuer"]
    oidc.client_id = auth["client_id"]
    oidc.oauth_callback_url = urls.hub_origin(settings) + "/hub/oauth_callback"
    oidc.token_auth_method = auth.get("token_auth", "private_key_jwt")
    if auth.get("private_key"):
        oidc.private_key_path = str(state / auth["private_key"])  # a relative path is in the state folder
    if auth.get("client_secret"):
        oidc.client_secret = auth["client_secret"]
    oidc.vtr = auth.get("vtr", ["Cl.Cm"])
    oidc.scope = auth.get("scopes", ["openid", "email"])
    oidc.ui_locales = auth.get("ui_locales", "en")
    oidc.new_people = auth.get("new_people", "participant")
    oidc.login_service = auth.get("service_name", "GOV.UK One Login")
    oidc.store_path = store
    oidc.people_path = str(state / "oidc-people.sqlite")


def build_config(settings: dict) -> Config:
    """Return the JupyterHub ``Config`` for ``settings`` (as made by ``load_settings``); no side effects.

    Parameters
    ----------
    settings : dict
        Validated settings: state folder, ports, sign-in mode, limits, Unix prefix.

    Returns
    -------
    traitlets.config.Config
    """
    c = Config()
    state = Path(settings["state_dir"])
    ports = settings["internal_ports"]
    auth = settings["auth"]
    admins = list(settings["admin_users"])

    # network: the proxy listens on the public port, everything else on loopback
    c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{ports['hub']}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports['proxy_api']}"
    c.ConfigurableHTTPProxy.command = _proxy_command(settings)
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    c.ConfigurableHTTPProxy.should_start = True

    # one origin per person (issue 11): each server on <name>.<host>, each service on
    # <name>--service.<host>, so nothing a participant serves runs in the hub's origin (see backstage/urls.py)
    c.JupyterHub.subdomain_host = urls.subdomain_host(settings)
    if settings.get("public_url"):
        c.JupyterHub.public_url = urls.hub_origin(settings)
    # `__Host-` cookies cannot be set from a subdomain (no cookie tossing onto the hub): browsers accept
    # them only with Secure, so on https. On http://localhost there is nothing to toss onto: browsers
    # treat `localhost` as a public suffix and refuse `Domain=localhost` from <name>.localhost
    # (measured in Chromium by tests/browser/test_hub_origins_browser.py).
    c.JupyterHub.cookie_host_prefix_enabled = urls.hub_origin(settings).startswith("https://")

    # state (all in the state folder, root-only files)
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    # the hub's pages in the lab's one layout, shared with the services (backstage/web/layout.py)
    c.JupyterHub.template_paths = [str(PACKAGE / "templates"), str(PACKAGE / "web" / "templates")]
    # cookies, privacy, accessibility, house rules: public pages in the hub's layout (backstage/public_pages.py);
    # JupyterHub 6 logs that extra_handlers are deprecated, yet a service could not use the hub's templates
    # (and GOV.UK Frontend with the layout's own files at /hub/govuk/ and /hub/web/: base_url is always "/")
    c.JupyterHub.extra_handlers = [*public_handlers(settings), *asset_routes("/hub/", mount="/")]
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True

    # sign-in
    mode = auth["mode"]
    c.JupyterHub.authenticator_class = auth.get("authenticator_class") if mode == "oauthenticator" else _AUTHENTICATORS[mode]
    c.Authenticator.allow_all = False
    c.Authenticator.admin_users = set(admins)
    store = str(state / "signups.sqlite")
    services = managed_services(settings)
    site = Site.from_settings(settings, [s["name"] for s in services], urls.subdomain_host(settings))
    c.JupyterHub.template_vars = {**home_template_vars(mode in ("signup", "open-signup")),
                                  "backstage_layout": HubLayout(site, signups=mode in ("signup", "open-signup", "oidc"))}
    if mode != "oauthenticator":
        # ours allow approved sign-ups and group members (an OAuthenticator needs e.g. allowed_groups
        # in jupyterhub_config.d/, and JupyterHub's warning stays on to say so)
        c.Authenticator.any_allow_config = True
    if mode in ("signup", "open-signup"):
        c.SignupAuthenticator.store_path = store
        c.SignupAuthenticator.open_signup = mode == "open-signup"
        c.SignupAuthenticator.min_password_length = auth["min_password_length"]
    elif mode == "shared-password":
        c.EventPasswordAuthenticator.store_path = store
        c.EventPasswordAuthenticator.user_password = auth["event_password"]
    elif mode == "oidc":
        _oidc(c, settings, store)

    # groups, roles, custom scopes (contract 2)
    c.JupyterHub.custom_scopes = roles.CUSTOM_SCOPES
    c.JupyterHub.load_groups = roles.load_groups()
    c.JupyterHub.load_roles = roles.load_roles(admins, culler=bool(settings["idle_timeout"]))

    # servers
    isolate = settings["isolation"] == "users"
    c.JupyterHub.spawner_class = "backstage.spawner.BackstageSpawner"
    c.BackstageSpawner.isolate_users = isolate
    c.BackstageSpawner.user_prefix = settings["user_prefix"]
    c.BackstageSpawner.homes_dir = str(state / "homes")
    c.BackstageSpawner.starter_notebooks = settings.get("starter_notebooks") or str(REPO / "notebooks")
    if settings.get("singleuser_command"):
        c.Spawner.cmd = settings["singleuser_command"]
    c.Spawner.default_url = spawner_default_url(c.BackstageSpawner.starter_notebooks)  # the welcome notebook
    # participants' own Jupyter config, extensions and import paths in their home are not loaded
    # (issue 11: `extra_static_paths` served their HTML from their server)
    c.Spawner.disable_user_config = True
    # shares and revocations take effect within REVOKE_WITHIN s (servers cache the hub's answer; default 300 s)
    c.Spawner.args = [f"--HubOAuth.cache_max_age={REVOKE_WITHIN}"]
    c.Spawner.mem_limit = settings.get("mem_limit")
    if settings.get("start_limit"):
        c.BackstageSpawner.start_limit = settings["start_limit"]  # later arrivals queue
    if settings.get("warm_servers") is not None:
        c.BackstageSpawner.warm_servers = settings["warm_servers"]  # started ahead of a hack day's arrivals
    c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "GOVDATA_MIRROR", "BACKSTAGE_LAB_ID"]
    # a server's own token may submit to the gallery from a notebook cell (backstage.gallery.client), never
    # review: JupyterHub gives it only the part of these scopes that its owner holds (the five groups do)
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", roles.gallery_access_scope()]
    c.Spawner.environment = {"BACKSTAGE_GALLERY_API": f"http://127.0.0.1:{ports['gallery']}/services/{roles.GALLERY_SERVICE}/api/"}
    # a room arriving at once on a small machine: 16 spawns together took 60-72 s each here (CPU-bound;
    # benchmarks/hub_load.py), so wait as long for a server to answer as for it to start
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 120
    # stop quickly (Ctrl-C ends everything within 10 s): Jupyter Server only asks for confirmation on
    # SIGINT, so SIGTERM follows after 1 s (a clean shutdown of its kernels), SIGKILL 3 s later
    c.LocalProcessSpawner.interrupt_timeout = 1
    c.LocalProcessSpawner.term_timeout = 3
    c.LocalProcessSpawner.kill_timeout = 1

    # sharing, services, operations
    c.JupyterHub.services = [{**s, "environment": {**s.get("environment", {}), **site.environ()}} for s in services]
    c.JupyterHub.authenticate_prometheus = True
    c.JupyterHub.default_url = front_door if settings["commons"]["public"] else landing_url
    c.JupyterHub.shutdown_on_logout = False
    return c
