"""The hub's managed services: the idle culler, the "Share my server" page, the gallery and the commons."""

from __future__ import annotations

import importlib.util
import sys

from backstage import urls
from backstage.roles import (
    ANSWER_SCOPE,
    CHALLENGES_SCOPE,
    COMMONS_SERVICE,
    CULLER_SERVICE,
    GALLERY_SERVICE,
    REVIEW_SCOPE,
    SHARE_PAGE_SCOPES,
    SHARE_SERVICE,
)

SERVICE_START_TIMEOUT = 120  # seconds

__all__ = ["commons_service", "culler_service", "gallery_available", "gallery_service", "managed_services", "share_service"]


def _lab_env(settings: dict) -> dict:
    # where people's servers and the services are (backstage.urls.user_server_url, service_url)
    env = {"BACKSTAGE_STATE": settings["state_dir"], urls.SUBDOMAIN_HOST_ENV: urls.subdomain_host(settings)}
    if settings.get("lab_id"):
        env["BACKSTAGE_LAB_ID"] = settings["lab_id"]
    return env


def culler_service(settings: dict) -> dict | None:
    """The idle culler (stops servers idle longer than ``idle_timeout`` seconds); None when 0."""
    timeout = settings["idle_timeout"]
    if not timeout:
        return None
    return {
        "name": CULLER_SERVICE,
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={timeout}",
                    f"--cull-every={max(60, min(600, timeout // 4))}"],
        "environment": _lab_env(settings),
    }


def share_service(settings: dict) -> dict:
    """The "Share my server" page; it acts with the visitor's own token, limited to sharing."""
    return {
        "name": SHARE_SERVICE,
        "display": True,
        "info": {"display_name": "Share my server",
                 "description": "Share your server with a person or a group, and revoke it"},
        "url": f"http://127.0.0.1:{settings['internal_ports']['share']}",
        "command": [sys.executable, "-m", "backstage.share"],
        "environment": _lab_env(settings),
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": list(SHARE_PAGE_SCOPES),
    }


def gallery_available() -> bool:
    """True once the gallery can run (``python -m backstage.gallery`` finds its ``__main__``)."""
    try:
        return importlib.util.find_spec("backstage.gallery.__main__") is not None
    except (ImportError, ValueError):
        return False


def gallery_service(settings: dict) -> dict:
    """The gallery's service entry (contract 4); the gallery helper owns this function's body.

    Its OAuth tokens carry: access to the gallery itself, the reviewers' custom scope (checked by
    the gallery), and access to the viewer's *own* server only, so the submit page can read the
    notebook they pick through their server's contents API.
    """
    import os

    ports = settings["internal_ports"]
    host = settings.get("ip") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 (comparison, not a bind)
    env = {
        **_lab_env(settings),
        "GALLERY_VOILA_PORT": str(ports["gallery_voila"]),
        "BACKSTAGE_PUBLIC_URL": f"http://{host}:{settings['port']}",
    }
    if ports.get("commons"):  # the idea a dashboard answers and its data problems (gallery/commons_links.py)
        env["BACKSTAGE_COMMONS_API"] = f"http://127.0.0.1:{ports['commons']}/services/{COMMONS_SERVICE}/api/"
    # govdata's mirror/cache and the test isolation of Jupyter's folders reach the checks' and dashboards' kernels.
    for name in ("GOVDATA_MIRROR", "GOVDATA_CACHE", "HOME", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR",
                 "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "PATH"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return {
        "name": GALLERY_SERVICE,
        "info": {"display_name": "Dashboard gallery",
                 "description": "Submit a notebook; open the published dashboards"},
        "url": f"http://127.0.0.1:{ports['gallery']}",
        "command": [sys.executable, "-m", "backstage.gallery"],
        "environment": env,
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [f"access:services!service={GALLERY_SERVICE}", REVIEW_SCOPE,
                                        "read:users:groups!user", "access:servers!user"],
    }


def commons_service(settings: dict) -> dict:
    """The commons (contract 7): challenges, ideas, votes, data requests; public to read unless
    ``commons: {public: false}``.

    Its OAuth tokens carry: access to the commons, the commons' two custom scopes (checked by the
    commons), the viewer's groups (moderators are organisers), and the viewer's *own* server only, so
    "Start a prototype" can start it and write a notebook into it through its contents API.
    """
    import os

    env = {**_lab_env(settings)}
    for name in ("GOVDATA_MIRROR", "GOVDATA_CACHE"):  # to verify the catalog ids that stewards name
        if os.environ.get(name):
            env[name] = os.environ[name]
    if settings.get("gallery", "auto") is not False:
        # the gallery's list of dashboards (lineage), read with the commons' own service token
        env["BACKSTAGE_GALLERY_API_URL"] = f"http://127.0.0.1:{settings['internal_ports']['gallery']}/services/{GALLERY_SERVICE}/api/dashboards"
    public = settings.get("commons", {}).get("public", True)
    return {
        "name": COMMONS_SERVICE,
        "display": True,
        "info": {"description": "Commons: challenges, ideas and data requests"},
        "url": f"http://127.0.0.1:{settings['internal_ports']['commons']}",
        "command": [sys.executable, "-m", "backstage.commons", f"--CommonsApp.public={public}"],
        "environment": env,
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [f"access:services!service={COMMONS_SERVICE}", CHALLENGES_SCOPE, ANSWER_SCOPE,
                                        "read:users:groups!user", "read:servers!user", "servers!user",
                                        "access:servers!user"],
    }


def managed_services(settings: dict) -> list[dict]:
    """Every service the hub starts and stops with itself."""
    services = [culler_service(settings), share_service(settings), commons_service(settings)]
    wanted = settings.get("gallery", "auto")
    if wanted is True or (wanted == "auto" and gallery_available()):
        services.append(gallery_service(settings))
    # the hub gives up (and exits) when a service does not answer in time: 30 s by default,
    # too short for the gallery's start on a busy 2-core machine
    return [{"timeout": SERVICE_START_TIMEOUT, **s} for s in services if s]
