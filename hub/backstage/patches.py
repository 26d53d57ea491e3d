"""Fixes for JupyterHub 6.1.1. First: a server shared with a *group* is unreachable with tokens.

``jupyterhub.scopes.get_scopes_for(token)`` adds the shares of the token's owner, but not those of
the owner's groups (``orm.User.all_shared_with_me`` exists and is unused there). Every request
authenticated by a token (API tokens, and the OAuth tokens browsers use on single-user servers)
therefore misses group shares: found by ``tests/integration/test_hub_access.py``. :func:`apply`
wraps the function to add them, within the token's own scopes; it is idempotent, called by
``hub/jupyterhub_config.py`` inside the hub process, and harmless once JupyterHub fixes this.

Two more, for one origin per person (``JupyterHub.subdomain_host``, see ``backstage/urls.py``):

- ``Service.href`` (the hub's Services menu) is ``//<name>--service.<domain>/services/<name>/``
  without the port, so on ``http://localhost:8000`` every service link pointed at port 80:
  :func:`_service_href_with_port` uses the service's host, port included.
- With host routing the hub is the proxy's default target for *every* host, so its pages also
  answered at ``http://ada.localhost:8000/hub/login``: an admin signing in there would leave the
  hub's cookies on ada's origin, where ada's pages read them. :func:`_hub_only_on_its_own_host`
  sends page requests for ``/hub/`` on a person's or a service's host to the hub's own host (and
  refuses other methods there), so hub cookies are only ever set on the hub's host.
- The hub's ``jupyterhub-session-id`` cookie is set with ``Domain=<domain>`` so subdomains share it.
  For a one-label domain (``localhost``) Chromium makes it host-only anyway (it refuses a
  ``Domain`` that is not the host when the host has no registrable domain), while Python's cookie
  jar keeps it as a domain cookie it never sends back to ``localhost``, which breaks the XSRF check
  of every scripted sign-in. :func:`_host_only_cookies_on_one_label_domains` leaves ``Domain`` out
  there, so every client does what Chromium does (and no ``*.localhost`` server gets the cookie).
- A service's old address on the hub's host (``http://localhost:8000/services/gallery/...``, from a
  bookmark or a printed hand-out) led to a 404: :func:`_service_paths_on_the_hub_go_to_the_service`
  redirects it to the service's own host, same path and query.
"""

from __future__ import annotations

__all__ = ["apply", "foreign_subdomain"]


def apply() -> None:
    """Apply every patch of this module (idempotent)."""
    _group_shares_for_tokens()
    _service_href_with_port()
    _hub_only_on_its_own_host()
    _host_only_cookies_on_one_label_domains()
    _service_paths_on_the_hub_go_to_the_service()


def foreign_subdomain(request_host: str, domain: str) -> bool:
    """True when ``request_host`` (``Host`` header) is a subdomain of the hub's ``domain``.

    >>> foreign_subdomain("ada.localhost:8000", "localhost"), foreign_subdomain("localhost:8000", "localhost")
    (True, False)
    >>> foreign_subdomain("127.0.0.1:8000", "localhost"), foreign_subdomain("evil-localhost:8000", "localhost")
    (False, False)
    """
    from tornado.httputil import split_host_and_port

    if not domain:
        return False
    hostname = split_host_and_port(request_host.lower())[0].rstrip(".")
    return hostname.endswith("." + domain.lower())


def _service_href_with_port() -> None:
    from jupyterhub.services.service import Service

    if getattr(Service.href.fget, "_backstage_port", False):
        return

    def href(self):
        """Link to this service: its own host (port included) with subdomains, else its path."""
        return f"{self.host}{self.prefix}" if self.domain else self.prefix

    href._backstage_port = True
    Service.href = property(href)


def _hub_only_on_its_own_host() -> None:
    from jupyterhub.handlers.base import BaseHandler
    from tornado import web

    if getattr(BaseHandler.prepare, "_backstage_own_host", False):
        return
    original = BaseHandler.prepare

    async def prepare(self):
        if self.subdomain_host and foreign_subdomain(self.request.host, self.domain):
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.subdomain_host.rstrip("/") + self.request.uri)
                return
            raise web.HTTPError(403, f"The hub answers at {self.subdomain_host}, not at {self.request.host}.")
        return await original(self)

    prepare._backstage_own_host = True
    BaseHandler.prepare = prepare


def _service_paths_on_the_hub_go_to_the_service() -> None:
    from jupyterhub.handlers.base import PrefixRedirectHandler

    if getattr(PrefixRedirectHandler.get, "_backstage_services", False):
        return
    original = PrefixRedirectHandler.get

    def get(self):
        prefix = self.base_url + "services/"
        if self.subdomain_host and self.request.path.startswith(prefix):
            name = self.request.path[len(prefix):].split("/", 1)[0]
            service = self.services.get(name)
            if service is not None and service.host:
                self.redirect(service.host + self.request.uri, permanent=False)
                return None
        return original(self)

    get._backstage_services = True
    PrefixRedirectHandler.get = get


def _host_only_cookies_on_one_label_domains() -> None:
    from jupyterhub.handlers.base import BaseHandler

    if getattr(BaseHandler._set_cookie, "_backstage_host_only", False):
        return
    original_set, original_clear = BaseHandler._set_cookie, BaseHandler.clear_cookie

    def _one_label(kwargs: dict) -> dict:
        if "." not in kwargs.get("domain", "."):
            kwargs.pop("domain")
        return kwargs

    def _set_cookie(self, key, value, encrypted=True, **overrides):
        return original_set(self, key, value, encrypted=encrypted, **_one_label(overrides))

    def clear_cookie(self, cookie_name, **kwargs):
        return original_clear(self, cookie_name, **_one_label(kwargs))

    _set_cookie._backstage_host_only = True
    BaseHandler._set_cookie, BaseHandler.clear_cookie = _set_cookie, clear_cookie


def _group_shares_for_tokens() -> None:
    """Patch ``jupyterhub.scopes.get_scopes_for`` to include the shares of the owner's groups."""
    import sqlalchemy as sa
    from jupyterhub import orm, scopes

    if getattr(scopes.get_scopes_for, "_backstage_group_shares", False):
        return
    original = scopes.get_scopes_for

    def get_scopes_for(orm_object):
        result = original(orm_object)
        if not isinstance(orm_object, orm.APIToken) or orm_object.user is None:
            return result
        extra = set()
        for group in orm_object.user.groups:
            for share in group.shared_with_me:
                extra |= set(scopes.expand_share_scopes(share))
        extra -= set(result)
        if not extra:
            return result
        if "inherit" not in orm_object.scopes:
            wanted = set(scopes.expand_scopes(set(orm_object.scopes), owner=orm_object.user,
                                              oauth_client=orm_object.oauth_client))
            if orm_object.client_id != "jupyterhub":
                wanted |= set(scopes.access_scopes(orm_object.oauth_client))
            extra = set(scopes._intersect_expanded_scopes(wanted, extra, db=sa.inspect(orm_object).session))
        return set(result) | extra

    get_scopes_for._backstage_group_shares = True
    scopes.get_scopes_for = get_scopes_for
