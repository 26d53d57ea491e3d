"""The hub pages of OIDC sign-in: start, callback, logout, and the admin's break-glass password form.

OAuthenticator's handlers, with what One Login needs added: the authorization request carries a
``nonce`` (derived from the state, see :func:`~backstage.auth.oidc.tokens.expected_nonce`), ``vtr``
and ``ui_locales``; the callback refuses with a message a person can act on (cancelled at the
provider, a sign-in link used twice, a state from another browser); logout ends the lab's session and
then sends the person to the provider's end-session endpoint.
"""

from __future__ import annotations

import base64
import json

from jupyterhub.handlers.login import LoginHandler
from oauthenticator.oauth2 import OAuthCallbackHandler, OAuthLoginHandler, OAuthLogoutHandler
from tornado import web
from tornado.httputil import url_concat

from backstage.auth.oidc.tokens import expected_nonce, vtr_param

__all__ = ["BreakGlassLoginHandler", "OIDCCallbackHandler", "OIDCLoginHandler", "OIDCLogoutHandler", "state_id_of"]

START_AGAIN = "You are not signed in: start again from the sign-in page."


def state_id_of(serialized: str) -> str:
    """The ``state_id`` inside OAuthenticator's serialised state (base64url JSON), or ""."""
    try:
        value = json.loads(base64.urlsafe_b64decode(serialized.encode("ascii")))
    except (ValueError, UnicodeError):
        return ""
    state_id = value.get("state_id") if isinstance(value, dict) else None
    return state_id if isinstance(state_id, str) else ""


class OIDCLoginHandler(OAuthLoginHandler):
    """``/hub/oauth_login``: to the provider, with ``state``, ``nonce``, ``vtr`` and ``ui_locales``."""

    async def get(self):
        await self.authenticator.discover()
        super().get()

    def authorize_redirect(self, *args, extra_params=None, **kwargs):
        extra = dict(extra_params or {})
        extra["nonce"] = expected_nonce(self.settings["cookie_secret"], state_id_of(extra["state"]))
        extra["vtr"] = vtr_param(self.authenticator.vtr)
        if self.authenticator.ui_locales:
            extra["ui_locales"] = self.authenticator.ui_locales
        return super().authorize_redirect(*args, extra_params=extra, **kwargs)


class OIDCCallbackHandler(OAuthCallbackHandler):
    """``/hub/oauth_callback``: each refusal says what happened and what to do; a state works once."""

    @property
    def service(self) -> str:
        return self.authenticator.login_service

    def check_error(self):
        error = self.get_argument("error", "")
        if not error:
            return
        self.get_state_cookie()  # read once, so it is cleared
        detail = self.get_argument("error_description", "")[:300]
        if error == "access_denied":
            raise web.HTTPError(403, "%s did not sign you in (access_denied%s): the sign-in was cancelled or "
                                     "refused there. " + START_AGAIN, self.service, f": {detail}" if detail else "")
        raise web.HTTPError(400, "%s could not sign you in (%s%s). " + START_AGAIN,
                            self.service, error[:60], f": {detail}" if detail else "")

    def check_state(self):
        cookie_state_id = state_id_of(self.get_state_cookie())
        url_state_id = state_id_of(self.get_argument("state", ""))
        if not cookie_state_id:
            raise web.HTTPError(400, "This sign-in has no state cookie: it was started in another browser, it "
                                     "was already used, or it is more than a day old. " + START_AGAIN)
        if cookie_state_id != url_state_id:
            raise web.HTTPError(400, "This sign-in's state does not match the one this browser started "
                                     "(a link from someone else?). " + START_AGAIN)
        if not self.authenticator.use_state_once(cookie_state_id):
            raise web.HTTPError(400, "This sign-in link was already used once (a replay?). " + START_AGAIN)

    def check_code(self):
        if not self.get_argument("code", ""):
            raise web.HTTPError(400, "%s sent no authorization code back. " + START_AGAIN, self.service)

    def expected_nonce(self) -> str:
        """The nonce this browser's sign-in asked for (from the state cookie checked above)."""
        return expected_nonce(self.settings["cookie_secret"], state_id_of(self.get_state_cookie()))


class OIDCLogoutHandler(OAuthLogoutHandler):
    """``/hub/logout``: end the lab's session, then the provider's (``id_token_hint``, back to sign-in)."""

    _leaving = None

    async def get(self):
        user = self.current_user
        self._leaving = user.name if user else None
        await super().get()

    async def render_logout_page(self):
        url = await self.authenticator.end_session_url(self._leaving) if self._leaving else ""
        if url:
            self.redirect(url)
        else:
            await super().render_logout_page()  # the lab's sign-in page


class BreakGlassLoginHandler(LoginHandler):
    """``/hub/login/password``: the lab's own password form, for the admin when the provider fails."""

    def _render(self, login_error=None, username=None, **kwargs):
        context = {
            "next": self.get_argument("next", ""),
            "username": username,
            "login_error": login_error,
            "login_url": self.request.path,
            "authenticator_login_url": url_concat(self.request.path, {"next": self.get_argument("next", "")}),
            "authenticator": self.authenticator,
            "xsrf": self.xsrf_token.decode("ascii"),
        }
        return self.render_template("login.html", **context, custom_html="", login_service=None, **kwargs)
