"""The hub-OAuth base handler: who is asking, and what may they do.

Reading may be public (``allow_anonymous``): an anonymous visitor is simply ``current_user is None``.
A cookie-authenticated write without its XSRF token resolves to no user (JupyterHub's own check), and
:meth:`HubUserHandler.require_user` then says that the XSRF token is the problem, not the sign-in.
"""

from __future__ import annotations

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from tornado import web

SIGN_IN_FIRST = "sign in first, or send 'Authorization: token <your hub token>'"


class HubUserHandler(HubOAuthenticated, web.RequestHandler):
    """Resolves the hub user asynchronously before every request (``prepare``) and checks scopes."""

    #: the service's name, for messages ("you do not have access to the commons")
    service_title = "this service"

    async def prepare(self):
        model = await self.hub_auth.get_user(self, sync=False)
        self._not_allowed = False
        if model:
            try:
                model = self.check_hub_user(model)
            except UserNotAllowed:
                model = None
                self._not_allowed = True
        self._hub_auth_user_cache = model

    def get_current_user(self):
        return getattr(self, "_hub_auth_user_cache", None)

    def has_scope(self, scope: str, user: dict | None = None) -> bool:
        """True when *user* (default: the viewer) holds *scope* (e.g. ``custom:commons:challenges``)."""
        user = user or self.current_user
        return bool(user) and scope in (user.get("scopes") or [])

    def in_group(self, group: str, user: dict | None = None) -> bool:
        user = user or self.current_user
        return bool(user) and (group in (user.get("groups") or []) or bool(user.get("admin")))

    def require_user(self) -> dict:
        """The signed-in user, or a 403 that names the cause (missing XSRF token, no access, not signed in)."""
        user = self.current_user
        if user:
            return user
        if self._not_allowed:
            raise web.HTTPError(403, f"you do not have access to {self.service_title}: "
                                     "ask an organiser to add you to a group")
        if self.request.method not in ("GET", "HEAD") and self.hub_auth._get_token_cookie(self):
            raise web.HTTPError(403, "missing or invalid XSRF token: reload the page and try again")
        raise web.HTTPError(403, SIGN_IN_FIRST)

    def require_scope(self, scope: str, who: str) -> dict:
        """The signed-in user if they hold *scope*; else 403 naming *who* may do it."""
        user = self.require_user()
        if not self.has_scope(scope, user):
            raise web.HTTPError(403, f"only {who} may do this (scope {scope})")
        return user

    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("X-Frame-Options", "SAMEORIGIN")
