"""Where things are, as the proxy routes them: the hub, each person's server, each service.

With one origin per person (the default), JupyterHub's ``subdomain_host`` puts each server on a host
of its own and each service on another (JupyterHub 6's ``subdomain_hook_idna``)::

    hub              http://localhost:8000/hub/
    ada's server     http://ada.localhost:8000/user/ada/
    the gallery      http://gallery--service.localhost:8000/services/gallery/

so a page that a participant serves from their server cannot act as whoever opens it against the
hub (issue 11, finding 1). With ``unsafe_shared_origin: true`` everything shares the hub's origin.

The settings functions (:func:`hub_origin`, :func:`subdomain_host`) are for the hub's configuration;
:func:`user_server_url` and :func:`service_url` are also for the lab's services, which learn the
subdomain host from ``$BACKSTAGE_SUBDOMAIN_HOST`` (set by ``backstage.services``).
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlparse

from jupyterhub.utils import subdomain_hook_idna

__all__ = ["hub_origin", "origins_per_person", "service_url", "subdomain_host", "user_server_url"]

SUBDOMAIN_HOST_ENV = "BACKSTAGE_SUBDOMAIN_HOST"


def origins_per_person(settings: dict) -> bool:
    """True unless the site turned one origin per person off (``unsafe_shared_origin: true``)."""
    return not settings.get("unsafe_shared_origin", False)


def hub_origin(settings: dict) -> str:
    """The origin people open the hub at, e.g. ``http://localhost:8000`` or ``https://lab.example.org``.

    ``public_url`` when the site sets it; otherwise ``http://localhost:<port>`` with one origin per
    person (``*.localhost`` resolves to loopback in browsers), else the address the proxy listens on.
    """
    if settings.get("public_url"):
        return settings["public_url"].rstrip("/")
    if origins_per_person(settings):
        return f"http://localhost:{settings['port']}"
    ip = settings.get("ip") or "127.0.0.1"
    ip = "127.0.0.1" if ip in ("0.0.0.0", "", "::") else ip  # noqa: S104 (a comparison, not a bind)
    return f"http://{ip}:{settings['port']}"


def subdomain_host(settings: dict) -> str:
    """``JupyterHub.subdomain_host`` for ``settings``: the hub's origin, or ``""`` for a shared origin."""
    return hub_origin(settings) if origins_per_person(settings) else ""


def _on_subdomain(name: str, kind: str, host: str) -> str:
    parsed = urlparse(host)
    origin = f"{parsed.scheme}://{subdomain_hook_idna(name, parsed.hostname, kind)}"
    return f"{origin}:{parsed.port}" if parsed.port else origin


def _subdomain_host_from_env(value: str | None) -> str:
    return os.environ.get(SUBDOMAIN_HOST_ENV, "") if value is None else value


def user_server_url(name: str, hub_url: str, subdomain_host: str | None = None, base_url: str = "/") -> str:
    """The URL of ``name``'s default server as the proxy routes it (with a trailing slash).

    Parameters
    ----------
    name : str
        The person's hub name.
    hub_url : str
        The proxy's origin for a shared origin, e.g. ``http://127.0.0.1:8000``.
    subdomain_host : str, optional
        ``JupyterHub.subdomain_host`` (default: ``$BACKSTAGE_SUBDOMAIN_HOST``); ``""`` for a shared origin.
    base_url : str
        JupyterHub's ``base_url``.

    Examples
    --------
    >>> user_server_url("ada", "http://127.0.0.1:8000", "http://localhost:8000")
    'http://ada.localhost:8000/user/ada/'
    >>> user_server_url("ada", "http://127.0.0.1:8000", "")
    'http://127.0.0.1:8000/user/ada/'
    """
    host = _subdomain_host_from_env(subdomain_host)
    origin = _on_subdomain(name, "user", host) if host else hub_url.rstrip("/")
    return f"{origin}{base_url.rstrip('/')}/user/{quote(name, safe='@~')}/"


def service_url(name: str, hub_url: str, subdomain_host: str | None = None, base_url: str = "/") -> str:
    """The URL of the hub service ``name`` as the proxy routes it (with a trailing slash).

    Examples
    --------
    >>> service_url("gallery", "http://127.0.0.1:8000", "http://localhost:8000")
    'http://gallery--service.localhost:8000/services/gallery/'
    """
    host = _subdomain_host_from_env(subdomain_host)
    origin = _on_subdomain(name, "service", host) if host else hub_url.rstrip("/")
    return f"{origin}{base_url.rstrip('/')}/services/{quote(name, safe='')}/"
