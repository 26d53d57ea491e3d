"""Sign in with GOV.UK One Login, or any OpenID Connect provider run like it: OAuthenticator's
``GenericOAuthenticator`` with what it lacks.

- the provider's endpoints and keys from its discovery document (``<issuer>/.well-known/openid-configuration``);
- ``private_key_jwt`` at the token endpoint (``client_secret_post`` only as a setting, for providers that
  allow nothing better);
- ``nonce``, ``vtr`` and ``ui_locales`` in the authorization request; the ID token checked (signature,
  ``iss``, ``aud``, expiry, ``nonce``, ``vot``) before anything else (:mod:`backstage.auth.oidc.tokens`);
- the person's key is ``sub``; the hub name is derived once and never collides (:mod:`.people`);
- new people join ``participants`` at once, or wait for approval on ``/hub/signups`` like sign-ups
  (the :class:`~backstage.auth.store.SignupStore`);
- the admin keeps the lab's own password (``/hub/login/password``) for when the provider fails;
- logout ends the lab's session, then the provider's.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path

from jupyterhub import orm
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httputil import url_concat
from traitlets import Enum, Integer, List, Unicode, default

from backstage.auth.oidc.handlers import (
    BreakGlassLoginHandler,
    OIDCCallbackHandler,
    OIDCLoginHandler,
    OIDCLogoutHandler,
)
from backstage.auth.oidc.people import OIDCPeople
from backstage.auth.oidc.tokens import (
    ASSERTION_TYPE,
    IDTokenRefused,
    check_id_token,
    client_assertion,
    load_private_key,
)
from backstage.auth.signup import HubMembershipMixin
from backstage.auth.store import SignupStore

__all__ = ["OIDCAuthenticator"]

STATE_LIFETIME = 24 * 3600  # as long as OAuthenticator's state cookie


class _BreakGlass(HubMembershipMixin):
    """The lab's own password, for the admins only (throttled and hashed like every password sign-in)."""

    async def check_credentials(self, handler, username, password):
        if username not in self.admin_users:
            return None
        person = await self.check_password(username, password)
        return {"name": username, "admin": True} if person and person.approved else None


class OIDCAuthenticator(GenericOAuthenticator):
    """OpenID Connect sign-in as GOV.UK One Login does it (see the module's docstring)."""

    login_handler = OIDCLoginHandler
    callback_handler = OIDCCallbackHandler
    logout_handler = OIDCLogoutHandler

    issuer = Unicode(
        config=True,
        help="The provider's issuer URL; its discovery document is <issuer>/.well-known/openid-configuration. "
             "Example: c.OIDCAuthenticator.issuer = 'https://oidc.account.gov.uk/'",
    )
    private_key_path = Unicode(
        config=True,
        help="PEM file of the site's private key (RSA 2048+ or EC P-256) signing the private_key_jwt client "
             "assertion; its public key is registered with the provider. "
             "Example: c.OIDCAuthenticator.private_key_path = '/srv/backstage/oidc-private.pem'",
    )
    token_auth_method = Enum(
        ["private_key_jwt", "client_secret_post"], "private_key_jwt", config=True,
        help="How the token endpoint authenticates the lab: private_key_jwt (One Login), or client_secret_post "
             "only where a provider allows nothing better (then set client_secret). "
             "Example: c.OIDCAuthenticator.token_auth_method = 'client_secret_post'",
    )
    vtr = List(
        Unicode(), ["Cl.Cm"], config=True,
        help="Vectors of trust asked for (One Login's vtr); the ID token's vot must meet the weakest. "
             "Example: c.OIDCAuthenticator.vtr = ['Cl']",
    )
    ui_locales = Unicode(
        "en", config=True,
        help="Languages of the provider's pages (ui_locales), space-separated. Example: c.OIDCAuthenticator.ui_locales = 'cy en'",
    )
    new_people = Enum(
        ["participant", "approval"], "participant", config=True,
        help="A first sign-in makes a participant at once, or a sign-up waiting for approval on /hub/signups. "
             "Example: c.OIDCAuthenticator.new_people = 'approval'",
    )
    people_path = Unicode(
        config=True,
        help="SQLite file mapping the provider's sub to hub names (mode 0600). "
             "Example: c.OIDCAuthenticator.people_path = '/srv/backstage/oidc-people.sqlite'",
    )
    store_path = Unicode(
        config=True,
        help="The sign-up store (approvals, the admin's break-glass password). "
             "Example: c.OIDCAuthenticator.store_path = '/srv/backstage/signups.sqlite'",
    )
    post_logout_redirect_url = Unicode(
        config=True,
        help="Where the provider sends people after its logout (register it with the provider); default: the "
             "hub's sign-in page beside oauth_callback_url. Example: c.OIDCAuthenticator.post_logout_redirect_url = "
             "'https://lab.example.org/hub/login'",
    )
    discovery_max_age = Integer(
        3600, config=True,
        help="Seconds the discovery document and keys are reused (fetched again at once for an unknown key). "
             "Example: c.OIDCAuthenticator.discovery_max_age = 600",
    )

    @default("login_service")
    def _login_service_default(self):
        return "GOV.UK One Login"

    @default("scope")
    def _scope_default(self):
        return ["openid", "email"]

    @default("username_claim")
    def _username_claim_default(self):
        return "sub"

    @default("basic_auth")
    def _basic_auth_default(self):
        return False

    @default("post_logout_redirect_url")
    def _post_logout_default(self):
        callback = self.oauth_callback_url
        return callback.rsplit("/oauth_callback", 1)[0] + "/login" if callback else ""

    @default("people_path")
    def _people_path_default(self):
        return str(Path(self.store_path).with_name("oidc-people.sqlite")) if self.store_path else ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._discovery: dict = {}
        self._discovered_at = 0.0
        self._used_states: dict[str, float] = {}
        self._joining: set[str] = set()
        self._app = None
        self._people = self._key = self._break_glass = None

    # -- parts, made on first use ---------------------------------------------------------------
    @property
    def people(self) -> OIDCPeople:
        if self._people is None:
            self._people = OIDCPeople(self.people_path)
        return self._people

    @property
    def break_glass(self) -> _BreakGlass:
        """The admins' password sign-in, on the lab's sign-up store."""
        if self._break_glass is None:
            self._break_glass = _BreakGlass(parent=self, store_path=self.store_path, admin_users=set(self.admin_users))
        return self._break_glass

    @property
    def store(self) -> SignupStore:
        """The sign-up store: ``/hub/signups`` approves waiting people from it."""
        return self.break_glass.store

    @property
    def private_key(self):
        if self._key is None:
            self._key = load_private_key(self.private_key_path)
        return self._key

    # -- the provider ----------------------------------------------------------------------------
    @asynccontextmanager
    async def provider_call(self, what: str):
        """Turn a failed call to the provider into a page that says so (503 down, 403 refused)."""
        try:
            yield
        except HTTPClientError as e:
            if e.response is None or e.code == 599:
                raise web.HTTPError(503, "%s cannot be reached (%s failed: %s). You are not signed in: try again in "
                                         "a few minutes; if it goes on, tell the lab's organisers.",
                                    self.login_service, what, e.message) from None
            detail = ""
            try:
                detail = json.loads(e.response.body).get("error_description", "")
            except (ValueError, AttributeError):
                pass
            raise web.HTTPError(403, "%s refused the sign-in at %s (%s%s). You are not signed in: start again from "
                                     "the sign-in page.", self.login_service, what, e.code,
                                f": {detail[:200]}" if detail else "") from None
        except OSError as e:
            raise web.HTTPError(503, "%s cannot be reached (%s failed: %s). You are not signed in: try again in a "
                                     "few minutes; if it goes on, tell the lab's organisers.",
                                self.login_service, what, e.strerror or e) from None

    async def discover(self, force: bool = False) -> dict:
        """The discovery document (with its ``jwks``), fetched at most every ``discovery_max_age`` s."""
        if not force and self._discovery and time.monotonic() - self._discovered_at < self.discovery_max_age:
            return self._discovery
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        async with self.provider_call("its discovery document"):
            doc = await self.httpfetch(url, "fetching the OIDC discovery document", validate_cert=self.validate_server_cert)
            jwks = await self.httpfetch(doc["jwks_uri"], "fetching the OIDC keys", validate_cert=self.validate_server_cert)
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise web.HTTPError(500, "The provider at %s says its issuer is %r: set auth.issuer to it exactly.",
                                self.issuer, doc.get("issuer"))
        self.authorize_url = doc["authorization_endpoint"]
        self.token_url = doc["token_endpoint"]
        self.userdata_url = doc["userinfo_endpoint"]
        self._discovery = {**doc, "jwks": jwks}
        self._discovered_at = time.monotonic()
        return self._discovery

    def use_state_once(self, state_id: str) -> bool:
        """True the first time ``state_id`` comes back; False for a replay (kept for a day)."""
        now = time.monotonic()
        self._used_states = {s: t for s, t in self._used_states.items() if now - t < STATE_LIFETIME}
        if state_id in self._used_states:
            return False
        self._used_states[state_id] = now
        return True

    async def end_session_url(self, username: str) -> str:
        """The provider's logout for ``username`` ("" when they did not sign in there or it is down)."""
        id_token = self.people.id_token(username)
        if not id_token:
            return ""
        try:
            endpoint = (await self.discover()).get("end_session_endpoint", "")
        except web.HTTPError:
            return ""
        params = {"id_token_hint": id_token, "state": secrets.token_urlsafe(16)}
        if self.post_logout_redirect_url:
            params["post_logout_redirect_uri"] = self.post_logout_redirect_url
        return url_concat(endpoint, params) if endpoint else ""

    # -- the token exchange ------------------------------------------------------------------------
    def build_access_tokens_request_params(self, handler, data=None):
        params = super().build_access_tokens_request_params(handler, data)
        params.pop("data", None)
        if self.token_auth_method == "private_key_jwt":  # noqa: S105 (a method's name, not a secret)
            params.pop("client_secret", None)
            params["client_assertion_type"] = ASSERTION_TYPE
            params["client_assertion"] = client_assertion(self.private_key, self.client_id, self.token_url)
        return params

    async def get_token_info(self, handler, params):
        doc = await self.discover()
        async with self.provider_call("its token endpoint"):
            token_info = await super().get_token_info(handler, params)
        id_token = token_info.get("id_token")
        checks = {"issuer": doc["issuer"], "client_id": self.client_id, "nonce": handler.expected_nonce(),
                  "vtr": list(self.vtr),
                  "algorithms": [a for a in doc.get("id_token_signing_alg_values_supported", ["RS256"]) if a != "none"]}
        try:
            try:
                claims = check_id_token(id_token, jwks=doc["jwks"], **checks)
            except IDTokenRefused as e:
                if "matches none" not in str(e):
                    raise
                claims = check_id_token(id_token, jwks=(await self.discover(force=True))["jwks"], **checks)
        except IDTokenRefused as e:
            self.log.warning("OIDC sign-in refused: %s", e)
            raise web.HTTPError(403, "%s's answer was refused: %s. You are not signed in: start again from the "
                                     "sign-in page.", self.login_service, e) from None
        return {**token_info, "id_token_claims": claims}

    async def token_to_user(self, token_info):
        claims = token_info["id_token_claims"]
        async with self.provider_call("its userinfo endpoint"):
            user_info = await super().token_to_user(token_info)
        if not isinstance(user_info, dict) or user_info.get("sub") != claims["sub"]:
            raise web.HTTPError(403, "%s's userinfo is about someone else than its ID token. You are not signed in.",
                                self.login_service)
        return {**user_info, "sub": claims["sub"], "vot": claims.get("vot")}

    # -- who the person is -----------------------------------------------------------------------
    def _taken(self, name: str) -> bool:
        if name in self.admin_users or self.store.get(name) is not None:
            return True
        return self._app is not None and orm.User.find(self._app.db, name=name) is not None

    def user_info_to_username(self, user_info):
        person, is_new = self.people.person_for(user_info["sub"], str(user_info.get("email") or ""), self._taken)
        if is_new:
            self.log.info("OIDC: new person %r (sub %s...)", person.username, person.sub[:12])
        return person.username

    def build_auth_state_dict(self, token_info, user_info):
        self.people.remember_id_token(user_info["sub"], token_info["id_token"])
        return {"sub": user_info["sub"], "email": user_info.get("email"), "vot": user_info.get("vot")}

    async def check_allowed(self, username, auth_model):
        if auth_model is None or auth_model.get("admin"):
            return True
        user = self._app and orm.User.find(self._app.db, name=username)
        person = self.store.get(username)
        if (user is not None and user.groups) or (person is not None and person.approved):
            return True
        if user is not None:
            raise web.HTTPError(403, "Your account %r has no role in this lab any more: ask an organiser.", username)
        if self.new_people == "participant":
            self._joining.add(username)
            return True
        if person is None:
            email = (auth_model.get("auth_state") or {}).get("email") or ""
            self.store.add(username, secrets.token_urlsafe(32), approved=False, email=email[:200])
            self.log.info("OIDC: %r waits for approval", username)
        raise web.HTTPError(403, "You are signed in with %s as %r, and your account is waiting for approval by an "
                                 "organiser. Sign in again once it is approved.", self.login_service, username)

    def add_user(self, user):
        super().add_user(user)
        if user.name in self._joining and self._app is not None:
            self._joining.discard(user.name)
            orm_user = getattr(user, "orm_user", user)
            group = orm.Group.find(self._app.db, "participants") or orm.Group(name="participants")
            if group not in orm_user.groups:
                orm_user.groups.append(group)
            self._app.db.commit()

    # -- sign-in with the lab's password (admins only) ---------------------------------------------
    async def authenticate(self, handler, data=None, **kwargs):
        if data and "password" in data:
            return await self.break_glass.authenticate(handler, data)
        return await super().authenticate(handler, data, **kwargs)

    def get_custom_html(self, base_url):
        service = html.escape(self.login_service)
        return (f'<div class="service-login"><p>Sign in or create an account with {service}.</p>'
                f'<a role="button" class="btn btn-jupyter btn-lg" href="{{{{ authenticator_login_url }}}}">'
                f"Sign in with {service}</a>"
                f'<p class="mt-3"><small>Lab administrator? <a href="{html.escape(base_url)}login/password">'
                "Sign in with the lab's password</a></small></p></div>")

    def get_handlers(self, app):
        from backstage.auth import consent
        from backstage.auth.pages import SignupsHandler

        consent.apply()  # one click to a server shared with you (backstage/auth/consent.py)
        self._app = app
        return super().get_handlers(app) + [(r"/login/password", BreakGlassLoginHandler),
                                            (r"/signups", SignupsHandler)]
